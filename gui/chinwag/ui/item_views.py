"""What the contact list's views (contacts, group chats) share: the Enter keys, the
context menu asked for at the current row from the keyboard, else at the mouse, and the
hint an empty view shows."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, SignalInstance
from PySide6.QtGui import QContextMenuEvent, QPainter, QPalette
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


def paint_placeholder(view: QAbstractItemView, text: str) -> None:
    """Draw ``text`` centred and wrapped in ``view``'s viewport, in the dimmed colour of
    placeholder text (call from ``paintEvent`` when the view has no rows)."""
    if not text:
        return
    viewport = view.viewport()
    painter = QPainter(viewport)
    try:
        painter.setPen(view.palette().color(QPalette.ColorRole.PlaceholderText))
        margin = 12
        rect = viewport.rect().adjusted(margin, margin, -margin, -margin)
        painter.drawText(
            rect,
            int(
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
            ),
            text,
        )
    finally:
        painter.end()
