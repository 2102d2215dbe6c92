"""Corrections, retractions, reactions and replies through the real core and storage
(issue 11): what a received action does to its target, who may do it, what is published,
and our own actions, sent now or once online. The connection is a stand-in that records
what is sent; the XMPP side of these elements is tested against Prosody elsewhere."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from core_rig import BOB, ME, Core, incoming

from chinwag.core.errors import InvalidMessage
from chinwag.core.events import (
    ConnectionStateChanged,
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    ReactionsChanged,
)
from chinwag.core.models import (
    ConnectionState,
    Message,
    Origin,
)

# -- received ------------------------------------------------------------------------------


async def test_a_correction_by_the_author_edits_the_message_in_place(rig: Core) -> None:
    await rig.receive(incoming("helo", "m1"))
    await rig.receive(incoming("hello", "c1", replaces="m1"))
    (edited,) = rig.of(MessageEdited)
    assert (edited.message.uid, edited.message.body) == ("m1", "hello")
    assert edited.message.edited_at > 0
    (stored,) = rig.history()
    assert (stored.uid, stored.body) == ("m1", "hello")  # its first id, its place
    assert stored.id is not None
    assert [text for _when, text in rig.core.store.versions(stored.id)] == ["helo"]
    # A chain of corrections names the first id each time.
    await rig.receive(incoming("hello!", "c2", replaces="m1"))
    assert [m.body for m in rig.history()] == ["hello!"]
    assert [t for _w, t in rig.core.store.versions(stored.id)] == ["helo", "hello"]


async def test_a_message_and_its_correction_in_one_batch(rig: Core) -> None:
    await rig.receive(incoming("helo", "m1"), incoming("hello", "c1", replaces="m1"))
    assert [e.message.body for e in rig.of(MessageAdded)] == ["helo"]
    assert [e.message.body for e in rig.of(MessageEdited)] == ["hello"]
    assert [m.body for m in rig.history()] == ["hello"]


async def test_a_forged_correction_is_refused_and_its_text_kept(rig: Core) -> None:
    ours = await rig.core.messaging.send(ME, BOB, "I owe you nothing")
    await rig.receive(incoming("I owe you 100", "f1", replaces=ours.uid))  # Bob, on our message
    assert rig.of(MessageEdited) == []
    bodies = sorted(m.body for m in rig.history())
    assert bodies == ["I owe you 100", "I owe you nothing"]  # ours untouched, theirs shown


async def test_a_correction_of_an_unknown_message_is_shown_as_a_message(rig: Core) -> None:
    await rig.receive(incoming("the corrected text", "c9", replaces="never-seen"))
    assert rig.of(MessageEdited) == []
    assert [m.body for m in rig.history()] == ["the corrected text"]


async def test_the_same_correction_twice_is_applied_once(rig: Core) -> None:
    await rig.receive(incoming("helo", "m1"))
    correction = incoming("hello", "c1", replaces="m1")
    await rig.receive(correction)
    await rig.receive(replace(correction, origin=Origin.ARCHIVE))  # the archive's copy
    assert len(rig.of(MessageEdited)) == 1
    assert [m.body for m in rig.history()] == ["hello"]


async def test_a_retraction_by_the_author_leaves_a_tombstone(rig: Core) -> None:
    await rig.receive(incoming("oops, wrong chat", "m1"))
    await rig.receive(incoming("", "r1", retracts="m1"))
    (removed,) = rig.of(MessageRemoved)
    assert (removed.message.uid, removed.message.removed, removed.message.body) == ("m1", True, "")
    (stored,) = rig.history()
    assert stored.removed
    assert stored.body == ""
    # Gone: a search no longer finds it, a correction of it is refused.
    assert rig.core.store.search("wrong", limit=10) == []
    await rig.receive(incoming("back", "c1", replaces="m1"))
    assert rig.of(MessageEdited) == []


async def test_nobody_else_retracts_a_message(rig: Core) -> None:
    ours = await rig.core.messaging.send(ME, BOB, "mine")
    await rig.receive(incoming("", "r1", retracts=ours.uid))
    await rig.receive(incoming("", "r2", retracts="never-seen"))
    assert rig.of(MessageRemoved) == []
    assert [m.body for m in rig.history()] == ["mine"]


async def test_reactions_are_per_sender_and_replace(rig: Core) -> None:
    ours = await rig.core.messaging.send(ME, BOB, "lunch?")
    await rig.receive(incoming("", "x1", reacts_to=ours.uid, reactions=("👍", "🍕")))
    await rig.receive(incoming("", "x2", reacts_to=ours.uid, reactions=("👍",)))
    changes = rig.of(ReactionsChanged)
    assert [c.reactions for c in changes] == [
        ((BOB, ("👍", "🍕")),),
        ((BOB, ("👍",)),),
    ]
    await rig.receive(incoming("", "x3", reacts_to=ours.uid, reactions=()))
    assert rig.of(ReactionsChanged)[-1].reactions == ()


# -- ours -------------------------------------------------------------------------------------


async def test_our_actions_are_stored_published_and_sent(rig: Core) -> None:
    ours = await rig.core.messaging.send(ME, BOB, "helo")
    edited = await rig.core.messaging.correct(ours, "hello")
    assert (edited.uid, edited.body) == (ours.uid, "hello")
    assert rig.of(MessageEdited)[-1].message.body == "hello"
    theirs = incoming("nice", "m2")
    await rig.receive(theirs)
    (stored_theirs,) = [m for m in rig.history() if m.uid == "m2"]
    await rig.core.messaging.react(stored_theirs, ["❤️", "❤️"])
    assert rig.of(ReactionsChanged)[-1].reactions == ((ME, ("❤️",)),)
    removed = await rig.core.messaging.retract(edited)
    assert removed.removed
    sent = rig.conn.sent[1:]
    assert [(m.replaces, m.reacts_to, m.retracts) for m in sent] == [
        (ours.uid, "", ""),
        ("", "m2", ""),
        ("", "", ours.uid),
    ]
    assert sent[0].body == "hello"
    assert sent[1].reactions == ("❤️",)
    assert len({m.uid for m in rig.conn.sent}) == len(rig.conn.sent)  # each its own id


async def test_only_our_own_messages_are_edited_or_removed(rig: Core) -> None:
    await rig.receive(incoming("theirs", "m1"))
    (theirs,) = rig.history()
    with pytest.raises(InvalidMessage):
        await rig.core.messaging.correct(theirs, "mine now")
    with pytest.raises(InvalidMessage):
        await rig.core.messaging.retract(theirs)
    with pytest.raises(InvalidMessage):
        await rig.core.messaging.react(theirs, ["x" * 100])
    assert rig.conn.sent == []


async def test_actions_made_while_reconnecting_go_out_once_online(rig: Core) -> None:
    ours = await rig.core.messaging.send(ME, BOB, "helo")
    first = rig.conn
    online = asyncio.Event()
    rig.core.bus.subscribe(
        ConnectionStateChanged,
        lambda e: online.set() if e.state is ConnectionState.ONLINE else None,
    )
    rig.gate.clear()  # the next sign-in waits
    first.listener.on_disconnected(None)  # the stream dropped; the session reconnects
    edited = await rig.core.messaging.correct(ours, "hello")
    assert edited.body == "hello"  # stored and shown at once
    assert [m for m in first.sent if m.replaces] == []  # not sent on the dead stream
    assert rig.core.state(ME) is not ConnectionState.ONLINE
    went = asyncio.Event()
    send = first.send_message

    def recording(message: Message) -> None:
        send(message)
        if message.replaces:
            went.set()

    first.send_message = recording  # type: ignore[method-assign]
    rig.gate.set()
    async with asyncio.timeout(10):
        await online.wait()
        await went.wait()  # once what was queued has gone (the outbox first)
    # The session signs in again (on the same connection object, here) and sends it.
    assert [m.replaces for m in rig.conn.sent if m.replaces] == [ours.uid]
    assert [m.uid for m in rig.conn.sent].index(ours.uid) < len(rig.conn.sent) - 1


async def test_a_reply_names_what_it_answers(rig: Core) -> None:
    await rig.receive(incoming("lunch?", "m1"))
    (question,) = rig.history()
    answer = await rig.core.messaging.send(ME, BOB, "yes", reply_to=question)
    assert (answer.reply_to, answer.reply_to_jid) == ("m1", BOB)
    stored = rig.core.store.get(ME, BOB, answer.uid)
    assert stored is not None
    assert (stored.reply_to, stored.reply_to_jid) == ("m1", BOB)
