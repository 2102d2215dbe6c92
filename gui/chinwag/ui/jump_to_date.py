"""Jump to a date in a conversation (Ctrl+G, or the calendar button of its header).

:class:`DatePopup` is a calendar shown as a popup under the button (never ``exec()``-ed:
no nested event loop); picking a day (a click, or Enter) emits :attr:`DatePopup.chosen`,
and the window loads the page around the first message on or after the start of that
local day (the store's ``first_from``, one indexed read) and scrolls it to the top, with
its date separator above it. A day after the last message shows the newest messages."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCalendarWidget, QFrame, QVBoxLayout, QWidget


def start_of_day(day: dt.date) -> float:
    """The Unix time of the local midnight that starts ``day``."""
    return dt.datetime.combine(day, dt.time()).timestamp()


def to_date(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


class DatePopup(QFrame):
    """A calendar in a popup: :attr:`chosen` a day, or closed with Escape."""

    chosen = Signal(QDate)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Go to date")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.calendar = QCalendarWidget(self)
        self.calendar.setObjectName("goToDateCalendar")
        self.calendar.setAccessibleName("Go to date")
        self.calendar.setGridVisible(False)
        self.calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self.calendar.setMaximumDate(QDate.currentDate())
        self.calendar.activated.connect(self._choose)  # Enter, or a double-click
        self.calendar.clicked.connect(self._choose)
        layout.addWidget(self.calendar)

    def set_range(self, first: dt.date | None, selected: dt.date | None = None) -> None:
        """Days before ``first`` (the first message's) cannot be picked."""
        if first is not None:
            self.calendar.setMinimumDate(QDate(first.year, first.month, first.day))
        if selected is not None:
            self.calendar.setSelectedDate(QDate(selected.year, selected.month, selected.day))

    def popup_at(self, where: QPoint) -> None:
        self.adjustSize()
        self.move(where)
        self.show()
        self.calendar.setFocus(Qt.FocusReason.PopupFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._choose(self.calendar.selectedDate())
            return
        super().keyPressEvent(event)

    def _choose(self, day: QDate) -> None:
        self.chosen.emit(day)
        self.close()
