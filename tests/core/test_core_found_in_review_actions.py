"""Defects found reviewing issue 11 (corrections, retractions, reactions through the
real core and storage). Each test states the behaviour the issue and the spec ask for
and is expected to fail until the defect is fixed."""

from __future__ import annotations

import asyncio
import json
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


# -- our actions until the server acknowledges them -------------------------------------------
# An action handed to a stream that ends before the server acknowledged it may never have
# reached the server: it is sent again (same id, so receivers see the duplicate) on the
# next stream that is not a resumption, after the outbox, in the order made.


async def _three_actions(rig: Core) -> tuple[Message, list[Message]]:
    """Our message (acknowledged) and, sent live, its correction, a reaction to the
    contact's message and its retraction, as handed to the connection."""
    ours = await rig.core.messaging.send(ME, BOB, "helo")
    rig.conn.ack(rig.conn.sent[-1])
    await rig.receive(incoming("nice", "m2"))
    (theirs,) = [m for m in rig.history() if m.uid == "m2"]
    mark = len(rig.conn.sent)
    edited = await rig.core.messaging.correct(ours, "hello")
    await rig.core.messaging.react(theirs, ["👍"])
    await rig.core.messaging.retract(edited)
    actions = rig.conn.sent[mark:]
    assert [(m.replaces, m.reacts_to, m.retracts) for m in actions] == [
        (ours.uid, "", ""),
        ("", "m2", ""),
        ("", "", ours.uid),
    ]
    return ours, actions


def _named(messages: list[Message]) -> list[tuple[str, str, str, str, str, tuple[str, ...]]]:
    return [(m.uid, m.body, m.replaces, m.reacts_to, m.retracts, m.reactions) for m in messages]


async def _next_stream(rig: Core, online: asyncio.Event) -> list[Message]:
    """Let the held sign-in through; what the connection is handed on the new stream up
    to a message sent once it is online (all that was due has gone by then)."""
    mark = len(rig.conn.sent)
    rig.gate.set()
    async with asyncio.timeout(10):
        await online.wait()
    nxt = _when_sent(rig, lambda m: m.body == "next")
    await rig.core.messaging.send(ME, BOB, "next")
    async with asyncio.timeout(10):
        await nxt.wait()
    return [m for m in rig.conn.sent[mark:] if m.body != "next"]


async def test_actions_not_acknowledged_go_again_on_a_new_stream(rig: Core) -> None:
    _ours, actions = await _three_actions(rig)
    online = await _reconnecting(rig)  # no ack came; the stream is not resumed
    again = await _next_stream(rig, online)
    assert _named(again) == _named(actions)  # same ids, same content, same order


async def test_an_action_goes_again_after_its_message_when_neither_was_acknowledged(
    rig: Core,
) -> None:
    ours = await rig.core.messaging.send(ME, BOB, "helo")
    await rig.core.messaging.correct(ours, "hello")
    (correction,) = [m for m in rig.conn.sent if m.replaces]
    online = await _reconnecting(rig)
    again = await _next_stream(rig, online)
    # (the message goes again with its text as stored: corrected)
    assert [(m.uid, m.replaces) for m in again] == [(ours.uid, ""), (correction.uid, ours.uid)]


async def test_acknowledged_actions_are_not_sent_again(rig: Core) -> None:
    _ours, actions = await _three_actions(rig)
    rig.conn.ack(actions[0])
    rig.conn.ack(actions[2])
    online = await _reconnecting(rig)
    again = await _next_stream(rig, online)
    assert _named(again) == _named(actions[1:2])  # only the reaction had no ack
    rig.conn.ack(again[0])
    await rig.core.messaging.drain()
    assert rig.core.store.get_sync_state(ME, "pending_actions") == "[]"


async def test_a_resumed_stream_does_not_get_an_action_twice(rig: Core) -> None:
    _ours, actions = await _three_actions(rig)
    online = await _reconnecting(rig)
    rig.conn.resume_next = True  # the stream is resumed: it resends its unacked stanzas
    assert await _next_stream(rig, online) == []
    # Still not acknowledged: the next stream that is not resumed sends them again.
    online = await _reconnecting(rig)
    again = await _next_stream(rig, online)
    assert _named(again) == _named(actions)


async def test_without_stream_management_an_action_is_handed_over_once(rig: Core) -> None:
    rig.conn.acks = False  # a server without XEP-0198: handing over is all we know
    ours = await rig.core.messaging.send(ME, BOB, "helo")
    await rig.core.messaging.retract(ours)
    assert [m.retracts for m in rig.conn.sent if m.retracts] == [ours.uid]
    online = await _reconnecting(rig)
    assert [m for m in await _next_stream(rig, online) if m.retracts] == []
    await rig.core.messaging.drain()
    assert json.loads(rig.core.store.get_sync_state(ME, "pending_actions") or "[]") == []


async def test_an_action_not_acknowledged_goes_again_after_a_restart(tmp_path: Path) -> None:
    first = cast(AsyncGenerator[Core], make_rig(tmp_path))
    rig = await anext(first)
    try:
        _ours, actions = await _three_actions(rig)
        rig.conn.ack(actions[0])  # the correction was acknowledged, not the others
        await rig.core.messaging.drain()
    finally:
        await first.aclose()  # quit (or crash) before the server acknowledged them
    again = cast(AsyncGenerator[Core], make_rig(tmp_path))
    rig2 = await anext(again)
    try:
        sent = [m for c in rig2.connections for m in c.sent]
        assert _named(sent) == _named(actions[1:])
    finally:
        await again.aclose()


async def test_a_reaction_to_a_message_removed_before_it_was_ever_sent_is_not_sent(
    rig: Core,
) -> None:
    online = await _reconnecting(rig)
    queued = await rig.core.messaging.send(ME, BOB, "wrong window, sorry")
    await rig.core.messaging.react(queued, ["👍"])
    await rig.core.messaging.retract(queued)
    again = await _next_stream(rig, online)
    assert [(m.uid, m.target) for m in again] == []  # the peer never hears of it
