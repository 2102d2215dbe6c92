"""What the contact list's views (contacts, group chats) share: the Enter keys, the
context menu asked for at the current row from the keyboard, else at the mouse, the hint
an empty view shows, and their viewport wrapped the cheap way."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, SignalInstance
from PySide6.QtGui import QContextMenuEvent, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QAbstractScrollArea, QWidget

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def claim_viewport(view: QAbstractScrollArea) -> None:
    """Wrap ``view``'s viewport for Python once, as one of its children (call when the
    view is made). The first time ``viewport()`` hands PySide6 a plain QWidget it has not
    wrapped yet, PySide6 looks for its class among every class derived from QWidget, and
    so creates them all (the wizard, the calendar, the MDI area and forty more: 0.9 MB,
    held for good); as a child it is found by its own class name. Every later
    ``viewport()`` returns the wrapper made here."""
    view.findChild(QWidget, "qt_scrollarea_viewport", Qt.FindChildOption.FindDirectChildrenOnly)


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
