"""The window frame a script asks for is clamped to the available desktop (issue 9,
the windows, item 2); the end-to-end check with memory figures is in
``tests/e2e/test_window_geometry_bounds.py``."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from chinwag.ui.window_frame import (
    HEADLESS_DESKTOP,
    WindowFrame,
    available_desktop,
    clamp_frame,
)

DESKTOP = (-1280, 0, 3200, 1080)  # a screen left of the primary one


@pytest.mark.parametrize(
    ("asked", "done"),
    [
        ((10, 20, 500, 400), (10, 20, 500, 400)),  # fits: untouched
        ((-1280, 0, 3200, 1080), (-1280, 0, 3200, 1080)),  # exactly the desktop
        ((0, 0, 30_000, 30_000), (-1280, 0, 3200, 1080)),  # too big: the desktop
        ((1800, 900, 400, 300), (1520, 780, 400, 300)),  # off the far edge: moved in
        ((-5000, -5000, 400, 300), (-1280, 0, 400, 300)),  # off the near edge: moved in
        ((2**31 - 1, 2**31 - 1, 2**31 - 1, 2**31 - 1), (-1280, 0, 3200, 1080)),
        ((-(2**31), -(2**31), 2**31 - 1, 1), (-1280, 0, 3200, 1)),
    ],
)
def test_clamp_frame(asked: tuple[int, int, int, int], done: tuple[int, int, int, int]) -> None:
    assert clamp_frame(asked, DESKTOP) == done


class Framed(WindowFrame, QWidget):
    pass


def test_offscreen_desktop_is_a_sane_maximum(qtbot: Any) -> None:
    left, top, width, height = available_desktop()
    assert (width, height) >= HEADLESS_DESKTOP[2:]
    assert width * height * 4 < 100 * 1024 * 1024  # a window that size: under 100 MB

    window = Framed()
    qtbot.addWidget(window)
    window.show()
    window.set_frame(0, 0, 30_000, 30_000)
    # the whole window, decorations included, covers the desktop
    outer = window.frameGeometry()
    assert (outer.x(), outer.y(), outer.width(), outer.height()) == (left, top, width, height)
    window.set_frame(40, 50, 640, 480)
    assert window.frame() == (40, 50, 640, 480)
