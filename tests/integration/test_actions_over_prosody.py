"""Issue 11 end to end: a slixmpp contact corrects, retracts, reacts and replies with
slixmpp's own plugins, and a Chinwag core (real connection, pipeline and storage, over
the rig's Prosody) applies each to the message it names; the core's own corrections,
retractions and reactions reach the contact as slixmpp reads them; an action from
someone who did not write the message changes nothing of it."""

from __future__ import annotations

from typing import Any

import pytest
from actions_rig import Peer
from helpers import history

from chinwag.core.events import MessageAdded, MessageEdited, MessageRemoved, ReactionsChanged
from conftest import CoreMaker

pytestmark = pytest.mark.prosody


async def test_a_contacts_actions_change_the_messages_they_name(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = Peer(prosody, *prosody.make_user("bob"))
    await bob.login()
    try:
        question = await alice.send(bob.jid, "a question")
        assert (await bob.receive())["id"] == question.uid

        bob.send_chat(alice.jid, "helo")
        helo = (await alice.events.wait(MessageAdded, lambda e: e.message.body == "helo")).message
        plugins = bob.client.plugin
        plugins["xep_0308"].build_correction(helo.uid, alice.jid, mbody="hello").send()
        edited = await alice.events.wait(MessageEdited, lambda e: e.message.uid == helo.uid)
        assert edited.message.body == "hello"
        assert edited.message.edited_at > 0

        bob.react(alice.jid, question.uid, ["👍"])
        reacted = await alice.events.wait(ReactionsChanged, lambda e: e.message.uid == question.uid)
        assert reacted.reactions == ((bob.jid, ("👍",)),)

        plugins["xep_0461"].send_reply(
            alice.jid, question.uid, fallback="a question", mto=alice.jid, mbody="an answer"
        )
        answer = await alice.events.wait(MessageAdded, lambda e: e.message.reply_to != "")
        assert (answer.message.body, answer.message.reply_to) == ("an answer", question.uid)
        assert answer.message.reply_to_jid == alice.jid

        plugins["xep_0424"].send_retraction(alice.jid, helo.uid)
        removed = await alice.events.wait(MessageRemoved, lambda e: e.message.uid == helo.uid)
        assert removed.message.removed
    finally:
        await bob.logout()

    stored = {m.uid: m for m in history(alice.core, alice.jid, bob.jid)}
    # Nothing but the three messages: no action became a row of its own.
    assert set(stored) == {question.uid, helo.uid, answer.message.uid}
    assert stored[helo.uid].removed
    assert stored[helo.uid].body == ""
    assert stored[question.uid].body == "a question"
    assert alice.core.store.reactions([question.id or 0]) == {question.id: [(bob.jid, ("👍",))]}


async def test_the_cores_own_actions_reach_the_contact(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = Peer(prosody, *prosody.make_user("bob"))
    await bob.login()
    try:
        sent = await alice.send(bob.jid, "frist")
        assert (await bob.receive())["body"] == "frist"
        bob.send_chat(alice.jid, "theirs")
        theirs = (
            await alice.events.wait(MessageAdded, lambda e: e.message.body == "theirs")
        ).message

        await alice.core.messaging.correct(sent, "first")
        fixed = await bob.receive()
        await alice.core.messaging.react(theirs, ["🎉", "👍"])
        reaction = await bob.receive()
        await alice.core.messaging.retract(sent)
        retraction = await bob.receive()
    finally:
        await bob.logout()

    assert (fixed["body"], fixed["replace"]["id"]) == ("first", sent.uid)
    assert reaction["reactions"]["id"] == theirs.uid
    assert [r["value"] for r in reaction["reactions"]] == ["🎉", "👍"]
    assert retraction["retract"]["id"] == sent.uid
    ids = {sent.uid, fixed["id"], reaction["id"], retraction["id"]}
    assert len(ids) == 4  # each stanza its own id


async def test_a_correction_of_someone_elses_message_changes_nothing(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = Peer(prosody, *prosody.make_user("bob"))
    await bob.login()
    try:
        mine = await alice.send(bob.jid, "my words")
        assert (await bob.receive())["id"] == mine.uid
        bob.client.plugin["xep_0424"].send_retraction(alice.jid, mine.uid)
        bob.client.plugin["xep_0308"].build_correction(
            mine.uid, alice.jid, mbody="words put in my mouth"
        ).send()
        # A refused correction is still what bob wrote: the core keeps it as his message,
        # once it has handled it and the retraction before it.
        kept = await alice.events.wait(
            MessageAdded, lambda e: e.message.body == "words put in my mouth"
        )
        assert kept.message.sender == bob.jid
        assert not kept.message.replaces
    finally:
        await bob.logout()
    assert not alice.events.of(MessageEdited)
    assert not alice.events.of(MessageRemoved)
    stored = alice.core.store.get(alice.jid, bob.jid, mine.uid)
    assert stored is not None
    assert (stored.body, stored.edited_at, stored.removed) == ("my words", 0.0, False)
