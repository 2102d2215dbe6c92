"""Links are underlined, and open, exactly where they are, whatever comes before them.

Python counts a text in code points, Qt in UTF-16 units: an emoji beyond the Basic
Multilingual Plane is one of the first and two of the second, so offsets taken from
Python and given to Qt unconverted underline a link one character to the left per emoji
before it, and the click target is off as much. Checked with emoji (astral plane),
combining marks, and right-to-left text: the format range, the glyphs it covers, and a
click at each end of the link (and just beside it) in a real window, with a real URL
handler registered through ``QDesktopServices.setUrlHandler``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QObject, QPoint, QRectF, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QTextLayout
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from chinwag.core.models import Direction
from chinwag.ui import message_delegate
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.message_delegate import find_links

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]

URL = "https://example.org/path?q=1"
SMILE = "\U0001f600"
BODIES = {
    "1 emoji": f"{SMILE} see {URL} now",
    "5 emoji": f"{SMILE * 5} see {URL} now",
    "emoji sequences": f"\U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1eb\U0001f1f7 {URL} ok",
    "combining marks": f"e\u0301e\u0301e\u0301 a\u0308\u0304 {URL} fin",
    "emoji in the link's line after it": f"{URL} {SMILE}{SMILE} after",
    "hebrew": f"\u05e9\u05dc\u05d5\u05dd {URL} \u05e2\u05d5\u05dc\u05dd",
    "arabic with emoji": f"\u0645\u0631\u062d\u0628\u0627 {SMILE} {URL} \u0639\u0627\u0644\u0645",
}


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Opened(QObject):
    """Where ``QDesktopServices.openUrl`` sends https URLs during a test."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def opened() -> Iterator[Opened]:
    handler = Opened()
    QDesktopServices.setUrlHandler("https", handler, "open")
    try:
        yield handler
    finally:
        QDesktopServices.unsetUrlHandler("https")


def glyph_rect(layout: QTextLayout, start: int, length: int) -> QRectF:
    """Where the characters ``start`` to ``start + length`` (UTF-16) are drawn."""
    rect = QRectF()
    for run in layout.glyphRuns(start, length):
        rect = rect.united(run.boundingRect())
    assert rect.isValid(), (start, length)
    return rect


async def show(ui: UiRig, conversation_window: OpenWindow, body: str) -> ConversationWindow:
    await ui.store.add_incoming([ui.message(1000, body=body, direction=Direction.INCOMING)])
    window = await conversation_window()
    await ui.until(lambda: window.model.rowCount() == 1, what="the message")
    return window


def test_utf16_offsets_round_trip() -> None:
    from chinwag.ui.message_delegate import Utf16

    text = "a\U0001f600b\U0001f1eb\U0001f1f7e\u0301\u05e9"
    offsets = Utf16(text)
    for index in range(len(text) + 1):
        assert offsets.to_utf16(index) == utf16(text[:index])
        assert offsets.from_utf16(offsets.to_utf16(index)) == index
    # The low half of a surrogate pair belongs to its character.
    assert offsets.from_utf16(utf16("a") + 1) == 1
    assert offsets.span(1, 3) == (1, 3)
    assert Utf16("plain").span(1, 3) == (1, 2)


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_the_underline_covers_exactly_the_link(
    ui: UiRig, conversation_window: OpenWindow, body: str
) -> None:
    window = await show(ui, conversation_window, body)
    index = window.model.index(0)
    view, delegate = window.history_view, window.delegate
    layout = delegate.body_layout(view.item_option(index), index)
    (link,) = find_links(body)
    assert body[link.start : link.end] == URL
    underlined = [(f.start, f.length) for f in layout.formats() if f.format.fontUnderline()]
    assert underlined == [(utf16(body[: link.start]), utf16(URL))]
    # The underlined units are exactly the link's characters.
    start, length = underlined[0]
    units = layout.text().encode("utf-16-le")
    assert units[2 * start : 2 * (start + length)] == URL.encode("utf-16-le")


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_a_click_on_either_end_of_the_link_opens_it_and_beside_it_does_not(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot, opened: Opened, body: str
) -> None:
    window = await show(ui, conversation_window, body)
    index = window.model.index(0)
    view, delegate = window.history_view, window.delegate
    option = view.item_option(index)
    layout = delegate.body_layout(option, index)
    origin = option.rect.topLeft().toPointF() + delegate.body_origin(option, index)
    (link,) = find_links(body)
    start, end = utf16(body[: link.start]), utf16(body[: link.end])

    def at(rect: QRectF) -> QPoint:
        return (origin + rect.center()).toPoint()

    whole = glyph_rect(layout, start, end - start)
    first = glyph_rect(layout, start, 1)
    last = glyph_rect(layout, end - 1, 1)
    # Beside the link: the character after the space that follows it.
    after = glyph_rect(layout, end + 1, 2 if body[link.end + 1] > "\uffff" else 1)

    for spot in (at(whole), at(first), at(last)):
        assert view.link_at(spot) == QUrl(URL), spot
    assert view.link_at(at(after)) is None

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at(after))
    assert opened.urls == []
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at(first))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at(last))
    assert opened.urls == [QUrl(URL), QUrl(URL)]


@pytest.mark.parametrize("body", [BODIES["hebrew"], BODIES["arabic with emoji"]])
async def test_right_to_left_text_is_drawn_inside_its_bubble(
    ui: UiRig, conversation_window: OpenWindow, body: str
) -> None:
    window = await show(ui, conversation_window, body)
    index = window.model.index(0)
    view, delegate = window.history_view, window.delegate
    option = view.item_option(index)
    layout = delegate.body_layout(option, index)
    text = glyph_rect(layout, 0, utf16(layout.text())).translated(
        delegate.body_origin(option, index)
    )
    bubble = delegate.bubble_rect(option, index)
    assert bubble.left() <= text.left()
    assert text.right() <= bubble.right()


async def test_a_search_match_after_emoji_is_highlighted_exactly(
    ui: UiRig, conversation_window: OpenWindow, qtbot: QtBot
) -> None:
    body = "\U0001f600\U0001f600 lunch at noon"
    window = await show(ui, conversation_window, body)
    window.open_search()
    field = window.findChild(QLineEdit, "searchField")
    assert field is not None
    qtbot.keyClicks(field, "lunch")
    status = window.findChild(QLabel, "searchStatus")
    assert status is not None
    await ui.until(lambda: status.text() == "1 of 1", what="the search")
    index = window.model.index(0)
    layout = window.delegate.body_layout(window.history_view.item_option(index), index)
    highlighted = [
        (f.start, f.length)
        for f in layout.formats()
        if f.format.background().style() != Qt.BrushStyle.NoBrush
    ]
    assert highlighted == [(utf16(body[: body.index("lunch")]), len("lunch"))]


async def test_the_menu_looks_for_links_in_a_bounded_part_of_a_long_message(
    ui: UiRig, conversation_window: OpenWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "https://example.org/x " * 12_000  # 264,000 characters, 12,000 links
    window = await show(ui, conversation_window, body)
    scanned: list[int] = []
    real = message_delegate.find_links

    def recording(text: str, *args: Any) -> Any:
        scanned.append(len(text))
        return real(text, *args)

    monkeypatch.setattr(message_delegate, "find_links", recording)
    menu = window.message_menu(window.model.index(0))
    try:
        offered = [a.text() for a in menu.actions() if a.text().startswith("&Open")]
    finally:
        menu.deleteLater()
    assert offered == ["&Open https://example.org/x"] * 5
    assert scanned
    assert max(scanned) <= 30_000
