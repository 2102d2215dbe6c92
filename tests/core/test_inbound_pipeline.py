"""The inbound pipeline (core/inbound.py): a feature adds its own stage to the real core's
pipeline, without touching the others, and that stage can drop, transform or hold what
was received; acknowledging waits for every stage before it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from core_rig import BOB, EVE, ME, Core, incoming

from chinwag.core import inbound
from chinwag.core.events import MessageAdded, MessageEdited
from chinwag.core.inbound import Batch, Item, Pipeline
from chinwag.core.models import ConversationKey, Message


class BlockFilter:
    """What a feature module's filter looks like: drops what one sender writes, and
    sends that sender no receipt."""

    name = "filter"
    order = inbound.FILTER

    def __init__(self, blocked: str) -> None:
        self.blocked = blocked
        self.seen: list[str] = []

    async def run(self, batch: Batch) -> None:
        for item in batch.active():
            self.seen.append(item.message.uid)
            if item.message.sender == self.blocked:
                item.receipt_to = ""
                item.drop("blocked")


class Shout:
    """Transforms: upper-cases every text before it is stored."""

    name = "shout"
    order = inbound.FILTER + 1

    async def run(self, batch: Batch) -> None:
        for item in batch.active():
            item.message = replace(item.message, body=item.message.body.upper())


class Gate:
    """Holds each batch until the test lets it go; records what was committed by then."""

    name = "gate"
    order = inbound.PUBLISH - 1

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.open = asyncio.Event()
        self.committed: list[str] = []

    async def run(self, batch: Batch) -> None:
        self.committed += [m.uid for m in batch.added]
        self.reached.set()
        await self.open.wait()


class Broken:
    name = "broken"
    order = inbound.FILTER

    async def run(self, batch: Batch) -> None:
        raise RuntimeError("a feature's bug")


def receive(rig: Core, messages: list[Message], receipt_to: list[str]) -> asyncio.Future[None]:
    """Hand ``messages`` to the core as the connection does; the future is done once the
    stream may acknowledge them."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    rig.conn.listener.on_messages(messages, receipt_to, lambda: done.set_result(None))
    return done


def receipts_of(rig: Core, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(rig.conn, "send_receipt", lambda to, uid: sent.append((to, uid)))
    return sent


async def test_a_feature_adds_a_filter_stage_in_its_place(
    rig: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts = receipts_of(rig, monkeypatch)
    blocked = BlockFilter(EVE)
    rig.core.messaging.inbound.add(blocked)
    assert [s.name for s in rig.core.messaging.inbound.stages] == [
        "normalise",
        "rooms",
        "filter",
        "store",
        "apply",
        "publish",
        "acknowledge",
    ]
    batch = [
        incoming("hi", "b1"),
        incoming("buy now", "e1", sender=EVE, peer=EVE),
        incoming("there?", "b2"),
    ]
    async with asyncio.timeout(10):
        await receive(rig, batch, [f"{BOB}/phone", f"{EVE}/spam", f"{BOB}/phone"])
    assert blocked.seen == ["b1", "e1", "b2"]
    # Dropped: not stored, not published, no receipt; the rest of the batch as ever,
    # and the whole batch acknowledged to the stream (the future above is done).
    assert [m.uid for m in rig.history()] == ["b1", "b2"]
    assert rig.core.store.latest(ConversationKey(ME, EVE), 10) == []
    assert [e.message.uid for e in rig.of(MessageAdded)] == ["b1", "b2"]
    assert receipts == [(f"{BOB}/phone", "b1"), (f"{BOB}/phone", "b2")]


async def test_a_dropped_action_is_not_applied(rig: Core) -> None:
    rig.core.messaging.inbound.add(BlockFilter(EVE))
    await rig.receive(incoming("helo", "m1", sender=EVE, peer=EVE))
    await rig.receive(incoming("hello", "c1", replaces="m1", sender=EVE, peer=EVE))
    assert rig.core.store.latest(ConversationKey(ME, EVE), 10) == []
    assert rig.of(MessageEdited) == []


async def test_a_stage_transforms_what_later_stages_see(rig: Core) -> None:
    rig.core.messaging.inbound.add(Shout())
    await rig.receive(incoming("hello", "m1"))
    assert [m.body for m in rig.history()] == ["HELLO"]
    assert [e.message.body for e in rig.of(MessageAdded)] == ["HELLO"]


async def test_nothing_is_acknowledged_while_a_stage_holds_the_batch(
    rig: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts = receipts_of(rig, monkeypatch)
    gate = Gate()
    rig.core.messaging.inbound.add(gate)
    done = receive(rig, [incoming("hi", "m1")], [f"{BOB}/phone"])
    async with asyncio.timeout(10):
        await gate.reached.wait()
    # Stored (the gate runs after the store) but neither published nor acknowledged.
    assert gate.committed == ["m1"]
    assert [m.uid for m in rig.history()] == ["m1"]
    assert rig.core.messaging.held_incoming == 1
    assert not done.done()
    assert rig.of(MessageAdded) == []
    assert receipts == []
    gate.open.set()
    async with asyncio.timeout(10):
        await done
    assert [e.message.uid for e in rig.of(MessageAdded)] == ["m1"]
    assert receipts == [(f"{BOB}/phone", "m1")]
    assert rig.core.messaging.held_incoming == 0


async def test_a_failing_stage_is_logged_and_the_batch_goes_on(
    rig: Core, caplog: pytest.LogCaptureFixture
) -> None:
    rig.core.messaging.inbound.add(Broken())
    with caplog.at_level(logging.ERROR, logger="chinwag.core.inbound"):
        await rig.receive(incoming("hi", "m1"))
    assert [m.uid for m in rig.history()] == ["m1"]
    assert "inbound stage 'broken' failed" in caplog.text


async def test_stages_run_by_order_then_as_added_and_names_are_unique() -> None:
    ran: list[str] = []

    class Named:
        def __init__(self, name: str, order: int) -> None:
            self.name, self.order = name, order

        async def run(self, batch: Batch) -> None:
            ran.append(self.name)

    pipeline = Pipeline([Named("c", 30), Named("a", 10), Named("b1", 20), Named("b2", 20)])
    assert [s.name for s in pipeline.stages] == ["a", "b1", "b2", "c"]
    with pytest.raises(ValueError, match="has a stage 'a' already"):
        pipeline.add(Named("a", 5))
    pipeline.remove("b1")
    await pipeline.run(Batch([Item(ME, incoming("x", "m1"))]))
    assert ran == ["a", "b2", "c"]
