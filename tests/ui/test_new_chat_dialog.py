"""The New chat dialog (ui/new_chat_dialog.py) on Ctrl+N: it finds contacts as the user
types (the name the list shows, a published nickname, the address), Up/Down and Enter
pick one, any whole address opens a conversation too, a malformed one is refused with a
reason and opens nothing, Escape closes; the account chooser shows only when more than
one account is signed in. Add contact moves to Ctrl+Shift+N and keeps its button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt

from chinwag.core.models import AccountConfig, Contact, Subscription
from chinwag.core.users import NICK
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.help_dialogs import SHORTCUTS
from chinwag.ui.main_window import MainWindow
from chinwag.ui.new_chat_dialog import NewChatDialog

if TYPE_CHECKING:
    from conftest import UiRig

CTRL = Qt.KeyboardModifier.ControlModifier
ALICE = "alice@example.net"
BOB = "bob@example.net"
CAROL = "carol@example.com"


@pytest.fixture
async def main(ui: UiRig, qtbot: Any) -> AsyncIterator[MainWindow]:
    await ui.sign_in()
    ui.conn.listener.on_roster(
        [
            Contact(ui.me, ALICE, name="Alice Liddell", subscription=Subscription.BOTH),
            Contact(ui.me, BOB, subscription=Subscription.BOTH),
            Contact(ui.me, CAROL, subscription=Subscription.BOTH),
        ],
        "",
        full=False,
    )
    ui.core.users.on_push(ui.me, BOB, NICK, "Bobby Tables")
    window = MainWindow(ui.ctx)
    window.show()
    qtbot.waitExposed(window)
    yield window
    ui.windows.close_all()
    window.really_quit = True
    window.close()
    window.deleteLater()


async def new_chat(ui: UiRig, main: MainWindow, qtbot: Any) -> NewChatDialog:
    main.activateWindow()
    await ui.until(main.isActiveWindow)
    qtbot.keyClick(main, Qt.Key.Key_N, CTRL)
    dialog = main._dialogs.get(NewChatDialog)
    assert isinstance(dialog, NewChatDialog)
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    await ui.until(dialog.isActiveWindow)
    return dialog


def opened(ui: UiRig) -> list[str]:
    return [w.peer for w in ui.windows.all() if isinstance(w, ConversationWindow)]


async def test_typing_finds_contacts_by_name_nickname_and_address_and_enter_opens_one(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    dialog = await new_chat(ui, main, qtbot)
    assert not dialog.account_box.isVisible()  # one account: nothing to choose
    # Named as the contact list names them: the user's name, else the nickname.
    assert dialog.matches() == [ALICE, BOB, CAROL]
    assert "Bobby Tables" in dialog.found.index(1, 0).data()
    qtbot.keyClicks(dialog.field, "TABLES")  # the published nickname, any case
    assert dialog.matches() == [BOB]
    dialog.field.clear()
    qtbot.keyClicks(dialog.field, "lidd")  # the name the user gave
    assert dialog.matches() == [ALICE]
    dialog.field.clear()
    qtbot.keyClicks(dialog.field, "example.")  # the address
    assert dialog.matches() == [ALICE, BOB, CAROL]
    # Down, Down, Up: the second one found; Enter opens it (as a double click does).
    qtbot.keyClick(dialog.field, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.field, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.field, Qt.Key.Key_Up)
    assert dialog.chosen() == BOB
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    await ui.until(lambda: opened(ui) == [BOB])
    assert not dialog.isVisible()


async def test_any_whole_address_opens_a_conversation_even_one_no_contact_has(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    dialog = await new_chat(ui, main, qtbot)
    qtbot.keyClicks(dialog.field, "  Stranger@Elsewhere.org ")
    assert dialog.matches() == []
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    await ui.until(lambda: opened(ui) == ["stranger@elsewhere.org"])
    assert not dialog.isVisible()

    # A whole address typed wins over a contact whose address only starts with it.
    dialog = await new_chat(ui, main, qtbot)
    qtbot.keyClicks(dialog.field, "alice@example.ne")
    assert dialog.matches() == [ALICE]
    assert dialog.chosen() == "alice@example.ne"


async def test_a_malformed_address_is_refused_with_its_reason_and_opens_nothing(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    dialog = await new_chat(ui, main, qtbot)
    qtbot.keyClicks(dialog.field, "nobody@@bad")
    assert dialog.matches() == []
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert dialog.message.isVisible()
    assert dialog.message.text().startswith("This address is not valid")
    dialog.open_button.click()
    assert dialog.isVisible()
    assert opened(ui) == []
    qtbot.keyClicks(dialog.field, "x")  # typing again takes the error away
    assert not dialog.message.isVisible()


async def test_escape_closes_and_opens_nothing(ui: UiRig, main: MainWindow, qtbot: Any) -> None:
    dialog = await new_chat(ui, main, qtbot)
    qtbot.keyClicks(dialog.field, "alice")
    qtbot.keyClick(dialog.field, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert opened(ui) == []


async def test_the_account_is_chosen_only_when_more_than_one_is_signed_in(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    other = "other@example.org"
    ui.core.add_account(AccountConfig(jid=other), "secret")
    await ui.core.sign_in(other)
    ui.conn.listener.on_roster(
        [Contact(other, "dave@example.org", subscription=Subscription.BOTH)], "", full=False
    )
    dialog = await new_chat(ui, main, qtbot)
    assert dialog.account_box.isVisible()
    assert dialog.account_box.count() == 2
    dialog.account_box.setCurrentIndex(dialog.account_box.findData(other))
    assert dialog.matches() == ["dave@example.org"]  # that account's contacts
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    await ui.until(lambda: [(w.account, w.peer) for w in ui.windows.all()])
    assert [(w.account, w.peer) for w in ui.windows.all()] == [(other, "dave@example.org")]


async def test_the_menu_and_the_shortcuts_list_name_both(
    ui: UiRig, main: MainWindow, qtbot: Any
) -> None:
    file_menu = main.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert texts[:2] == ["&New chat…", "&Add contact…"]
    assert main.new_chat_action.shortcut().toString() == "Ctrl+N"
    assert main.add_contact_action.shortcut().toString() == "Ctrl+Shift+N"
    assert main.new_chat_action in main.app_actions
    keys = dict(SHORTCUTS)
    assert "New chat" in keys["Ctrl+N"]
    assert keys["Ctrl+Shift+N"] == "Add a contact"
    with qtbot.waitSignal(main.add_contact_requested):
        main.activateWindow()
        await ui.until(main.isActiveWindow)
        qtbot.keyClick(main, Qt.Key.Key_N, CTRL | Qt.KeyboardModifier.ShiftModifier)
