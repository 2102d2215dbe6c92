"""The conversation window driven as a person would: typing, Enter, scrolling, clicking,
Ctrl+F and Escape, on a real core and store with a scripted connection (and once end to
end through the real Prosody)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import shiboken6
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QContextMenuEvent, QDesktopServices, QTextLayout
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from chinwag.core.errors import ChinwagError, NotConnected
from chinwag.core.models import (
    MAX_MESSAGE_CHARS,
    AccountConfig,
    ConnectionState,
    ConversationKey,
    Direction,
    Message,
    MessageState,
    Presence,
    Show,
    TlsMode,
)
from chinwag.core.session import Backoff, SessionTiming
from chinwag.system.paths import Paths
from chinwag.system.secrets import FileSecretStore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.compose_box import ComposeBox
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.conversations import ConversationWindows
from chinwag.ui.history_model import Role
from chinwag.ui.message_delegate import MessageDelegate, find_links
from chinwag.wiring import build_core

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]
ENTER = Qt.Key.Key_Return


def label(window: QWidget, name: str) -> str:
    found = window.findChild(QLabel, name)
    assert found is not None, name
    return found.text()


def child(window: QWidget, kind: type[Any], name: str) -> Any:
    found = window.findChild(kind, name)
    assert found is not None, name
    return found


def last_message(window: ConversationWindow) -> Message:
    model = window.model
    return model.message(model.rowCount() - 1)


def last_body(window: ConversationWindow) -> str:
    """The newest loaded message's text ("" for none), for waiting on it."""
    return last_message(window).body if window.model.rowCount() else ""


def state_shown(window: ConversationWindow, uid: str) -> str:
    return MessageDelegate.state_label(window.model.index_of((Direction.OUTGOING, uid)))


def row_visible(window: ConversationWindow, row: int) -> bool:
    view = window.history_view
    rect = view.visualRect(window.model.index(row))
    return rect.isValid() and view.viewport().rect().intersects(rect)


async def settle(ui: UiRig) -> None:
    """Let queued Qt events and deferred scroll checks run."""
    for _ in range(3):
        await asyncio.sleep(0.02)


def type_and_send(qtbot: QtBot, window: ConversationWindow, text: str) -> None:
    qtbot.keyClicks(window.compose, text)
    qtbot.keyClick(window.compose, ENTER)


# --------------------------------------------------------------------------- opening


async def test_opens_on_the_newest_page_at_the_bottom(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.fill(500)
    window = await conversation_window()
    await settle(ui)
    assert window.isVisible()
    assert window.model.rowCount() == 50  # one page, not the whole history
    assert last_message(window).body == "message 499"
    scroll_bar = window.history_view.verticalScrollBar()
    assert scroll_bar.value() == scroll_bar.maximum() > 0
    assert row_visible(window, 49)
    assert not row_visible(window, 0)
    assert not window.jump_button.isVisible()
    assert window.windowTitle() == f"{ui.peer} (Offline)"


async def test_registry_gives_the_same_window_and_forgets_it_once_closed(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    window = await conversation_window()
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    assert await conversation_window() is window
    assert ui.windows.find(ui.me, ui.peer) is window
    window.close()
    window.close()  # closing twice still emits once
    assert closed == [True]
    assert ui.windows.find(ui.me, ui.peer) is None
    await ui.until(lambda: not shiboken6.isValid(window), what="window deleted")


async def test_header_shows_name_and_presence_live(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    assert label(window, "contactName") == ui.peer
    assert not child(window, QLabel, "connectionNotice").isVisible()

    ui.set_contact(name="Peter", presence=Presence(Show.AWAY, "<b>at lunch</b>", resource="r"))
    assert label(window, "contactName") == "Peter"
    assert label(window, "contactStatus") == "Away \u2014 <b>at lunch</b>"
    assert child(window, QLabel, "contactStatus").textFormat() == Qt.TextFormat.PlainText
    assert window.windowTitle() == "Peter (Away)"

    ui.conn.listener.on_presence(ui.peer, Presence(Show.DND, "", resource="r"))
    assert window.windowTitle() == "Peter (Busy)"
    assert label(window, "contactStatus") == "Busy"


async def test_works_offline_history_readable_and_send_shows_the_error(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.fill(20)
    window = await conversation_window()
    assert window.model.rowCount() == 20
    notice = child(window, QLabel, "connectionNotice")
    assert notice.isVisible()
    assert "Offline" in notice.text()

    type_and_send(qtbot, window, "anyone there?")
    error = await ui.until(lambda: window.error_text, what="error bar")
    assert "not signed in" in error
    assert window.compose.text() == "anyone there?"  # kept, to send later
    assert window.model.rowCount() == 20

    child(window, QToolButton, "dismissError").click()
    assert window.error_text == ""


# --------------------------------------------------------------------------- composing


async def test_enter_sends_and_shift_enter_adds_a_line(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    qtbot.keyClicks(window.compose, "hello")
    qtbot.keyClick(window.compose, ENTER, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.compose, "world")
    assert window.compose.text() == "hello\nworld"
    assert conn.sent == []

    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: conn.sent, what="message sent")
    assert [m.body for m in conn.sent] == ["hello\nworld"]
    assert window.compose.text() == ""
    shown = last_message(window)
    assert shown.body == "hello\nworld"
    assert shown.direction is Direction.OUTGOING
    assert row_visible(window, window.model.rowCount() - 1)

    qtbot.keyClick(window.compose, ENTER)  # nothing to send: nothing happens
    qtbot.keyClicks(window.compose, "   ")
    qtbot.keyClick(window.compose, ENTER)
    await settle(ui)
    assert len(conn.sent) == 1
    assert window.error_text == ""


async def test_send_button_sends_too(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    qtbot.keyClicks(window.compose, "by mouse")
    qtbot.mouseClick(child(window, QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    await ui.until(lambda: conn.sent, what="message sent")
    assert conn.sent[0].body == "by mouse"


async def test_too_long_message_shows_the_error_and_keeps_the_text(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    text = "x" * (MAX_MESSAGE_CHARS + 1)
    window.compose.setPlainText(text)
    qtbot.keyClick(window.compose, ENTER)
    error = await ui.until(lambda: window.error_text, what="error bar")
    assert "65,536" in error
    assert window.compose.text() == text
    assert conn.sent == []
    assert not window.compose.isReadOnly()

    window.compose.setPlainText("short")
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: conn.sent, what="message sent")
    assert window.error_text == ""  # a successful send clears the error


async def test_paste_of_rich_text_is_plain(ui: UiRig, conversation_window: OpenWindow) -> None:
    window = await conversation_window()
    mime = QMimeData()
    mime.setHtml("<b>bold</b> and <img src='https://example.org/tracker.png'>image")
    window.compose.insertFromMimeData(mime)
    assert window.compose.text() == "bold and image"
    window.compose.set_text("")
    mime.setText("plain <b>as typed</b>")
    window.compose.insertFromMimeData(mime)
    assert window.compose.text() == "plain <b>as typed</b>"


async def test_typing_states_are_sent(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    window.compose.set_pause_interval(100)
    states = conn.chat_states

    qtbot.keyClicks(window.compose, "h")
    assert states == [(ui.peer, "composing")]
    qtbot.keyClicks(window.compose, "ello")
    assert states == [(ui.peer, "composing")]  # once per burst, not per key
    await ui.until(lambda: len(states) == 2, what="paused")
    assert states[-1] == (ui.peer, "paused")
    qtbot.keyClicks(window.compose, "!")
    assert states[-1] == (ui.peer, "composing")
    qtbot.keyClick(window.compose, ENTER)
    await ui.until(lambda: states[-1] == (ui.peer, "active"), what="active after sending")
    window.close()
    assert states[-1] == (ui.peer, "gone")


def test_compose_box_keys_and_states(qtbot: QtBot) -> None:
    box = ComposeBox(pause_after_ms=10_000)
    qtbot.addWidget(box)
    sent: list[str] = []
    states: list[str] = []
    box.submitted.connect(sent.append)
    box.chat_state_changed.connect(states.append)
    qtbot.keyClicks(box, "one")
    qtbot.keyClick(box, Qt.Key.Key_Enter, Qt.KeyboardModifier.ShiftModifier)  # keypad Enter
    qtbot.keyClicks(box, "two")
    qtbot.keyClick(box, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert sent == ["one\ntwo"]
    assert states == ["composing"]
    box.selectAll()
    qtbot.keyClick(box, Qt.Key.Key_Delete)  # wiping the text is no longer composing
    assert states == ["composing", "active"]
    box.set_text("set by the program")
    assert states == ["composing", "active"]


# --------------------------------------------------------------------------- states


async def test_own_message_states_are_shown_as_they_move_on(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    type_and_send(qtbot, window, "state me")
    await ui.until(lambda: conn.sent, what="message sent")
    uid = conn.sent[0].uid
    index = window.model.index_of((Direction.OUTGOING, uid))
    assert MessageDelegate.state_label(index) == "Queued"

    listener = conn.listener
    for step, shown in (
        (lambda: listener.on_acked(uid, ui.peer), "Sent \u2713"),
        (lambda: listener.on_receipt(uid, ui.peer), "Delivered \u2713\u2713"),
        (lambda: listener.on_displayed(uid, ui.peer, False), "Read \u2713\u2713"),
    ):
        step()
        await ui.until(lambda s=shown: state_shown(window, uid) == s, what=shown)


async def test_message_sent_while_reconnecting_shows_as_queued_then_goes(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    conn.reachable = False
    conn.drop()
    await ui.until(
        lambda: ui.core.state(ui.me) is ConnectionState.RECONNECTING, what="reconnecting"
    )
    assert "Connecting" in label(window, "connectionNotice")

    type_and_send(qtbot, window, "wait for it")
    await ui.until(lambda: last_body(window) == "wait for it", what="shown")
    queued = last_message(window)
    assert queued.state is MessageState.QUEUED
    assert MessageDelegate.state_label(window.model.index(window.model.rowCount() - 1)) == (
        "Queued"
    )
    assert window.error_text == ""
    assert window.compose.text() == ""
    assert conn.sent == []

    conn.reachable = True
    await ui.until(lambda: conn.sent, what="sent after reconnecting")
    assert conn.sent[0].uid == queued.uid
    conn.ack(queued.uid)
    await ui.until(lambda: last_message(window).state is MessageState.SENT, what="sent")
    assert not child(window, QLabel, "connectionNotice").isVisible()


async def test_failed_message_shows_the_reason_and_retries_from_its_menu(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    type_and_send(qtbot, window, "will bounce")
    await ui.until(lambda: conn.sent, what="sent")
    uid = conn.sent[0].uid
    row = window.model.rowCount() - 1
    height_before = window.history_view.visualRect(window.model.index(row)).height()

    conn.ack(uid)  # the server takes it (XEP-0198), then bounces it
    await ui.until(lambda: last_message(window).state is MessageState.SENT, what="acked")
    conn.bounce(uid, "recipient-unavailable")
    await ui.until(lambda: last_message(window).state is MessageState.FAILED, what="failed")
    index = window.model.index(row)
    assert index.data(Role.ERROR) == "recipient-unavailable"
    assert MessageDelegate.state_label(index) == "Failed"
    await settle(ui)
    assert window.history_view.visualRect(index).height() > height_before  # reason line

    view = window.history_view
    center = view.visualRect(index).center()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, center, view.viewport().mapToGlobal(center)
    )
    QApplication.sendEvent(view.viewport(), event)
    menu = await ui.until(
        lambda: next((m for m in window.findChildren(QMenu) if m.isVisible()), None),
        what="context menu",
    )
    retry = next(a for a in menu.actions() if a.text() == "&Retry sending")
    retry.trigger()
    menu.close()
    await ui.until(lambda: len(conn.sent) == 2, what="sent again")
    assert conn.sent[1].uid == uid
    await ui.until(lambda: last_message(window).state is MessageState.QUEUED, what="queued")


async def test_typing_indicator(ui: UiRig, conversation_window: OpenWindow) -> None:
    conn = await ui.sign_in()
    ui.set_contact(name="Peter")
    window = await conversation_window()
    assert window.typing_text == ""
    conn.listener.on_chat_state(ui.peer, "composing")
    assert window.typing_text == "Peter is typing\u2026"
    conn.listener.on_chat_state(ui.peer, "paused")
    assert window.typing_text == ""
    conn.listener.on_chat_state(ui.peer, "composing")
    conn.listener.on_chat_state("someone.else@example.net", "active")
    assert window.typing_text == "Peter is typing\u2026"
    conn.receive("here it is")
    await ui.until(lambda: window.typing_text == "", what="a message ends typing")


# --------------------------------------------------------------------------- history


async def test_scrolling_to_the_top_loads_older_pages_keeping_the_position(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.fill(500)
    window = await conversation_window()
    await settle(ui)
    view = window.history_view
    scroll_bar = view.verticalScrollBar()
    first = window.model.message(0)
    assert first.body == "message 450"

    scroll_bar.setValue(0)  # the user drags the scroll bar to the top
    top_before = view.visualRect(window.model.index_of(first)).top()
    await ui.until(lambda: window.model.rowCount() > 50, what="older page")
    assert window.model.message(0).body == "message 425"  # a page of 25 while scrolling
    # the message that was at the top has not moved on screen
    assert view.visualRect(window.model.index_of(first)).top() == top_before
    assert scroll_bar.value() > 0
    await settle(ui)
    assert window.model.rowCount() == 75  # no further page until the user scrolls again


async def test_scrolling_up_with_the_keyboard_reaches_the_start(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.fill(120)
    window = await conversation_window()
    await settle(ui)
    view = window.history_view
    view.setFocus()
    for _ in range(200):
        if not window.model.has_older and view.verticalScrollBar().value() == 0:
            break
        qtbot.keyClick(view, Qt.Key.Key_PageUp)
        await asyncio.sleep(0.005)
    assert window.model.rowCount() == 120
    assert window.model.message(0).body == "message 0"
    assert row_visible(window, 0)


async def test_jump_to_latest_appears_when_scrolled_up(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    await ui.fill(200)
    window = await conversation_window()
    await settle(ui)
    button = window.jump_button
    assert not button.isVisible()
    scroll_bar = window.history_view.verticalScrollBar()
    scroll_bar.setValue(scroll_bar.maximum() // 2)
    await settle(ui)
    assert button.isVisible()

    conn.receive("news while scrolled up")
    await ui.until(lambda: last_body(window) == "news while scrolled up", what="added")
    assert not row_visible(window, window.model.rowCount() - 1)  # the view did not move
    assert "1 new" in button.text()

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await settle(ui)
    assert scroll_bar.value() == scroll_bar.maximum()
    assert row_visible(window, window.model.rowCount() - 1)
    assert not button.isVisible()


async def test_new_messages_follow_the_bottom(ui: UiRig, conversation_window: OpenWindow) -> None:
    conn = await ui.sign_in()
    await ui.fill(100)
    window = await conversation_window()
    await settle(ui)
    for n in range(5):
        conn.receive(f"live {n}")
    await ui.until(lambda: last_body(window) == "live 4", what="appended")
    await settle(ui)
    assert row_visible(window, window.model.rowCount() - 1)
    assert not window.jump_button.isVisible()


# --------------------------------------------------------------------------- text and links


async def test_markup_is_shown_literally(ui: UiRig, conversation_window: OpenWindow) -> None:
    body = "<b>hi</b> &amp; <img src='x.png'> <a href='https://evil.example'>click</a>"
    await ui.store.add_incoming([ui.message(1000, body=body, direction=Direction.INCOMING)])
    window = await conversation_window()
    index = window.model.index(0)
    assert index.data(Role.BODY) == body
    assert window.delegate.text_of(index) == body  # laid out character for character
    assert find_links(body) == [link for link in find_links(body) if "evil" in link.url]
    layout = QTextLayout(window.delegate.text_of(index))
    assert layout.text() == body


async def test_clicking_a_link_opens_it(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))
    body = "read https://example.org/a_(b)?q=1. or not"
    await ui.store.add_incoming([ui.message(1000, body=body, direction=Direction.INCOMING)])
    window = await conversation_window()
    await settle(ui)
    view = window.history_view
    rect = view.visualRect(window.model.index(0))
    points = [QPoint(x, y) for y in range(rect.top(), rect.bottom(), 3) for x in range(0, 400, 3)]
    on_link = next(p for p in points if view.link_at(p) is not None)
    off_link = next(p for p in points if view.link_at(p) is None and rect.contains(p))

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=off_link)
    assert opened == []
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=on_link)
    assert opened == [QUrl("https://example.org/a_(b)?q=1")]


async def test_delegate_lays_out_plain_text_with_links_and_matches(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    body = "<i>lunch</i> at https://example.org/menu\r\nsee you"
    await ui.store.add_incoming([ui.message(1000, body=body, direction=Direction.INCOMING)])
    window = await conversation_window()
    window.open_search()
    qtbot.keyClicks(child(window, QLineEdit, "searchField"), "lunch")
    await ui.until(lambda: label(window, "searchStatus") == "1 of 1", what="searched")
    view = window.history_view
    index = window.model.index(0)
    layout = window.delegate.body_layout(view.item_option(index), index)
    # every character where it was (the CR of CRLF invisible, the LF a line break) ...
    assert layout.text() == body.replace("\r\n", "\u200b\u2028")
    assert layout.lineCount() >= 2
    # ... the link underlined and the match highlighted, nothing else formatted
    spans = {
        (f.start, f.length): (f.format.fontUnderline(), f.format.background().style())
        for f in layout.formats()
    }
    assert spans == {
        (body.index("https"), len("https://example.org/menu")): (True, Qt.BrushStyle.NoBrush),
        (3, 5): (False, Qt.BrushStyle.SolidPattern),
    }


async def test_row_heights_are_cached_per_message_and_width(
    ui: UiRig, conversation_window: OpenWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ui.store.add_incoming([ui.message(1000, body="word " * 200)])
    window = await conversation_window()
    view, delegate = window.history_view, window.delegate
    index = window.model.index(0)
    option = view.item_option(index)
    wide = delegate.sizeHint(option, index)
    calls: list[int] = []
    real = MessageDelegate._geometry

    def counting(self: MessageDelegate, *args: Any) -> Any:
        calls.append(1)
        return real(self, *args)

    monkeypatch.setattr(MessageDelegate, "_geometry", counting)
    assert delegate.sizeHint(option, index) == wide
    assert calls == []  # from the cache
    window.resize(300, window.height())
    await settle(ui)
    narrow = delegate.sizeHint(view.item_option(index), index)
    assert narrow.height() > wide.height()  # more lines when narrower
    assert narrow.width() < wide.width()


def test_links_are_found_conservatively() -> None:
    text = (
        "see https://example.org/x, (https://example.org/y) mailto:bob@example.org "
        "xmpp:alice@example.org javascript:alert(1) ftp://example.org http:// www.example.org"
    )
    assert [link.url for link in find_links(text)] == [
        "https://example.org/x",
        "https://example.org/y",
        "mailto:bob@example.org",
        "xmpp:alice@example.org",
    ]
    for link in find_links(text):
        assert text[link.start : link.end] == link.url


async def test_xmpp_link_opens_a_conversation_here(
    ui: UiRig, conversation_window: OpenWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))
    window = await conversation_window()
    window.history_view.link_activated.emit(QUrl("xmpp:friend@example.org"))
    other = ui.windows.find(ui.me, "friend@example.org")
    assert isinstance(other, ConversationWindow)
    assert opened == []
    other.close()


# --------------------------------------------------------------------------- reading


async def test_incoming_messages_are_marked_read_when_the_window_is_active(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    key = ConversationKey(ui.me, ui.peer)
    window = await conversation_window()
    conn.receive("seen at once")
    await ui.until(lambda: ui.store.unread_count(key) == 0 and conn.displayed, what="read")

    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    elsewhere.activateWindow()
    await ui.until(lambda: not window.isActiveWindow(), what="inactive")
    conn.receive("while away")
    await ui.until(lambda: last_body(window) == "while away", what="shown")
    await settle(ui)
    assert ui.store.unread_count(key) == 1
    assert last_message(window).state is MessageState.RECEIVED

    window.present()  # the user comes back to the window
    await ui.until(lambda: ui.store.unread_count(key) == 0, what="read on activation")
    await ui.until(lambda: last_message(window).state is MessageState.DISPLAYED, what="shown")
    assert conn.displayed[-1] == (ui.peer, last_message(window).uid)


# --------------------------------------------------------------------------- search


async def test_search_highlights_and_navigates_matches(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    stored = await ui.fill(400)
    lunches = [
        replace(ui.message(n), uid=f"lunch{n}", timestamp=stored[n].timestamp + 1, body=body)
        for n, body in ((10, "Lunch tomorrow?"), (200, "lunch was good"), (390, "no lunch"))
    ]
    await ui.store.add_incoming(lunches)
    window = await conversation_window()
    await settle(ui)
    field = child(window, QLineEdit, "searchField")
    assert not field.isVisible()

    qtbot.keyClick(window.compose, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert field.isVisible()
    assert field.hasFocus()
    qtbot.keyClicks(field, "lunch")
    await ui.until(lambda: label(window, "searchStatus") == "1 of 3", what="searched")
    hit = window.current_hit
    assert hit is not None
    assert hit.message.body == "no lunch"  # newest first
    index = window.model.index_of(hit.message)
    assert index.data(Role.CURRENT_MATCH) is True
    assert index.data(Role.SEARCH_MATCH) == ((3, 5),)
    assert row_visible(window, index.row())

    qtbot.keyClick(field, ENTER)  # older
    assert label(window, "searchStatus") == "2 of 3"
    qtbot.keyClick(field, ENTER)  # the oldest: far back, not loaded until now
    assert label(window, "searchStatus") == "3 of 3"
    hit = window.current_hit
    assert hit is not None
    assert hit.message.body == "Lunch tomorrow?"
    index = window.model.index_of(hit.message)
    assert index.isValid()
    assert index.data(Role.SEARCH_MATCH) == ((0, 5),)
    await settle(ui)
    assert row_visible(window, index.row())
    assert window.jump_button.isVisible()  # the latest messages are not shown now

    qtbot.keyClick(field, ENTER, Qt.KeyboardModifier.ShiftModifier)  # newer
    assert label(window, "searchStatus") == "2 of 3"

    qtbot.keyClick(field, Qt.Key.Key_Escape)  # Escape closes the search bar first ...
    assert not field.isVisible()
    assert window.isVisible()
    assert index.data(Role.SEARCH_MATCH) in ((), None)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    qtbot.keyClick(window.compose, Qt.Key.Key_Escape)  # ... then the window
    assert closed == [True]


async def test_search_without_matches(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    await ui.fill(10)
    window = await conversation_window()
    window.open_search()
    field = child(window, QLineEdit, "searchField")
    qtbot.keyClicks(field, "zebra")
    await ui.until(lambda: label(window, "searchStatus") == "No matches", what="searched")
    assert window.current_hit is None
    assert not child(window, QToolButton, "olderMatch").isEnabled()


# --------------------------------------------------------------------------- API, keyboard


async def test_send_text_goes_the_same_way_and_leaves_the_draft(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    conn = await ui.sign_in()
    window = await conversation_window()
    qtbot.keyClicks(window.compose, "my draft")
    message = await window.send_text("from a script")
    assert message.state is MessageState.QUEUED
    assert last_message(window).uid == message.uid
    assert conn.sent[-1].uid == message.uid
    assert window.compose.text() == "my draft"

    await ui.core.sign_out(ui.me)
    with pytest.raises(NotConnected):
        await window.send_text("offline now")
    assert "not signed in" in window.error_text


async def test_controls_are_named_and_reachable_by_tab(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    window = await conversation_window()
    window.open_search()
    for widget in window.findChildren(QWidget):
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible():
            assert widget.accessibleName(), widget.objectName() or widget
    window.close_search()
    assert window.focusWidget() is window.compose
    chain = []
    widget: QWidget = window.compose
    for _ in range(4):
        widget = widget.nextInFocusChain()
        while not (widget.isVisible() and widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
            widget = widget.nextInFocusChain()
        chain.append(widget.objectName())
    assert chain[:4] == ["emojiButton", "attachButton", "sendButton", "history"]
    assert isinstance(window.findChild(QWidget, "compose"), ComposeBox)


async def test_closing_with_window_shortcut_and_errors_do_not_leak(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    window = await conversation_window()
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    qtbot.keyClick(window.compose, Qt.Key.Key_Escape)
    assert closed == [True]
    await ui.until(lambda: not shiboken6.isValid(window), what="deleted")
    _ = ChinwagError  # errors raised by the core are shown, never raised into Qt


# --------------------------------------------------------------------------- end to end


async def test_message_typed_in_one_window_arrives_in_the_other_through_prosody(
    prosody: Any, tmp_path: Path, qtbot: QtBot, keep_running_without_windows: None
) -> None:
    sides = []
    for name in ("alice", "bob"):
        jid, password = prosody.make_user(name)
        root = tmp_path / name
        paths = Paths.under(root).ensure()
        core = build_core(
            paths,
            secrets=FileSecretStore(paths.secrets_file),
            timing=SessionTiming(backoff=Backoff(initial=0.2, cap=1.0)),
        )
        core.add_account(
            AccountConfig(jid=jid, host=prosody.host, port=prosody.port, tls=TlsMode.STARTTLS),
            password,
        )
        await core.sign_in(jid)
        await core.messaging.wait_archive_synced(jid)
        bridge = EventBridge(core.bus)
        holder: list[UiContext] = []
        windows = ConversationWindows(
            lambda account, peer, h=holder: ConversationWindow(h[0], account, peer)
        )
        holder.append(UiContext(core, bridge, windows))
        sides.append((jid, holder[0]))
    (alice, alice_ctx), (bob, bob_ctx) = sides
    try:
        # Both windows on one screen; alice's is the active one, where she types.
        bob_window = bob_ctx.windows.open(bob, alice, activate=False)
        alice_window = alice_ctx.windows.open(alice, bob)
        assert isinstance(alice_window, ConversationWindow)
        assert isinstance(bob_window, ConversationWindow)
        await _until(alice_window.isActiveWindow)

        type_and_send(qtbot, alice_window, "hello <b>bob</b>")
        await alice_ctx.core.messaging.drain()
        got = await _until(lambda: bob_window.model.rowCount() == 1 and last_message(bob_window))
        assert got.body == "hello <b>bob</b>"
        assert got.direction is Direction.INCOMING
        await _until(lambda: last_message(alice_window).state is MessageState.DELIVERED)
        assert not bob_window.isActiveWindow()  # opened in the background: not read yet
        assert bob_ctx.core.store.unread_count(ConversationKey(bob, alice)) == 1

        bob_window.present()  # bob looks: alice sees it read
        await _until(lambda: last_message(alice_window).state is MessageState.READ)
    finally:
        for _jid, ctx in sides:
            ctx.windows.close_all()
        await asyncio.sleep(0)
        for _jid, ctx in sides:
            ctx.bridge.close()
            await ctx.core.shutdown()


async def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value
