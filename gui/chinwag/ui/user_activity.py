"""Tells the core's :class:`~chinwag.core.status.UserActivity` when the person does
something in Chinwag's windows: a key, a click, the wheel, or bringing a window to the
front. Contacts asking our idle time (XEP-0012) get the seconds since.

The filter sits on each window that gets the focus (the native window every input event
of a top-level window passes through first), not on the application, which would put a
Python call in front of every event and timer of the event loop."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QWindow

from chinwag.core.status import UserActivity

INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class UserActivityWatch(QObject):
    """Installs itself on the focused window; see the module docstring."""

    def __init__(self, activity: UserActivity, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._activity = activity
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.focusWindowChanged.connect(self._on_focus_window)
        self._on_focus_window(app.focusWindow())

    def _on_focus_window(self, window: QWindow | None) -> None:
        if window is None:  # Chinwag lost the focus to another application
            return
        self._activity.touch()
        window.installEventFilter(self)  # once per window: Qt moves a repeated one

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS:
            self._activity.touch()
        return False
