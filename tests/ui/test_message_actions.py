"""Editing, removing, replying and reacting in the conversation window, and the "New
messages" line: driven as a person would (Up, Enter, Escape, the message menu, clicks on
quotes and reactions) on a real core and store, with the contact's corrections,
retractions, replies and reactions arriving through the scripted connection's listener
as the XMPP layer delivers them (a ``Message`` whose ``replaces`` / ``retracts`` /
``reacts_to`` names the target)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QLocale, QModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QContextMenuEvent, QGuiApplication, QHelpEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolTip,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from chinwag.core.events import (
    ChatStateChanged,
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    ReactionsChanged,
)
from chinwag.core.models import (
    MAX_MESSAGE_CHARS,
    ConversationKey,
    Direction,
    Message,
    MessageState,
)
from chinwag.ui.bridge import FAMILIES, EventBridge
from chinwag.ui.conversation_window import COMMON_REACTIONS, ConversationWindow
from chinwag.ui.history_model import HistoryModel, Role, long_time
from chinwag.ui.message_delegate import (
    ELIDE_CHARS,
    MAX_CHIP_LINES,
    NOT_FOUND_TEXT,
    ChipBox,
)
from chinwag.ui.message_text_window import MessageTextWindow
from chinwag.ui.message_versions_window import MessageVersionsWindow

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]
ENTER = Qt.Key.Key_Return
THUMBS, HEART = "\U0001f44d", "\u2764\ufe0f"


# --------------------------------------------------------------------------- helpers


async def settle() -> None:
    """Let queued Qt events and deferred layouts and scroll checks run."""
    for _ in range(3):
        await asyncio.sleep(0.02)


def row(window: ConversationWindow, message: Message) -> QModelIndex:
    index = window.model.index_of(message)
    assert index.isValid(), f"{message.body!r} is not loaded"
    return index


def shown(window: ConversationWindow, message: Message) -> Message:
    """The message as its row has it now."""
    return window.model.message(row(window, message).row())


def spoken(window: ConversationWindow, message: Message) -> str:
    return str(row(window, message).data(Qt.ItemDataRole.AccessibleTextRole))


def chips(window: ConversationWindow, message: Message) -> list[ChipBox]:
    view = window.history_view
    index = row(window, message)
    return window.delegate.chips(view.item_option(index), index)


def chip_texts(window: ConversationWindow, message: Message) -> list[str]:
    return [box.text for box in chips(window, message)]


def height(window: ConversationWindow, message: Message) -> int:
    return window.history_view.visualRect(row(window, message)).height()


def visible(window: ConversationWindow, message: Message) -> bool:
    view = window.history_view
    rect = view.visualRect(row(window, message))
    return rect.isValid() and view.viewport().rect().intersects(rect)


def click(qtbot: QtBot, window: ConversationWindow, message: Message, local: QPoint) -> None:
    """A left click at ``local`` (relative to the row's top left) on the row of
    ``message``."""
    view = window.history_view
    rect = view.visualRect(row(window, message))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.topLeft() + local)


async def open_menu(
    ui: UiRig, window: ConversationWindow, message: Message, *, keyboard: bool = False
) -> QMenu:
    """Right-click the message (or, with ``keyboard``, make it the current row and press
    the Menu key) and return the context menu that pops up."""
    view = window.history_view
    index = row(window, message)
    view.scrollTo(index)
    await settle()
    for menu in window.findChildren(QMenu):
        menu.close()
    if keyboard:  # the Menu key (or Shift+F10) on the current row, as the platform sends it
        view.setFocus()
        view.setCurrentIndex(index)
        event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(0, 0), QPoint(0, 0))
        QApplication.sendEvent(view.viewport(), event)
    else:
        center = view.visualRect(index).center()
        event = QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, center, view.viewport().mapToGlobal(center)
        )
        QApplication.sendEvent(view.viewport(), event)
    found: QMenu = await ui.until(
        lambda: next(
            (m for m in window.findChildren(QMenu) if m.isVisible() and m.actions()), None
        ),
        what="the message menu",
    )
    return found


def action(menu: QMenu, text: str) -> QAction:
    for item in menu.actions():
        if item.text() == text:
            return item
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


async def send(ui: UiRig, qtbot: QtBot, window: ConversationWindow, text: str) -> Message:
    """Type ``text`` and press Enter; returns the message once shown and acknowledged."""
    before = len(ui.conn.sent)
    qtbot.keyClicks(window.compose, text)
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: len(ui.conn.sent) > before, what="sent")
    sent = ui.conn.sent[-1]
    ui.conn.ack(sent.uid)
    await ui.until(
        lambda: (
            (index := window.model.index_of(sent)).isValid()
            and index.data(Role.STATE) is MessageState.SENT
        ),
        what="acknowledged",
    )
    return shown(window, sent)


async def quiet(ui: UiRig, window: ConversationWindow) -> None:
    """Wait until what the window does by itself after a message arrives is done: the
    incoming messages marked read (each a state change of its row, measured again) and
    the rows measured, so that the work counted next is only the next change's."""
    model = window.model

    def all_read() -> bool:
        return all(
            model.message(r).state is not MessageState.RECEIVED for r in range(model.rowCount())
        )

    await ui.until(all_read, what="everything read")
    await settle()
    await ui.until(lambda: not window.delegate.measuring, what="rows measured")


async def receive(ui: UiRig, window: ConversationWindow, body: str, **fields: object) -> Message:
    message = ui.conn.receive(body, **fields)
    await ui.until(lambda: window.model.index_of(message).isValid(), what=f"{body!r} shown")
    return shown(window, message)


# --------------------------------------------------------------------------- editing


async def test_up_edits_the_last_own_message_and_enter_sends_the_correction(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    await send(ui, qtbot, window, "first")
    mine = await send(ui, qtbot, window, "helo wrold")
    theirs = await receive(ui, window, "what?")
    context = window.findChild(QWidget, "composeContext")
    assert context is not None
    assert not context.isVisible()

    qtbot.keyClick(window.compose, Qt.Key.Key_Up)  # the last own message, not theirs
    assert window.editing is not None
    assert window.editing.uid == mine.uid
    assert window.compose.text() == "helo wrold"
    assert context.isVisible()
    assert window.compose_context_text == "Editing"
    hint = window.findChild(QLabel, "composeContextHint")
    assert hint is not None
    assert "Escape" in hint.text()

    qtbot.keyClick(window.compose, Qt.Key.Key_Escape)  # cancels, the window stays
    assert window.isVisible()
    assert window.editing is None
    assert window.compose.text() == ""
    assert not context.isVisible()

    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    window.compose.selectAll()
    qtbot.keyClicks(window.compose, "hello world")
    sent_before = len(ui.conn.sent)
    await quiet(ui, window)
    measured = window.history_view.rows_measured
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: shown(window, mine).body == "hello world", what="corrected")
    await ui.until(lambda: len(ui.conn.sent) > sent_before, what="the correction sent")
    correction = ui.conn.sent[sent_before]
    assert (correction.replaces, correction.body) == (mine.uid, "hello world")
    assert window.model.rowCount() == 3  # corrected in place, not a new message
    await ui.until(lambda: window.editing is None, what="editing ended")
    assert window.compose.text() == ""
    assert not context.isVisible()
    edited = shown(window, mine)
    assert edited.edited_at > 0
    await settle()
    assert window.history_view.rows_measured - measured == 1  # that row only
    index = row(window, mine)
    assert window.delegate.edited_rect(window.history_view.item_option(index), index)
    assert ", sent, edited: hello world" in spoken(window, mine)
    assert "Edited " in index.data(Qt.ItemDataRole.ToolTipRole)
    assert shown(window, theirs).body == "what?"


async def test_up_with_text_in_the_box_moves_the_cursor_and_edit_keeps_the_draft(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "one")
    qtbot.keyClicks(window.compose, "a draft")
    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    assert window.editing is None
    assert window.compose.text() == "a draft"

    menu = await open_menu(ui, window, mine)
    action(menu, "&Edit").trigger()
    menu.close()
    assert window.compose.text() == "one"
    assert window.editing is not None
    cancel = window.findChild(QWidget, "cancelComposeContext")
    assert cancel is not None
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert window.compose.text() == "a draft"  # what was typed before comes back
    assert window.editing is None


async def test_an_edit_of_the_same_text_sends_nothing_and_an_error_keeps_the_text(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "same")
    sent = len(ui.conn.sent)
    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: window.editing is None, what="the edit ended")
    assert len(ui.conn.sent) == sent
    assert shown(window, mine).edited_at == 0

    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    window.compose.set_text("x" * (MAX_MESSAGE_CHARS + 1))
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: window.error_text, what="the error")
    assert window.error_text.startswith("Not edited:")
    assert window.editing is not None  # still editing, the text kept to fix
    assert len(window.compose.text()) == MAX_MESSAGE_CHARS + 1
    assert shown(window, mine).body == "same"


async def test_the_contacts_correction_changes_their_row_live(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    await ui.fill(30)
    window = await conversation_window()
    await settle()
    theirs = await receive(ui, window, "teh answer")
    await quiet(ui, window)
    rows = window.model.rowCount()
    measured = window.history_view.rows_measured
    ui.conn.receive("the answer", replaces=theirs.uid)
    await ui.until(lambda: shown(window, theirs).body == "the answer", what="corrected")
    assert window.model.rowCount() == rows
    await settle()
    assert window.history_view.rows_measured - measured == 1
    assert "edited" in spoken(window, theirs)

    # A second correction names the first id too (XEP-0308); both are versions now.
    ui.conn.receive("the answer!", replaces=theirs.uid)
    await ui.until(lambda: shown(window, theirs).body == "the answer!", what="again")
    menu = window.message_menu(row(window, theirs))
    try:
        assert "&Edit" not in texts(menu)  # not ours
        action(menu, "Show &previous versions").trigger()
    finally:
        menu.deleteLater()
    (versions,) = window.findChildren(MessageVersionsWindow)
    assert versions.texts == ["teh answer", "the answer", "the answer!"]
    assert versions.list.count() == 3
    assert versions.view is not None
    await ui.until(lambda: versions.view is not None and versions.view.loaded, what="text")
    assert versions.view.toPlainText() == "the answer"  # the one before the current
    versions.list.setCurrentRow(0)
    assert versions.view.toPlainText() == "teh answer"
    versions.copy_current()
    assert QGuiApplication.clipboard().text() == "teh answer"


async def test_a_forged_correction_of_our_message_leaves_it_alone(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "I said this")
    ui.conn.receive("you said that", replaces=mine.uid)  # the contact is not the author
    ui.conn.receive("", retracts=mine.uid)
    ui.conn.receive("after")
    await ui.until(lambda: window.model.message(window.model.rowCount() - 1).body == "after")
    await settle()
    now = shown(window, mine)
    assert (now.body, now.edited_at, now.removed) == ("I said this", 0.0, False)
    bodies = [window.model.message(r).body for r in range(window.model.rowCount())]
    assert bodies.count("I said this") == 1


async def test_a_very_long_correction_is_shown_in_part_with_show_all(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    theirs = await receive(ui, window, "short")
    short_height = height(window, theirs)
    long_text = ("word " * 12_000)[:60_000]
    ui.conn.receive(long_text, replaces=theirs.uid)
    await ui.until(lambda: shown(window, theirs).body == long_text, what="corrected")
    await settle()
    index = row(window, theirs)
    assert window.delegate.shown(index).elided
    assert len(window.delegate.text_of(index)) <= ELIDE_CHARS + 1
    assert short_height < height(window, theirs) < window.history_view.viewport().height() * 4
    text_window = window.show_full_text(index)
    assert isinstance(text_window, MessageTextWindow)
    assert text_window.text == long_text
    text_window.close()


# --------------------------------------------------------------------------- removing


async def test_remove_for_everyone_asks_first_then_leaves_a_tombstone(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "oops, wrong window")
    plain_height = height(window, mine)
    sent = len(ui.conn.sent)

    async def confirm() -> QMessageBox:
        menu = await open_menu(ui, window, mine)
        action(menu, "Re&move for everyone\u2026").trigger()
        menu.close()
        box: QMessageBox = await ui.until(
            lambda: next((b for b in window.findChildren(QMessageBox) if b.isVisible()), None),
            what="the confirmation",
        )
        assert "for everyone" in box.text()
        return box

    box = await confirm()
    box.button(QMessageBox.StandardButton.Cancel).click()
    await settle()
    assert len(ui.conn.sent) == sent
    assert not shown(window, mine).removed

    box = await confirm()
    remove = box.findChild(QPushButton, "removeForEveryone")
    assert remove is not None
    remove.click()
    await ui.until(lambda: shown(window, mine).removed, what="removed")
    # (shown at once; sent once kept in the store, where it waits for the server's ack)
    await ui.until(lambda: len(ui.conn.sent) > sent, what="the retraction sent")
    assert ui.conn.sent[sent].retracts == mine.uid
    index = row(window, mine)
    option = window.history_view.item_option(index)
    assert window.delegate.body_is_placeholder(option, index)
    assert window.delegate.text_of(index) == ""
    assert "removed" in spoken(window, mine)
    assert "oops" not in spoken(window, mine)
    await settle()
    assert height(window, mine) <= plain_height + 8  # one line, like the text was

    menu = window.message_menu(index)
    try:
        assert texts(menu) == ["This message was removed"]
        assert not menu.actions()[0].isEnabled()
    finally:
        menu.deleteLater()
    QGuiApplication.clipboard().setText("kept")
    window.history_view.setCurrentIndex(index)
    qtbot.keyClick(window.history_view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "kept"  # nothing to copy
    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    assert window.editing is None  # a removed message is not edited


async def test_the_contacts_retraction_and_one_of_nothing(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    theirs = await receive(ui, window, "regret this")
    ui.conn.receive("", retracts="never-received")  # nothing to remove: nothing happens
    ui.conn.receive("", retracts=theirs.uid)
    await ui.until(lambda: shown(window, theirs).removed, what="removed")
    assert window.model.rowCount() == 1
    assert "regret" not in spoken(window, theirs)


async def test_removing_the_message_being_edited_ends_the_edit(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "edit me")
    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    assert window.editing is not None
    # Removed from another of the user's devices (a carbon of our own retraction).
    ui.conn.receive("", retracts=mine.uid, direction=Direction.OUTGOING, sender=ui.me)
    await ui.until(lambda: window.editing is None, what="the edit ended")
    assert "removed" in window.error_text
    assert window.compose_context_text == ""


# --------------------------------------------------------------------------- replying


async def test_reply_quotes_the_message_and_enter_sends_it_as_a_reply(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    ui.set_contact(name="Peter")
    window = await conversation_window()
    theirs = await receive(ui, window, "Lunch at noon?\nOr later, if you prefer")
    menu = await open_menu(ui, window, theirs)
    action(menu, "Rep&ly").trigger()
    menu.close()
    assert window.replying_to is not None
    assert window.replying_to.uid == theirs.uid
    assert window.compose_context_text == "Replying to Peter: Lunch at noon?"
    qtbot.keyClick(window.compose, Qt.Key.Key_Escape)
    assert window.replying_to is None
    assert window.compose_context_text == ""
    assert window.isVisible()

    menu = await open_menu(ui, window, theirs, keyboard=True)  # the Menu key works too
    action(menu, "Rep&ly").trigger()
    menu.close()
    reply = await send(ui, qtbot, window, "noon is good")
    assert (reply.reply_to, reply.reply_to_jid) == (theirs.uid, ui.peer)
    assert ui.conn.sent[-1].reply_to == theirs.uid
    assert window.replying_to is None
    assert window.compose_context_text == ""
    index = row(window, reply)
    option = window.history_view.item_option(index)
    assert window.delegate.quote_texts(option, index) == ("Peter", "Lunch at noon?")
    assert "reply to Peter: Lunch at noon?" in spoken(window, reply)

    # The next message is not a reply.
    plain = await send(ui, qtbot, window, "see you")
    assert plain.reply_to == ""


async def test_a_quote_is_clickable_and_leads_to_the_answered_message(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    stored = await ui.fill(400)
    far_back = stored[10]  # from the contact, far beyond the loaded page
    window = await conversation_window()
    await settle()
    reply = await receive(ui, window, "about that", reply_to=far_back.uid, reply_to_jid=ui.peer)
    assert not window.model.index_of(far_back).isValid()
    index = row(window, reply)
    option = window.history_view.item_option(index)
    assert window.delegate.quote_texts(option, index) == (ui.peer, "message 10")
    quote = window.delegate.quote_rect(option, index)
    assert quote is not None
    click(qtbot, window, reply, quote.center().toPoint())
    await ui.until(lambda: window.model.index_of(far_back).isValid(), what="loaded")
    await settle()
    assert visible(window, far_back)
    assert window.history_view.currentIndex() == row(window, far_back)


async def test_a_reply_to_a_message_not_in_the_history(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    reply = await receive(
        ui, window, "as I said", reply_to="gone-before-we-met", reply_to_jid=ui.peer
    )
    index = row(window, reply)
    option = window.history_view.item_option(index)
    assert window.delegate.quote_texts(option, index) == (ui.peer, NOT_FOUND_TEXT)
    assert "message not found" in spoken(window, reply)
    quote = window.delegate.quote_rect(option, index)
    assert quote is not None
    click(qtbot, window, reply, quote.center().toPoint())  # nowhere to go: nothing
    await settle()
    assert window.model.rowCount() == 1
    assert not window.go_to_quoted(index)

    # The answered message turns up late (the archive): the quote shows it now.
    await quiet(ui, window)
    measured = window.history_view.rows_measured
    ui.conn.receive("what I said", uid="gone-before-we-met", timestamp=reply.timestamp - 5)
    await ui.until(lambda: window.model.rowCount() == 2, what="the late message")
    index = row(window, reply)
    await ui.until(
        lambda: (
            window.delegate.quote_texts(window.history_view.item_option(index), index)
            == (ui.peer, "what I said")
        ),
        what="the quote",
    )
    await settle()
    assert window.history_view.rows_measured - measured <= 3  # the new row and the reply


async def test_a_reply_to_a_message_we_lack_shows_the_senders_own_quote(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    reply = await receive(
        ui,
        window,
        "yes, Thursday",
        reply_to="before-we-met",
        reply_to_jid=ui.peer,
        reply_quote="Shall we meet on Thursday?\nAt the usual place",
    )
    index = row(window, reply)
    option = window.history_view.item_option(index)
    assert window.delegate.quote_texts(option, index) == (ui.peer, "Shall we meet on Thursday?")
    assert "Shall we meet on Thursday? (message not found)" in spoken(window, reply)


async def test_the_quote_follows_an_edit_and_a_removal_of_what_it_answers(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    theirs = await receive(ui, window, "meet at 5")
    reply = await receive(ui, window, "ok", reply_to=theirs.uid, reply_to_jid=ui.peer)
    await quiet(ui, window)
    measured = window.history_view.rows_measured
    ui.conn.receive("meet at 6", replaces=theirs.uid)
    index = row(window, reply)

    def quote() -> tuple[str, str]:
        return window.delegate.quote_texts(window.history_view.item_option(index), index)

    await ui.until(lambda: quote()[1] == "meet at 6", what="the quote edited")
    await settle()
    assert window.history_view.rows_measured - measured == 2  # the message and its reply
    ui.conn.receive("", retracts=theirs.uid)
    await ui.until(lambda: quote()[1] == "Message removed", what="the quote removed")
    assert "message removed" in spoken(window, reply)


# --------------------------------------------------------------------------- reactions


async def test_reactions_show_as_chips_and_toggle_ours(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "good news")
    plain_height = height(window, mine)
    await quiet(ui, window)
    measured = window.history_view.rows_measured
    ui.conn.receive("", reacts_to=mine.uid, reactions=(THUMBS, HEART))
    await ui.until(lambda: chip_texts(window, mine) == [f"{THUMBS} 1", f"{HEART} 1"])
    await settle()
    assert window.history_view.rows_measured - measured == 1
    assert height(window, mine) > plain_height
    assert "reactions: \U0001f44d 1, \u2764\ufe0f 1" in spoken(window, mine)
    assert not any(box.chip and box.chip.mine for box in chips(window, mine))

    sent = len(ui.conn.sent)
    thumbs = chips(window, mine)[0]
    click(qtbot, window, mine, thumbs.rect.center().toPoint())
    await ui.until(lambda: f"{THUMBS} 2" in chip_texts(window, mine), what="ours added")
    await ui.until(lambda: len(ui.conn.sent) > sent, what="our reaction sent")
    assert ui.conn.sent[sent].reacts_to == mine.uid
    assert ui.conn.sent[sent].reactions == (THUMBS,)
    boxes = chips(window, mine)
    assert boxes[0].chip is not None
    assert boxes[0].chip.mine
    assert "(yours)" in spoken(window, mine)

    # The menu offers the common reactions, ours checked; choosing it takes it back.
    menu = await open_menu(ui, window, mine)
    react = next(a.menu() for a in menu.actions() if a.text() == "Rea&ct")
    assert isinstance(react, QMenu)
    offered = [a.data() for a in react.actions()]
    assert offered[: len(COMMON_REACTIONS)] == list(COMMON_REACTIONS)
    thumbs_action = next(a for a in react.actions() if a.data() == THUMBS)
    assert thumbs_action.isChecked()
    assert thumbs_action.text() == f"{THUMBS}  2"
    thumbs_action.trigger()
    menu.close()
    await ui.until(lambda: chip_texts(window, mine)[0] == f"{THUMBS} 1", what="taken back")
    await ui.until(lambda: len(ui.conn.sent) > sent + 1, what="taking it back sent")
    assert ui.conn.sent[-1].reactions == ()

    # The contact takes theirs back too: no chips, the row as it was.
    ui.conn.receive("", reacts_to=mine.uid, reactions=())
    await ui.until(lambda: chip_texts(window, mine) == [], what="no reactions")
    await settle()
    assert height(window, mine) == plain_height


async def test_a_thousand_reactions_from_a_thousand_senders_stay_readable(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    theirs = await receive(ui, window, "vote!")
    plain_height = height(window, theirs)
    emoji = [chr(0x1F400 + n % 200) for n in range(1000)]  # 200 kinds, 5 senders each
    actions = [
        ui.incoming("", sender=f"voter{n}@example.net", reacts_to=theirs.uid, reactions=(e,))
        for n, e in enumerate(emoji)
    ]
    ui.conn.listener.on_messages(actions, [""] * len(actions))
    reactions = await ui.until(
        lambda: (r := window.model.reactions_of(theirs)) is not None and r.senders == 1000 and r,
        what="a thousand reactions",
    )
    assert reactions.total == 1000
    assert len(reactions.chips) == 200
    await settle()
    boxes = chips(window, theirs)
    more = boxes[-1]
    assert more.more
    assert more.text == f"+{len(reactions.chips) - (len(boxes) - 1)}"
    assert len(more.hidden) == len(reactions.chips) - (len(boxes) - 1)
    assert 1 < len(boxes) < 60
    lines = {box.rect.top() for box in boxes}
    assert len(lines) <= MAX_CHIP_LINES
    option = window.history_view.item_option(row(window, theirs))
    assert all(option.rect.width() >= box.rect.right() for box in boxes)
    chip_height = boxes[0].rect.height()
    assert height(window, theirs) <= plain_height + MAX_CHIP_LINES * (chip_height + 6) + 4
    words = spoken(window, theirs)
    assert "and 190 more" in words
    assert len(words) < 400

    # "+N" lists the rest, to see and to react with.
    click(qtbot, window, theirs, more.rect.center().toPoint())
    listed = await ui.until(
        lambda: next(
            (m for m in window.findChildren(QMenu, "moreReactions") if m.isVisible()), None
        ),
        what="the rest",
    )
    assert len(listed.actions()) == 41  # forty, then how many more
    assert not listed.actions()[-1].isEnabled()
    listed.close()

    # One kind from a thousand senders is one chip.
    same = [
        ui.incoming("", sender=f"voter{n}@example.net", reacts_to=theirs.uid, reactions=(THUMBS,))
        for n in range(1000)
    ]
    ui.conn.listener.on_messages(same, [""] * len(same))
    thousand = f"{THUMBS} {QLocale().toString(1000)}"
    await ui.until(lambda: chip_texts(window, theirs) == [thousand], what="one chip")


async def test_too_many_reactions_of_ours_are_refused_with_a_message(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    theirs = await receive(ui, window, "pick some")
    ours = [chr(0x1F600 + n) for n in range(20)]
    await ui.core.messaging.react(theirs, ours)
    await ui.until(lambda: len(chip_texts(window, theirs)) > 1, what="ours")
    window.toggle_reaction(theirs, THUMBS)  # a twenty-first
    await ui.until(lambda: window.error_text, what="the error")
    assert window.error_text.startswith("Reaction not sent:")


# --------------------------------------------------------------------------- new messages


async def test_new_messages_line_at_the_read_position(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    await ui.fill(40)
    unread = [ui.conn.receive(f"unread {n}") for n in range(3)]
    key = ConversationKey(ui.me, ui.peer)
    await ui.until(lambda: ui.store.unread_count(key) == 3, what="stored unread")
    window = await conversation_window()
    await settle()
    assert window.read_marker is not None
    assert window.read_marker.uid == unread[0].uid
    index = row(window, unread[0])
    assert window.delegate.marker_shown(window.history_view.item_option(index), index)
    assert spoken(window, unread[0]).startswith("New messages. ")
    assert not index.siblingAtRow(index.row() + 1).data(Role.NEW_MARKER)
    assert visible(window, unread[-1])
    # Read now (the window is in front), but the line stays while it is in view ...
    await ui.until(lambda: ui.store.unread_count(key) == 0, what="read")
    await settle()
    assert window.read_marker is not None
    # ... until newer messages push it out of view: scrolled past and read.
    for n in range(30):
        ui.conn.receive(f"later {n}")
    await ui.until(lambda: window.read_marker is None, what="the line gone")


async def test_many_unread_open_at_the_line_not_at_the_bottom(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    await ui.fill(10)
    unread = [
        ui.message(
            100 + n,
            direction=Direction.INCOMING,
            sender=ui.peer,
            body=f"unread {n}",
            state=MessageState.RECEIVED,
        )
        for n in range(120)
    ]
    await ui.store.add_incoming(unread)
    window = await conversation_window(activate=False)
    await settle()
    marker = window.read_marker
    assert marker is not None
    assert marker.body == "unread 0"
    assert visible(window, marker)
    view = window.history_view
    assert view.visualRect(row(window, marker)).top() <= 2  # at the top of the view
    assert window.jump_button.isVisible()


async def test_messages_arriving_unseen_get_the_line(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    await receive(ui, window, "seen")
    assert window.read_marker is None
    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    elsewhere.activateWindow()
    await ui.until(lambda: not window.isActiveWindow(), what="inactive")
    first = await receive(ui, window, "while away")
    await receive(ui, window, "and this")
    assert window.read_marker is not None
    assert window.read_marker.uid == first.uid
    window.present()
    await ui.until(window.isActiveWindow, what="back")
    await settle()
    assert window.read_marker is not None
    assert window.read_marker.uid == first.uid


# --------------------------------------------------------------------------- the bridge


def test_message_events_have_a_signal_of_their_own(qtbot: QtBot) -> None:
    from chinwag.core.events import EventBus

    bus = EventBus()
    bridge = EventBridge(bus)
    family: list[object] = []
    everything: list[object] = []
    bridge.messages_changed.connect(family.append)
    for other in FAMILIES:  # every event comes on one signal or another
        getattr(bridge, other.signal).connect(everything.append)
    message = Message("a@x", "b@y", Direction.INCOMING, "hi", 1.0)
    events = [
        MessageAdded(message),
        MessageEdited(message),
        MessageRemoved(message),
        ReactionsChanged(message, (("b@y", (THUMBS,)),)),
        ChatStateChanged("a@x", "b@y", "composing"),
    ]
    for event in events:
        bus.publish(event)
    assert family == events[:4]
    assert everything == events
    bridge.close()


# --------------------------------------------------------------------------- tool tips, model


def send_button(window: ConversationWindow) -> str:
    button = window.findChild(QPushButton, "sendButton")
    assert button is not None
    return button.text()


def tool_tip_at(window: ConversationWindow, message: Message, local: QPointF) -> str:
    """The tool tip shown when the mouse rests at ``local`` of the row of ``message``."""
    view = window.history_view
    pos = view.visualRect(row(window, message)).topLeft() + local.toPoint()
    QToolTip.hideText()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    return QToolTip.text() if QToolTip.isVisible() else ""


async def test_the_parts_of_a_row_explain_themselves(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.sign_in()
    ui.set_contact(name="Peter")
    window = await conversation_window()
    mine = await send(ui, qtbot, window, "typo")
    assert send_button(window) == "&Send"
    qtbot.keyClick(window.compose, Qt.Key.Key_Up)
    assert send_button(window) == "&Save"
    window.compose.set_text("typo fixed")
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: shown(window, mine).edited_at, what="edited")
    # (editing ends once the correction is kept to be sent, just after it shows)
    await ui.until(lambda: send_button(window) == "&Send", what="editing ended")
    ui.conn.receive("", reacts_to=mine.uid, reactions=(THUMBS,))
    await ui.until(lambda: chip_texts(window, mine), what="a reaction")
    reply = await receive(ui, window, "ha", reply_to=mine.uid, reply_to_jid=ui.me)
    await settle()

    index = row(window, mine)
    option = window.history_view.item_option(index)
    edited = window.delegate.edited_rect(option, index)
    assert edited is not None
    when = long_time(shown(window, mine).edited_at)
    assert tool_tip_at(window, mine, edited.center()) == f"Edited {when}"
    thumbs = chips(window, mine)[0]
    assert tool_tip_at(window, mine, thumbs.rect.center()) == f"{THUMBS} Peter"
    index = row(window, reply)
    quote = window.delegate.quote_rect(window.history_view.item_option(index), index)
    assert quote is not None
    assert tool_tip_at(window, reply, quote.center()) == "Show the message this replies to"
    assert "Me: typo fixed" in spoken(window, reply)


async def test_the_model_stays_consistent_through_edits_reactions_and_the_line(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    stored = await ui.fill(120)
    model = HistoryModel(ui.store, key, page_size=50, max_rows=100, peer_name="Peer")
    qtmodeltester.check(model)
    newest = stored[-1]
    assert model.set_reactions(newest, [(ui.peer, (THUMBS,)), (ui.me, (THUMBS, HEART))])
    reactions = model.reactions_of(newest)
    assert reactions is not None
    assert [(c.emoji, c.count, c.mine) for c in reactions.chips] == [
        (THUMBS, 2, True),
        (HEART, 1, True),
    ]
    assert reactions.mine == (THUMBS, HEART)
    assert not model.set_reactions(stored[0], [(ui.peer, (THUMBS,))])  # not loaded
    model.set_read_marker(stored[-3])
    assert model.index_of(stored[-3]).data(Role.NEW_MARKER)
    edited = replace(newest, body="changed", edited_at=newest.timestamp + 1)
    assert model.update(edited)
    assert model.index_of(newest).data(Role.BODY) == "changed"
    assert model.index_of(newest).data(Role.EDITED_AT) == newest.timestamp + 1
    for _ in range(3):
        model.fetch_older()  # trims the newest: their reactions are let go
    assert model.reactions_of(newest) is None
    assert model.rowCount() <= 100
    model.set_read_marker(None)
    assert model.read_marker is None
