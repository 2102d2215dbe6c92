"""The event bus: typed delivery, unsubscribe, and a failing handler not stopping others."""

from __future__ import annotations

import logging

import pytest

from chinwag.core.events import AccountAdded, AccountRemoved, Event, EventBus


def test_handlers_get_only_their_type_and_can_unsubscribe() -> None:
    bus = EventBus()
    added: list[AccountAdded] = []
    everything: list[Event] = []
    stop = bus.subscribe(AccountAdded, added.append)
    bus.subscribe_all(everything.append)
    bus.publish(AccountAdded("a@x.org"))
    bus.publish(AccountRemoved("a@x.org"))
    stop()
    bus.publish(AccountAdded("b@x.org"))
    assert added == [AccountAdded("a@x.org")]
    assert len(everything) == 3


def test_failing_handler_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(_: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(AccountAdded, broken)
    bus.subscribe(AccountAdded, seen.append)
    with caplog.at_level(logging.ERROR):
        bus.publish(AccountAdded("a@x.org"))
    assert seen == [AccountAdded("a@x.org")]
    assert "boom" in caplog.text
