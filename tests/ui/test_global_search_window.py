"""The search of all conversations (Ctrl+Shift+F) and jumping to a date (Ctrl+G), with the
real store, core and windows: results from every conversation as the user types, newest
first, filtered by conversation and period; a result opens its conversation at the
message, highlighted as the current match; a day picked loads its first message."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chinwag.core.models import ConversationKey, Message
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.global_search import GlobalSearchWindow, snippet_parts
from chinwag.ui.history_model import Role, loaded_messages
from chinwag.ui.jump_to_date import DatePopup
from chinwag.ui.main_window import MainWindow
from chinwag.ui.window_switcher import WindowSwitcher

if TYPE_CHECKING:
    from conftest import UiRig

ME = "me@example.org"
CONVERSATIONS = 1000


def peer(n: int) -> str:
    return f"friend{n:04d}@example.net"


@pytest.fixture
async def main(ui: UiRig, qtbot: QtBot) -> AsyncIterator[MainWindow]:
    window = MainWindow(ui.ctx)
    WindowSwitcher(ui.windows, window, window.app_actions)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.really_quit = True
    window.close()
    window.deleteLater()


async def fill_conversations(ui: UiRig) -> list[Message]:
    """A message with "lighthouse" in each of 1,000 conversations (the last newest), and
    one without."""
    start = time.time() - 10 * 86_400
    messages = [
        ui.message(
            0, peer=peer(n), uid=f"l{n}", timestamp=start + n, body=f"the lighthouse at pier {n}"
        )
        for n in range(CONVERSATIONS)
    ]
    messages.append(ui.message(2, peer=peer(0), uid="other", body="nothing to see"))
    return await ui.store.add_incoming(messages)


def search_window(main: MainWindow) -> GlobalSearchWindow:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, GlobalSearchWindow)]
    assert len(found) == 1
    return found[0]


def test_snippets_are_one_line_of_plain_text() -> None:
    text, marks = snippet_parts("…the \x02light\x03house\nat <b>pier</b>\x00 \x02light\x03…")
    assert text == "…the lighthouse at <b>pier</b> light…"
    assert [text[s : s + n] for s, n in marks] == ["light", "light"]
    long, marks = snippet_parts("\x02" + "a" * 10_000 + "\x03", limit=50)
    assert len(long) == 50
    assert marks == [(0, 50)]


async def test_ctrl_shift_f_searches_all_conversations_as_you_type(
    ui: UiRig, main: MainWindow, qtbot: QtBot
) -> None:
    await fill_conversations(ui)
    main.activateWindow()
    await ui.until(main.isActiveWindow, what="the main window active")
    qtbot.keyClick(
        main, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    window = search_window(main)
    assert window.isVisible()
    await ui.until(window.query.hasFocus, what="the field focused")
    qtbot.keyClicks(window.query, "lightho")
    # incremental: results come after a pause in typing, without Enter
    await ui.until(lambda: window.model.rowCount() > 0, what="results")
    assert window.model.rowCount() == 200  # the newest 200 of 1,000
    assert window.status.text() == "The newest 200 results"
    hits = [window.model.hit(row) for row in range(window.model.rowCount())]
    assert [h.message.peer for h in hits[:3]] == [peer(999), peer(998), peer(997)]
    stamps = [h.message.timestamp for h in hits]
    assert stamps == sorted(stamps, reverse=True)
    first = window.model.index(0)
    shown = first.data(Qt.ItemDataRole.DisplayRole)
    assert shown.startswith(f"{peer(999)}, {peer(999)}, ")
    assert "the lighthouse at pier 999" in shown
    text, marks = snippet_parts(hits[0].snippet)
    assert [text[s : s + n] for s, n in marks] == ["lighthouse"]
    # painted without error
    assert not window.results.grab().toImage().isNull()

    # one conversation only
    window.set_filter(ConversationKey(ME, peer(7)))
    assert window.model.rowCount() == 1
    assert window.model.hit(0).message.peer == peer(7)
    assert window.status.text() == "1 result"
    # nothing in the past day
    window.period.setCurrentIndex(1)
    assert window.model.rowCount() == 0
    assert window.status.text() == "No messages found"
    # Ctrl+Shift+F again: the same window, raised
    qtbot.keyClick(
        main, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert search_window(main) is window


async def test_a_result_opens_its_conversation_at_the_message(
    ui: UiRig, main: MainWindow, qtbot: QtBot
) -> None:
    # A long conversation: the message found is far back, beyond the first page.
    target_peer = peer(3)
    start = time.time() - 30 * 86_400
    history = [
        ui.message(n, peer=target_peer, uid=f"m{n}", timestamp=start + n * 60, body=f"message {n}")
        for n in range(400)
    ]
    history[20] = ui.message(
        20, peer=target_peer, uid="needle", timestamp=start + 20 * 60, body="the red kite flew"
    )
    await ui.store.add_incoming(history)
    await ui.store.add_incoming(
        [ui.message(0, peer=peer(4), uid="k4", body="a kite festival", timestamp=time.time() - 100)]
    )
    window = main.show_global_search()
    assert isinstance(window, GlobalSearchWindow)
    window.query.setText("kite")
    window.search_now()
    assert [window.model.hit(r).message.uid for r in range(window.model.rowCount())] == [
        "k4",
        "needle",
    ]
    window.results.setCurrentIndex(window.model.index(1))
    window.results.setFocus()
    qtbot.keyClick(window.results, Qt.Key.Key_Return)
    conversation = ui.windows.find(ME, target_peer)
    assert isinstance(conversation, ConversationWindow)
    assert conversation.isVisible()
    model = conversation.model
    index = model.index_of(window.model.hit(1).message)
    assert index.isValid()  # loaded around it, though 380 messages back
    assert index.data(Role.CURRENT_MATCH) is True
    assert index.data(Role.SEARCH_MATCH)  # highlighted
    assert conversation.current_hit is not None
    assert conversation.current_hit.message.uid == "needle"
    assert conversation.history_view.currentIndex() == index
    assert conversation.history_view.visualRect(index).intersects(
        conversation.history_view.viewport().rect()
    )


async def test_ctrl_shift_f_works_in_a_conversation_window(
    ui: UiRig, main: MainWindow, conversation_window: Any, qtbot: QtBot
) -> None:
    conversation = await conversation_window()
    qtbot.keyClick(
        conversation.compose,
        Qt.Key.Key_F,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    window = search_window(main)
    assert window.isVisible()


async def test_jump_to_a_date(ui: UiRig, conversation_window: Any, qtbot: QtBot) -> None:
    # 300 messages over 30 days, 10 a day from 09:00 local; the window opens on the newest.
    start = dt.datetime.combine(dt.date.today() - dt.timedelta(days=40), dt.time(9)).timestamp()
    stored = await ui.store.add_incoming(
        [
            ui.message(n, uid=f"d{n}", timestamp=start + (n // 10) * 86_400 + (n % 10) * 600)
            for n in range(300)
        ]
    )
    window = await conversation_window()
    assert loaded_messages(window.model)[-1].uid == "d299"
    day = dt.date.fromtimestamp(start) + dt.timedelta(days=5)
    shown = window.go_to_date(day)
    assert shown is not None
    assert shown.uid == "d50"  # the first message of that day
    index = window.model.index_of(shown)
    assert index.isValid()
    assert window.model.starts_day(index.row())
    view = window.history_view
    assert view.currentIndex() == index
    assert view.visualRect(index).top() <= 0 < view.visualRect(index).bottom()  # at the top
    # A day with no messages: the next day's first.
    gap_day = dt.date.fromtimestamp(start) + dt.timedelta(days=35)
    assert window.go_to_date(gap_day) is None  # after the last message: the newest
    assert window.model.at_live_end
    # Ctrl+G opens the calendar popup; picking a day goes there.
    qtbot.keyClick(window.compose, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    popups = window.findChildren(DatePopup)
    assert len(popups) == 1
    popup = popups[0]
    assert popup.isVisible()
    target = dt.date.fromtimestamp(start) + dt.timedelta(days=2)
    popup.calendar.setSelectedDate(QDate(target.year, target.month, target.day))
    qtbot.keyClick(popup.calendar, Qt.Key.Key_Return)
    await ui.until(lambda: window.history_view.currentIndex().isValid(), what="moved")
    current = window.history_view.currentIndex().data(Role.MESSAGE)
    assert current.uid == "d20"
    assert stored[20].uid == "d20"
