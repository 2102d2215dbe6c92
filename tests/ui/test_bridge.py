"""The event bridge: every event type of the core belongs to exactly one family, and each
event the core publishes comes once, on its family's signal, in order (so a new event
type cannot be forgotten, and no widget has to filter events it does not show)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pytestqt.qtbot import QtBot

from chinwag.core import events as core_events
from chinwag.core.events import (
    ChatStateChanged,
    ConnectionStateChanged,
    ContactPresenceChanged,
    Event,
    EventBus,
    MessageAdded,
    ReadPositionChanged,
    StorageFailed,
)
from chinwag.core.models import ConnectionState, ConversationKey, Direction, Message, Presence
from chinwag.ui.bridge import FAMILIES, EventBridge, family_of


def core_event_types() -> list[type[Event]]:
    """Every event type defined in chinwag.core.events."""
    return [
        cls
        for _name, cls in inspect.getmembers(core_events, inspect.isclass)
        if issubclass(cls, Event) and cls is not Event and cls.__module__ == core_events.__name__
    ]


def blank(event_type: type[Event]) -> Event:
    """An instance of ``event_type`` with no fields set (routing looks at the type only)."""
    return object.__new__(event_type)


class Recorder:
    """Every signal of a bridge, recorded as (signal name, event) in emission order."""

    def __init__(self, bridge: EventBridge) -> None:
        self.seen: list[tuple[str, object]] = []
        for family in FAMILIES:
            signal = getattr(bridge, family.signal)
            signal.connect(lambda event, name=family.signal: self.seen.append((name, event)))


@pytest.fixture
def bus_and_bridge(qtbot: QtBot) -> Iterator[tuple[EventBus, EventBridge, Recorder]]:
    bus = EventBus()
    bridge = EventBridge(bus)
    recorder = Recorder(bridge)
    yield bus, bridge, recorder
    bridge.close()


def test_every_core_event_type_belongs_to_exactly_one_family() -> None:
    types = core_event_types()
    assert len(types) > 20  # the module was read
    for event_type in types:
        families = [f.signal for f in FAMILIES if event_type in f.events]
        assert len(families) == 1, f"{event_type.__name__} is in {families or 'no family'}"
    listed = [t for f in FAMILIES for t in f.events]
    assert sorted(t.__name__ for t in listed) == sorted(t.__name__ for t in types)


def test_the_families_name_signals_of_the_bridge() -> None:
    names = [f.signal for f in FAMILIES]
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(EventBridge, name), name
    assert not hasattr(EventBridge, "published")  # no signal of everything to filter


def test_each_event_comes_once_on_its_familys_signal(
    bus_and_bridge: tuple[EventBus, EventBridge, Recorder],
) -> None:
    bus, _bridge, recorder = bus_and_bridge
    types = core_event_types()
    events = [blank(t) for t in types]
    for event in events:
        bus.publish(event)
    expected = []
    for event in events:
        family = family_of(type(event))
        assert family is not None
        expected.append((family.signal, event))
    assert recorder.seen == expected


def test_typical_events_and_where_they_go(
    bus_and_bridge: tuple[EventBus, EventBridge, Recorder],
) -> None:
    bus, _bridge, recorder = bus_and_bridge
    message = Message("me@x", "you@y", Direction.INCOMING, "hi", 1.0)
    events = [
        ConnectionStateChanged("me@x", ConnectionState.ONLINE),
        ContactPresenceChanged("me@x", "you@y", Presence(), Presence()),
        MessageAdded(message),
        ChatStateChanged("me@x", "you@y", "composing"),
        ReadPositionChanged(ConversationKey("me@x", "you@y"), "me@x", 3),
        StorageFailed("the disk is full"),
    ]
    for event in events:
        bus.publish(event)
    assert [name for name, _ in recorder.seen] == [
        "connection_changed",
        "roster_changed",
        "messages_changed",
        "chat_states_changed",
        "conversations_changed",
        "storage_changed",
    ]
    assert [event for _, event in recorder.seen] == events


@dataclass(frozen=True, slots=True)
class _Unknown(Event):
    """An event type no family lists."""


@dataclass(frozen=True, slots=True)
class _SpecialMessage(MessageAdded):
    """A subclass of a listed type: it goes with its base."""


def test_an_event_of_no_family_is_logged_once_and_not_emitted(
    bus_and_bridge: tuple[EventBus, EventBridge, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    bus, _bridge, recorder = bus_and_bridge
    with caplog.at_level(logging.ERROR, logger="chinwag.ui.bridge"):
        bus.publish(_Unknown())
        bus.publish(_Unknown())
    assert recorder.seen == []
    assert [r.getMessage() for r in caplog.records].count(
        "no family has _Unknown: such events are not shown"
    ) == 1
    special = _SpecialMessage(Message("me@x", "you@y", Direction.INCOMING, "hi", 1.0))
    bus.publish(special)
    assert recorder.seen == [("messages_changed", special)]


def test_closed_bridge_emits_nothing(
    bus_and_bridge: tuple[EventBus, EventBridge, Recorder],
) -> None:
    bus, bridge, recorder = bus_and_bridge
    bridge.close()
    bus.publish(StorageFailed("the disk is full"))
    assert recorder.seen == []
