"""Driving a Qt form as a person would, finding its widgets by their accessible names
(what a screen reader says): shared by the dialog tests, with the fake connection
(tests/ui) and over Prosody (tests/integration)."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

W = TypeVar("W", bound=QWidget)
LEFT = Qt.MouseButton.LeftButton


def named(parent: QWidget, kind: type[W], name: str) -> W:
    found = [w for w in parent.findChildren(kind) if w.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} {kind.__name__} named {name!r}"
    return found[0]


def message(dialog: QWidget, name: str = "Problem") -> str:
    label = named(dialog, QLabel, name)
    return label.text() if label.isVisible() else ""


def click(qtbot: QtBot, widget: QWidget) -> None:
    if isinstance(widget, QCheckBox):
        qtbot.mouseClick(widget, LEFT, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, LEFT)


def type_into(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    if text:
        qtbot.keyClicks(edit, text)
