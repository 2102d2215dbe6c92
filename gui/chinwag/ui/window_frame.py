"""Geometry and native id of a top-level window, as the automation API reads and sets
them (``api.ports.WindowView``); mixed into the main and conversation windows.

A frame asked for is clamped to the screens' available geometry: a window is backed by
an image of its size, so a script's 30,000 x 30,000 would take 3.5 GB. Where there are no
real screens to measure (the offscreen platform of tests and headless runs, whose one
virtual screen is 800 x 600 and not a limit a script expects), the limit is a 4K
desktop: about 32 MB of backing store."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication

Frame = tuple[int, int, int, int]

#: The desktop assumed where the platform has no real screens (left, top, width, height).
HEADLESS_DESKTOP: Frame = (0, 0, 3840, 2160)
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal"})


def available_desktop() -> Frame:
    """The bounding box of every screen's available geometry (panels and docks left
    out), or :data:`HEADLESS_DESKTOP` on a platform without real screens."""
    rect = QRect()
    for screen in QGuiApplication.screens():
        rect = rect.united(screen.availableGeometry())
    if QGuiApplication.platformName() in HEADLESS_PLATFORMS or rect.isEmpty():
        rect = rect.united(QRect(*HEADLESS_DESKTOP))
    return (rect.x(), rect.y(), rect.width(), rect.height())


def clamp_frame(frame: Frame, bounds: Frame) -> Frame:
    """``frame`` made to fit in ``bounds``: no larger, then moved inside (the size is kept
    where it fits). Python integers: no overflow at the ends of the ``i`` range."""
    left, top, width, height = frame
    b_left, b_top, b_width, b_height = bounds
    width = max(1, min(width, b_width))
    height = max(1, min(height, b_height))
    left = min(max(left, b_left), b_left + b_width - width)
    top = min(max(top, b_top), b_top + b_height - height)
    return (left, top, width, height)


class WindowFrame:
    """For a ``QWidget`` subclass: ``class X(WindowFrame, QWidget)``."""

    def frame(self: Any) -> Frame:
        rect = self.geometry()
        return (rect.x(), rect.y(), rect.width(), rect.height())

    def set_frame(self: Any, left: int, top: int, width: int, height: int) -> None:
        """Move and resize, clamped to the available desktop (the window manager's
        decorations included where known)."""
        outer, inner = self.frameGeometry(), self.geometry()
        d_left, d_top, d_width, d_height = available_desktop()
        # The decorations around the client area: they must fit on the desktop too.
        before_x, before_y = inner.x() - outer.x(), inner.y() - outer.y()
        extra_w = max(0, outer.width() - inner.width())
        extra_h = max(0, outer.height() - inner.height())
        bounds = (
            d_left + before_x,
            d_top + before_y,
            max(1, d_width - extra_w),
            max(1, d_height - extra_h),
        )
        self.setGeometry(*clamp_frame((left, top, width, height), bounds))

    def native_id(self: Any) -> int:
        return int(self.winId())
