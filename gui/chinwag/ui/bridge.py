"""The one place core events become Qt signals (qutebrowser's message bridge): widgets
connect to these signals and never subscribe to the core bus themselves."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from chinwag.core.events import Event, EventBus


class EventBridge(QObject):
    """Re-emits every core event as ``published(object)`` on the Qt side. (Not named
    ``event``: that would hide ``QObject.event``, which Qt calls for every event the
    object gets.)"""

    published = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = bus.subscribe_all(self._forward)

    def _forward(self, event: Event) -> None:
        self.published.emit(event)

    def close(self) -> None:
        self._unsubscribe()
