"""The windows tell the core when the person does something (issue 9, details other
clients see, item 9): XEP-0012 answers with the seconds since. A clock the test moves:
nothing waits on time."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from chinwag.core.status import UserActivity
from chinwag.ui.user_activity import UserActivityWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_keys_and_clicks_in_a_window_are_activity(qtbot: Any) -> None:
    clock = Clock()
    activity = UserActivity(clock)
    window = QWidget()
    qtbot.addWidget(window)
    edit = QLineEdit(window)
    QVBoxLayout(window).addWidget(edit)
    UserActivityWatch(activity, window)  # goes with the window
    clock.now += 60
    assert activity.idle_seconds() == 60

    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is window.windowHandle())
    assert activity.idle_seconds() == 0  # brought to the front

    clock.now += 30
    window.update()  # repaints are not the person doing anything
    qtbot.waitExposed(window)
    assert activity.idle_seconds() == 30

    # input as the platform delivers it: to the native window first
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_A)
    assert activity.idle_seconds() == 0
    assert edit.text() == "a"  # and on to the widget, untouched

    clock.now += 45
    assert activity.idle_seconds() == 45
    QTest.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert activity.idle_seconds() == 0
