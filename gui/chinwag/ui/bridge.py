"""The one place core events become Qt signals (qutebrowser's message bridge): widgets
connect to these signals and never subscribe to the core bus themselves.

Besides ``published`` (every event), events come by family on signals of their own, so
a window connects to what it shows instead of filtering every event of the core:
``messages_changed`` carries the events about stored messages (:data:`MessageEvent`)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from chinwag.core.events import (
    Event,
    EventBus,
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    MessageStateChanged,
    ReactionsChanged,
)

#: The events of the message family: a message was stored, moved on, was edited, was
#: removed, or its reactions changed. Each names one message of one conversation.
MessageEvent = (
    MessageAdded | MessageStateChanged | MessageEdited | MessageRemoved | ReactionsChanged
)
MESSAGE_EVENTS: tuple[type[Event], ...] = (
    MessageAdded,
    MessageStateChanged,
    MessageEdited,
    MessageRemoved,
    ReactionsChanged,
)


class EventBridge(QObject):
    """Re-emits every core event as ``published(object)`` on the Qt side, and the message
    family's events also as ``messages_changed(object)``. (Not named ``event``: that
    would hide ``QObject.event``, which Qt calls for every event the object gets.)"""

    published = Signal(object)
    #: A :data:`MessageEvent` (after ``published`` of the same event).
    messages_changed = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = bus.subscribe_all(self._forward)

    def _forward(self, event: Event) -> None:
        self.published.emit(event)
        if type(event) in MESSAGE_EVENTS:
            self.messages_changed.emit(event)

    def close(self) -> None:
        self._unsubscribe()


__all__ = ["MESSAGE_EVENTS", "EventBridge", "MessageEvent"]
