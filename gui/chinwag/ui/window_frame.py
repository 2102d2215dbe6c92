"""Geometry and native id of a top-level window, as the automation API reads and sets
them (``automation.ports.WindowView``); mixed into the main and conversation windows."""

from __future__ import annotations

from typing import Any


class WindowFrame:
    """For a ``QWidget`` subclass: ``class X(WindowFrame, QWidget)``."""

    def frame(self: Any) -> tuple[int, int, int, int]:
        rect = self.geometry()
        return (rect.x(), rect.y(), rect.width(), rect.height())

    def set_frame(self: Any, left: int, top: int, width: int, height: int) -> None:
        self.setGeometry(left, top, width, height)

    def native_id(self: Any) -> int:
        return int(self.winId())
