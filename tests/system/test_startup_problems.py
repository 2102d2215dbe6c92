"""What Chinwag could not use at start-up is shown in a message box that does not block:
no nested event loop, the main window stays usable."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMainWindow, QMessageBox
from pytestqt.qtbot import QtBot

from chinwag.app import show_startup_problems

# Qt's offscreen platform warns this for every top-level window with a layout.
pytestmark = pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")

PROBLEMS = [
    "The history /x/history.sqlite3 was damaged (it is not an SQLite database). It was "
    "moved to /x/history.sqlite3.broken-20250101-120000, and a new, empty history was started.",
    "The log file /y/chinwag.log cannot be written (Read-only file system): Chinwag logs to "
    "the terminal only.",
]


def test_problems_are_shown_without_blocking(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    box = show_startup_problems(PROBLEMS, window, None, background=False)
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert not box.isModal()
    assert "/x/history.sqlite3.broken-20250101-120000" in box.informativeText()
    assert "/y/chinwag.log" in box.informativeText()
    box.close()


def test_nothing_is_shown_without_problems_or_in_the_background(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    assert show_startup_problems([], window, None, background=False) is None
    assert show_startup_problems(PROBLEMS, window, None, background=True) is None
    assert window.findChildren(QMessageBox) == []
