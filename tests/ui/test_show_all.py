"""A long message's "Show all": the whole text in a window of its own, filled a slice
at a time (never a nested event loop), copied exactly as it was sent; and how a row
cuts a message (``shown_text``)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QLocale, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from chinwag.ui import message_delegate
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.message_delegate import ELIDE_CHARS, ELIDE_LINES, shown_text
from chinwag.ui.message_text_window import (
    BLOCK_CHARS,
    SLICE_BLOCKS,
    SLICE_CHARS,
    MessageTextWindow,
    split_blocks,
)

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]

LONG = 250_000
LONG_BODIES = {
    "one unbroken run": "x" * LONG,
    "words": ("lorem ipsum dolor sit amet " * (LONG // 27 + 1))[:LONG],
    "short lines": ("line\n" * (LONG // 5))[:LONG],
}
EMOJI = "\U0001f600" * 25_000
COMBINING = "a" + "\u0301" * 50_000
_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]")


@pytest.fixture(autouse=True)
def _no_text_windows_left(qapp: QApplication) -> Iterator[None]:
    yield
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MessageTextWindow) and shiboken6.isValid(widget):
            widget.close()
            widget.deleteLater()
    # Deleted now, while Python runs: not by Qt at exit, after Python is gone. The same
    # for what a test copied: the clipboard owns mime data made by Python.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QGuiApplication.clipboard().clear()


async def next_turns(count: int = 3) -> None:
    """Let the loop run what is already due (zero timers, posted events)."""
    for _ in range(count):
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        QTimer.singleShot(0, lambda d=done: d.done() or d.set_result(None))
        await done


# --------------------------------------------------------------------------- what a row shows


def test_a_short_message_is_shown_whole() -> None:
    body = "hello\r\nworld " * 10
    shown = shown_text(body)
    assert not shown.elided
    assert shown.text == message_delegate.display_text(body)
    assert (shown.length, shown.total) == (len(body), len(body))


@pytest.mark.parametrize("body", LONG_BODIES.values(), ids=LONG_BODIES.keys())
def test_a_long_message_is_cut_within_the_limits(body: str) -> None:
    shown = shown_text(body)
    assert shown.elided
    assert shown.total == len(body)
    assert shown.length <= ELIDE_CHARS
    assert shown.text.endswith("\u2026")
    assert body.startswith(shown.text[:-1].replace("\u2028", "\n"))
    assert shown.text.count("\u2028") < ELIDE_LINES


def test_a_cut_ends_a_word_and_never_splits_what_draws_as_one() -> None:
    words = shown_text("word " * 1000)
    assert words.text.endswith("word\u2026")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji of five code points
    for body in (family * 1000, ("e\u0301\u0302" * 1000), "\U0001f44d\U0001f3fd" * 1000):
        shown = shown_text(body)
        unit = len(body) // 1000
        assert shown.length % unit == 0, (body[:unit], shown.length)
    # All one cluster: cut anyway, within the limit.
    assert shown_text(COMBINING).length == ELIDE_CHARS


def test_many_lines_are_cut_after_the_last_line_shown() -> None:
    body = "".join(f"line {n}\n" for n in range(ELIDE_LINES + 5))
    shown = shown_text(body)
    assert shown.elided
    assert shown.text.count("\u2028") == ELIDE_LINES - 1
    assert shown.text.endswith(f"line {ELIDE_LINES - 1}\u2026")
    exactly = "".join(f"line {n}\n" for n in range(ELIDE_LINES))  # ends in a line break
    assert not shown_text(exactly).elided


# --------------------------------------------------------------------------- show all


async def test_each_long_row_offers_show_all_with_the_length(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    await ui.sign_in()
    window = await conversation_window()
    for body in (*LONG_BODIES.values(), EMOJI, COMBINING, "short"):
        ui.conn.receive(body)
    await ui.until(lambda: window.model.rowCount() == 6, what="the messages")
    view, delegate = window.history_view, window.delegate
    for row in range(6):
        index = window.model.index(row)
        body = window.model.message(row).body
        shown = delegate.shown(index)
        more = delegate.show_all_rect(view.item_option(index), index)
        if body == "short":
            assert not shown.elided
            assert more is None
        else:
            assert shown.elided
            assert shown.total == len(body)
            assert more is not None
            assert more.isValid()
    count = QLocale().toString(250_000)  # "250,000" in English, "250000" in the C locale
    assert message_delegate.show_all_label(250_000) == f"Show all ({count} characters)"


async def test_show_all_opens_the_whole_text_in_a_window_of_its_own(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    body = LONG_BODIES["words"]
    await ui.sign_in()
    window = await conversation_window()
    ui.conn.receive(body)
    await ui.until(lambda: window.model.rowCount() == 1, what="the message")
    view = window.history_view
    view.scrollToBottom()
    await next_turns()
    index = window.model.index(0)
    option = view.item_option(index)
    more = window.delegate.show_all_rect(option, index)
    assert more is not None
    spot = option.rect.topLeft() + more.center().toPoint()
    if not view.viewport().rect().contains(spot):  # a tall row: bring "Show all" into view
        view.verticalScrollBar().setValue(view.verticalScrollBar().value() + spot.y() - 40)
        await next_turns()
        option = view.item_option(index)
        spot = option.rect.topLeft() + more.center().toPoint()
    assert view.show_all_at(spot) == index
    assert view.link_at(spot) is None

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    shown = window.findChildren(MessageTextWindow)
    assert len(shown) == 1
    text_window = shown[0]
    assert text_window.isVisible()
    assert not text_window.isModal()
    assert text_window.text == body
    editor = text_window.view
    # Filled a slice at a time: not all of it before the loop ran again.
    assert editor.document().characterCount() < len(body)
    await ui.until(lambda: editor.loaded, what="the whole text")
    document = editor.document()
    assert document.blockCount() == len(split_blocks(body))
    block = document.begin()
    while block.isValid():
        assert len(block.text()) <= BLOCK_CHARS
        block = block.next()

    # What is copied is the message, exactly.
    editor.selectAll()
    editor.copy()
    assert QGuiApplication.clipboard().text() == body

    # Clicking again brings up the same window, not another.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    assert window.findChildren(MessageTextWindow) == [text_window]
    text_window.close()
    await next_turns()


async def test_show_all_is_in_the_message_menu(ui: UiRig, conversation_window: OpenWindow) -> None:
    await ui.sign_in()
    window = await conversation_window()
    ui.conn.receive("short one")
    ui.conn.receive(EMOJI)
    await ui.until(lambda: window.model.rowCount() == 2, what="the messages")

    def actions(row: int) -> list[str]:
        menu = window.message_menu(window.model.index(row))
        try:
            return [action.text() for action in menu.actions()]
        finally:
            menu.deleteLater()

    assert "Show &all text" not in actions(0)
    assert "Show &all text" in actions(1)
    menu: QMenu = window.message_menu(window.model.index(1))
    next(a for a in menu.actions() if a.text() == "Show &all text").trigger()
    menu.deleteLater()
    (text_window,) = window.findChildren(MessageTextWindow)
    assert text_window.text == EMOJI
    await ui.until(lambda: text_window.view.loaded, what="the whole text")
    text_window.view.selectAll()
    text_window.view.copy()
    assert QGuiApplication.clipboard().text() == EMOJI


SLICED = {
    **LONG_BODIES,
    "CRLF lines": ("ab\r\n" * (LONG // 4))[:LONG],
    "25,000 emoji": EMOJI,
    "50,000 marks": COMBINING,
}


@pytest.mark.parametrize("body", SLICED.values(), ids=SLICED.keys())
def test_the_text_is_put_in_a_slice_at_a_time(qtbot: QtBot, body: str) -> None:
    text_window = MessageTextWindow("test", body)
    qtbot.addWidget(text_window)
    editor = text_window.view
    slices = 1
    while not editor.loaded:
        document = editor.document()
        assert document.blockCount() <= slices * SLICE_BLOCKS
        shown = len(document.toPlainText())  # code points, as the limits count
        assert shown <= slices * (SLICE_CHARS + BLOCK_CHARS + SLICE_BLOCKS)
        editor._load_slice()  # what the next turn of the loop does
        slices += 1
    assert slices > 1
    assert editor.document().blockCount() == len(split_blocks(body))
    editor.selectAll()
    assert editor.createMimeDataFromSelection().text() == body


@pytest.mark.parametrize(
    "body",
    [
        "a\r\nb\rc\u2028d\u2029e\n\nf\n",
        "x" * 2500 + "\n" + "y z " * 700,
        "\U0001f600" * 1500 + "e\u0301" * 600,
        COMBINING[:500],
        "",
    ],
    ids=["line breaks", "long lines", "astral", "marks", "empty"],
)
def test_the_text_window_copies_any_selection_exactly(qtbot: QtBot, body: str) -> None:
    text_window = MessageTextWindow("test", body)
    qtbot.addWidget(text_window)
    editor = text_window.view
    while not editor.loaded:
        editor._load_slice()
    editor.selectAll()
    assert editor.createMimeDataFromSelection().text() == body
    # Any part selected copies as that part of the text: the same characters, with the
    # text's own line breaks where the editor has paragraph breaks.
    cursor = editor.textCursor()
    last = editor.document().characterCount() - 1
    for start, end in ((0, last // 3), (last // 3, last), (last // 2, last // 2 + 7)):
        cursor.setPosition(start)
        cursor.setPosition(min(end, last), cursor.MoveMode.KeepAnchor)
        editor.setTextCursor(cursor)
        copied = editor.createMimeDataFromSelection().text()
        first = editor.original_position(cursor.selectionStart())
        assert copied == body[first : first + len(copied)]
        assert _BREAKS.sub("", copied) == cursor.selectedText().replace("\u2029", "")
