"""Defects found reviewing issue 11 (corrections, retractions, reactions through the
real core and storage). Each test states the behaviour the issue and the spec ask for
and is expected to fail until the defect is fixed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace
from pathlib import Path
from typing import cast

from core_rig import BOB, ME, Core, incoming, make_rig

from chinwag.core.events import ConnectionStateChanged
from chinwag.core.models import ConnectionState, Message, MessageState, Origin


async def _reconnecting(rig: Core) -> asyncio.Event:
    """Drop the stream with the next sign-in held back; the event is set once online."""
    online = asyncio.Event()
    rig.core.bus.subscribe(
        ConnectionStateChanged,
        lambda e: online.set() if e.state is ConnectionState.ONLINE else None,
    )
    rig.gate.clear()
    rig.conn.listener.on_disconnected(None)
    return online


def _when_sent(rig: Core, wanted: Callable[[Message], bool]) -> asyncio.Event:
    """An event set once the rig's connection is handed a message ``wanted`` picks."""
    seen = asyncio.Event()
    conn = rig.conn
    send = conn.send_message

    def recording(message: Message) -> None:
        send(message)
        if wanted(message):
            seen.set()

    conn.send_message = recording  # type: ignore[method-assign]
    return seen


async def test_a_retraction_made_while_reconnecting_survives_a_restart(tmp_path: Path) -> None:
    first = cast(AsyncGenerator[Core], make_rig(tmp_path))
    rig = await anext(first)
    ours = await rig.core.messaging.send(ME, BOB, "my card number is 1234")
    await _reconnecting(rig)
    removed = await rig.core.messaging.retract(ours)
    assert removed.removed  # shown removed here at once
    await first.aclose()  # the user quits before the account is back
    again = cast(AsyncGenerator[Core], make_rig(tmp_path))
    rig2 = await anext(again)
    try:
        sent = [m for c in rig2.connections for m in c.sent]
        assert [m.retracts for m in sent if m.retracts] == [ours.uid]
    finally:
        await again.aclose()


async def test_correcting_a_queued_message_sends_it_once_with_the_new_text(rig: Core) -> None:
    online = await _reconnecting(rig)
    queued = await rig.core.messaging.send(ME, BOB, "helo")
    assert queued.state is MessageState.QUEUED
    await rig.core.messaging.correct(queued, "hello")
    went = _when_sent(rig, lambda m: m.uid == queued.uid and not m.replaces)
    rig.gate.set()
    async with asyncio.timeout(10):
        await online.wait()
        await went.wait()  # the queued message itself has gone out
    sent = [(m.uid, m.body, m.replaces) for m in rig.conn.sent]
    # Either the message alone with the new text, or the message first and then its
    # correction; never the correction of a message the peer has not got yet.
    assert sent[0] == (queued.uid, "hello", ""), sent  # never a correction first
    assert [s for s in sent if s[2]] == [], sent  # it went out with the new text already


async def test_a_correction_before_its_target_ends_as_one_corrected_message(rig: Core) -> None:
    await rig.receive(incoming("hello", "c1", replaces="m1"))  # live, the original missed
    await rig.receive(replace(incoming("helo", "m1"), origin=Origin.ARCHIVE))  # catch-up
    assert [m.body for m in rig.history()] == ["hello"]


async def test_retracting_a_queued_message_sends_no_message(rig: Core) -> None:
    online = await _reconnecting(rig)
    queued = await rig.core.messaging.send(ME, BOB, "wrong window, sorry")
    await rig.core.messaging.retract(queued)
    rig.gate.set()
    async with asyncio.timeout(10):
        await online.wait()
    nxt = _when_sent(rig, lambda m: m.body == "next")
    await rig.core.messaging.send(ME, BOB, "next")  # anything queued is flushed by now
    async with asyncio.timeout(10):
        await nxt.wait()
    texts = [(m.uid, m.body, m.retracts) for m in rig.conn.sent if m.body != "next"]
    # What the peer never got needs no retraction; at the least it must not get the
    # message (with or without its text) after the retraction.
    assert [t for t in texts if t[0] == queued.uid] == [], texts
    assert [t for t in texts if t[2] == queued.uid] == [], texts  # nor a retraction
