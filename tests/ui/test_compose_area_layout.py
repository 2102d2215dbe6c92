"""The bottom of a conversation window, measured by its widgets' geometry and palettes:
the history and the compose area meet at one thin line (no band of the window's grey
between them, empty typing line or not, light or dark), and the emoji and attach buttons
beside the compose box are square and as tall as the send button, at any font size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QPushButton, QStyle, QToolButton, QWidget

from chinwag.ui.appearance import theme_palette
from chinwag.ui.conversation_window import ConversationWindow

if TYPE_CHECKING:
    from conftest import UiRig

OpenWindow = Callable[..., Awaitable[ConversationWindow]]
#: The most a separator between the history and the compose area may take, in pixels.
SEPARATOR = 2


def background(widget: QWidget) -> QColor:
    """The colour painted behind ``widget``: its own when it fills its background, else
    that of the nearest ancestor that does (at the top, the window's)."""
    while not (widget.autoFillBackground() or widget.isWindow()):
        parent = widget.parentWidget()
        assert parent is not None
        widget = parent
    return widget.palette().color(widget.backgroundRole())


def rows_off_the_history_colour(window: ConversationWindow) -> list[int]:
    """The rows between the history's bottom edge and the compose box's top edge (down
    the middle of the compose box) whose background is not the history's."""
    view, compose = window.history_view, window.compose
    history = background(view.viewport())
    top = view.mapTo(window, QPoint(0, view.height())).y()
    bottom = compose.mapTo(window, QPoint(0, 0)).y()
    x = compose.mapTo(window, QPoint(compose.width() // 2, 0)).x()
    assert bottom > top  # (the compose box is below the history)
    return [y for y in range(top, bottom) if background(window.childAt(x, y) or window) != history]


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_history_and_the_compose_box_meet_at_a_thin_line(
    ui: UiRig, conversation_window: OpenWindow, theme: str
) -> None:
    conn = await ui.sign_in()
    ui.set_contact(name="Peter")
    window = await conversation_window()
    window.setPalette(theme_palette(theme, window.palette()))
    window.resize(520, 560)
    history_height = window.history_view.height()
    assert window.typing_text == ""
    off = rows_off_the_history_colour(window)
    assert len(off) <= SEPARATOR, f"a band of {len(off)} px between history and compose box"
    conn.listener.on_chat_state(ui.peer, "composing")
    assert window.typing_text == "Peter is typing\u2026"
    assert len(rows_off_the_history_colour(window)) <= SEPARATOR
    assert window.history_view.height() == history_height  # the history does not jump


async def test_the_emoji_and_attach_buttons_are_as_tall_as_send_at_any_font_size(
    ui: UiRig, conversation_window: OpenWindow
) -> None:
    window = await conversation_window()
    send = window.findChild(QPushButton, "sendButton")
    assert send is not None
    buttons: list[QToolButton] = [window.compose_extras.emoji_button, window.attachments.button]
    small = window.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)

    def fitted() -> Any:
        return all(
            button.height() == button.width() == send.height()
            # the icon fills the button as a tool button's icon does, never below the
            # small icon size
            and button.iconSize().height() >= max(small, button.height() * 2 // 3)
            and not button.icon().isNull()
            for button in buttons
        )

    assert fitted(), [(b.objectName(), b.size(), b.iconSize()) for b in [*buttons, send]]
    for button in buttons:
        assert button.toolTip()
        assert button.accessibleName()
    height = send.height()
    font = QFont(window.font())
    font.setPointSizeF(font.pointSizeF() * 2)
    window.setFont(font)  # as the font size preference does, for the whole application
    await ui.until(lambda: send.height() > height and fitted(), what="the buttons to grow")
