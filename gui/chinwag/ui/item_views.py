"""What the contact list's views (contacts, group chats) share: the Enter keys, and the
context menu asked for at the current row from the keyboard, else at the mouse."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, SignalInstance
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QAbstractItemView

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def request_menu(view: QAbstractItemView, event: QContextMenuEvent, wanted: SignalInstance) -> None:
    """Emit ``wanted(index, global position)`` for the row the menu is for: the current
    one from the menu key (not whatever lies under the mouse), else the one clicked."""
    if event.reason() == QContextMenuEvent.Reason.Keyboard:
        index = view.currentIndex()
        pos = view.visualRect(index).center() if index.isValid() else QPoint(0, 0)
        global_pos = view.viewport().mapToGlobal(pos)
    else:
        index = view.indexAt(event.pos())
        global_pos = event.globalPos()
    if index.isValid():
        wanted.emit(index, global_pos)
        event.accept()
