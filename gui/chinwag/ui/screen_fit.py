"""Window sizes that fit the screen a window opens on.

A window asks for a comfortable size in device-independent pixels; on a small screen, or
a large one at a high scale factor (``QT_SCALE_FACTOR=2`` on a 1600 x 1000 screen is an
800 x 500 desktop), that size may be larger than the screen, and the bottom of the
window (where the compose box is) would be off-screen. :func:`fit_to_screen` sizes a
window to at most the screen's available geometry (panels and docks left out), less room
for the window manager's frame; where it goes is the window manager's business."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: Room left free beside and below/above a window: its frame (title bar, borders), which
#: the available geometry does not count and is not known before the window is shown.
MARGIN_X = 16
MARGIN_Y = 48


def available_rect(widget: QWidget) -> QRect | None:
    """The available geometry of the screen ``widget`` is on (or will open on)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return None if screen is None else screen.availableGeometry()


def fitted_size(widget: QWidget, width: int, height: int) -> QSize:
    """``width`` x ``height``, made no larger than the room on ``widget``'s screen."""
    area = available_rect(widget)
    if area is None or area.isEmpty():
        return QSize(width, height)
    return QSize(
        max(1, min(width, area.width() - 2 * MARGIN_X)),
        max(1, min(height, area.height() - MARGIN_Y)),
    )


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize the top-level ``widget`` to ``width`` x ``height``, or less where its screen
    is smaller."""
    widget.resize(fitted_size(widget, width, height))


__all__ = ["MARGIN_X", "MARGIN_Y", "available_rect", "fit_to_screen", "fitted_size"]
