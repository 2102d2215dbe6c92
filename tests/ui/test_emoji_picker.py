"""The emoji picker by the compose box, ``:shortcode:`` completion and colour emoji."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QImage, QPainter
from PySide6.QtWidgets import QApplication

from chinwag.system.ui_settings import UiSettings
from chinwag.ui import emoji_data
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.emoji_font import colour_emoji_family, install_emoji_font
from chinwag.ui.emoji_picker import RECENT_KEY, RECENT_TAB, RecentEmoji

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture(autouse=True)
def _no_recent_emoji() -> None:
    RecentEmoji._memory = []


# -- the data -----------------------------------------------------------------------------


def test_shortcodes_and_names_come_from_the_emoji_package_grouped_as_unicode_does() -> None:
    c = emoji_data.catalogue()
    assert list(c.groups)[:2] == ["Smileys & Emotion", "People & Body"]
    assert "Component" not in c.groups
    assert c.groups["Smileys & Emotion"][0].char == "\U0001f600"
    assert sum(map(len, c.groups.values())) > 1800
    assert c.complete("smi")[0] == ("smile", c.by_code["smile"])
    assert c.by_code["smile"].char == "\U0001f604"
    assert [code for code, _ in c.complete("+1")] == ["+1"]
    assert c.by_code["thumbsup"].char == "\U0001f44d"
    assert "\U0001f431" in [e.char for e in c.search("cat fa")]
    assert c.search("") == []
    assert c.complete("") == []
    assert c.search("x" * 1000) == []  # a pasted novel searches nothing


# -- the picker ---------------------------------------------------------------------------


async def test_the_picker_inserts_the_emoji_searched_for_at_the_cursor(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any
) -> None:
    window = await conversation_window()
    compose = window.compose
    compose.set_text("Hello world")
    cursor = compose.textCursor()
    cursor.setPosition(5)
    compose.setTextCursor(cursor)
    button = window.compose_extras.emoji_button
    assert button.accessibleName() == "Insert emoji"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    picker = button.picker
    assert picker is not None
    assert picker.isVisible()
    assert picker.current_group() == "Smileys & Emotion"  # nothing used yet
    qtbot.keyClicks(picker.search, "thumbs up")
    assert picker.shown()[0] == "\U0001f44d"
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert compose.text() == "Hello\U0001f44d world"
    assert compose.textCursor().position() == 5 + 2  # (UTF-16 units, as Qt counts)


async def test_the_grid_is_driven_by_the_keyboard_and_the_categories_change(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any
) -> None:
    window = await conversation_window()
    picker = window.compose_extras.emoji_button.open_picker()
    smileys = picker.shown()
    qtbot.keyClick(picker.search, Qt.Key.Key_PageDown, CTRL)
    assert picker.current_group() == "People & Body"
    assert picker.shown()[0] != smileys[0]
    qtbot.keyClick(picker.search, Qt.Key.Key_PageUp, CTRL)
    assert picker.shown() == smileys
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)  # into the grid
    qtbot.keyClick(picker.grid, Qt.Key.Key_Right)
    qtbot.keyClick(picker.grid, Qt.Key.Key_Right)
    assert picker.hint.text().startswith(emoji_data.catalogue().by_char[smileys[2]].name)
    qtbot.keyClick(picker.grid, Qt.Key.Key_Return)
    assert window.compose.text() == smileys[2]

    picker = window.compose_extras.emoji_button.open_picker()
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    qtbot.keyClicks(picker.grid, "rocket")  # typing in the grid searches
    assert picker.search.text() == "rocket"
    assert picker.shown()[0] == "\U0001f680"
    qtbot.keyClicks(picker.search, "zzzz")
    assert picker.shown() == []
    assert picker.hint.text() == "No emoji found"
    qtbot.keyClick(picker, Qt.Key.Key_Escape)
    assert not picker.isVisible()
    assert window.compose.text() == smileys[2]


async def test_recently_used_emoji_come_first_next_time_and_are_kept(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any, tmp_path: Path
) -> None:
    ui.ctx.settings = UiSettings(tmp_path / "ui.json")
    window = await conversation_window()
    button = window.compose_extras.emoji_button
    for query in ("rocket", "pizza"):
        picker = button.open_picker()
        qtbot.keyClicks(picker.search, query)
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    picker = button.open_picker()
    assert picker.current_group() == RECENT_TAB
    assert picker.shown() == ["\U0001f355", "\U0001f680"]
    saved = json.loads((tmp_path / "ui.json").read_text())
    assert saved[RECENT_KEY] == ["\U0001f355", "\U0001f680"]
    # A hand-edited list: what is not an emoji string is dropped, never shown broken.
    (tmp_path / "ui.json").write_text(json.dumps({RECENT_KEY: [1, "\U0001f680", "x" * 500]}))
    assert RecentEmoji(UiSettings(tmp_path / "ui.json")).get() == ["\U0001f680"]
    (tmp_path / "ui.json").write_text(json.dumps({RECENT_KEY: "nonsense"}))
    assert RecentEmoji(UiSettings(tmp_path / "ui.json")).get() == []


async def test_ctrl_semicolon_opens_the_picker_from_the_compose_box(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any
) -> None:
    window = await conversation_window()
    window.compose.setFocus()
    qtbot.keyClick(window.compose, Qt.Key.Key_Semicolon, CTRL)
    picker = window.compose_extras.emoji_button.picker
    assert picker is not None
    assert picker.isVisible()
    picker.hide()


# -- :shortcode: completion ---------------------------------------------------------------


def _completion_rows(window: Any) -> list[str]:
    popup = window.compose_extras.completer.popup
    return [popup.item(i).text() for i in range(popup.count())] if popup.isVisible() else []


async def test_a_shortcode_is_completed_with_enter_or_tab_and_nothing_is_sent(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any
) -> None:
    conn = await ui.sign_in()
    emoji_data.catalogue()  # (loaded on a thread otherwise; offered once it is there)
    window = await conversation_window()
    compose = window.compose
    compose.setFocus()
    qtbot.keyClicks(compose, "nice :smi")
    rows = _completion_rows(window)
    assert rows[0] == "\U0001f604  :smile:"
    qtbot.keyClick(compose, Qt.Key.Key_Return)
    assert compose.text() == "nice \U0001f604"
    assert _completion_rows(window) == []
    assert conn.sent == []

    qtbot.keyClicks(compose, " :rock")
    qtbot.keyClick(compose, Qt.Key.Key_Down)
    second = _completion_rows(window)[1].split()[0]
    qtbot.keyClick(compose, Qt.Key.Key_Tab)
    assert compose.text() == "nice \U0001f604 " + second
    assert compose.hasFocus()  # Tab completed, it did not move the focus
    qtbot.keyClick(compose, Qt.Key.Key_Return)
    await ui.until(lambda: conn.sent)
    assert conn.sent[0].body == "nice \U0001f604 " + second


async def test_escape_leaves_the_text_and_smileys_are_never_rewritten(
    ui: UiRig, conversation_window: OpenWindow, qtbot: Any
) -> None:
    emoji_data.catalogue()
    window = await conversation_window()
    compose = window.compose
    compose.setFocus()
    qtbot.keyClicks(compose, ":smi")
    assert _completion_rows(window)
    qtbot.keyClick(compose, Qt.Key.Key_Escape)
    assert _completion_rows(window) == []
    qtbot.keyClicks(compose, "rk")  # not offered again for this word
    assert _completion_rows(window) == []
    assert compose.text() == ":smirk"

    compose.set_text("")
    for text in (":)", " :D", " :P", " 12:30", " http://ex", " ;-)", " a:bc", " :-("):
        qtbot.keyClicks(compose, text)
        assert _completion_rows(window) == [], text
    assert compose.text() == ":) :D :P 12:30 http://ex ;-) a:bc :-("

    compose.set_text("")
    qtbot.keyClicks(compose, "(:hear")  # after a bracket it is a shortcode
    assert _completion_rows(window)
    compose.clearFocus()
    assert _completion_rows(window) == []  # leaving the box closes the list


# -- colour emoji ---------------------------------------------------------------------------


def _coloured_pixels(text: str, font: QFont) -> int:
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(QColor("black"))
    painter.drawText(4, 48, text)
    painter.end()
    coloured = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) > 40:
                coloured += 1
    return coloured


def test_emoji_are_drawn_in_colour_in_the_application_font(qapp: QApplication) -> None:
    family = colour_emoji_family()
    if family is None:
        pytest.skip("no colour emoji font installed (Debian: fonts-noto-color-emoji)")
    assert install_emoji_font() == family
    assert QFontDatabase.applicationEmojiFontFamilies()[0] == family
    font = QFont(qapp.font())
    font.setPointSize(24)
    # Black text on white is grey everywhere; a colour emoji is not.
    assert _coloured_pixels("abc", font) == 0
    for emoji in ("\U0001f600", "\u2764\ufe0f", "\U0001f44d"):
        assert _coloured_pixels(emoji, font) > 100, emoji
