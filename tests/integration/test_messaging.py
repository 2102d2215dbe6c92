"""One-to-one messaging through the real Prosody: states, loss and duplicates."""

from __future__ import annotations

import pytest
from helpers import eventually, history

from chinwag.core.events import ArchiveSynced, ChatStateChanged, MessageAdded, MessageStateChanged
from chinwag.core.models import ConversationKey, Direction, MessageState
from conftest import CoreMaker

pytestmark = pytest.mark.prosody


async def test_two_accounts_exchange_messages_and_states_move_on(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))

    sent = await alice.send(bob.jid, "hello bob")
    assert sent.state is MessageState.QUEUED  # committed before it went out

    got = await bob.events.wait(MessageAdded, lambda e: e.message.body == "hello bob")
    assert got.message.direction is Direction.INCOMING
    assert got.message.peer == alice.jid
    assert got.message.uid == sent.uid  # the origin id travels with it

    for state in (MessageState.SENT, MessageState.DELIVERED):
        await alice.events.wait(
            MessageStateChanged,
            lambda e, s=state: e.message.uid == sent.uid and e.message.state is s,
        )

    reply = await bob.send(alice.jid, "hi alice")
    await alice.events.wait(MessageAdded, lambda e: e.message.uid == reply.uid)

    # bob reads the conversation: his displayed marker moves alice's message to read
    await bob.core.messaging.mark_displayed(ConversationKey(bob.jid, alice.jid))
    await alice.events.wait(
        MessageStateChanged,
        lambda e: e.message.uid == sent.uid and e.message.state is MessageState.READ,
    )
    stored = alice.core.store.get(alice.jid, bob.jid, sent.uid)
    assert stored is not None
    assert stored.state is MessageState.READ
    assert [m.body for m in history(alice.core, alice.jid, bob.jid)] == ["hello bob", "hi alice"]
    assert [m.body for m in history(bob.core, bob.jid, alice.jid)] == ["hello bob", "hi alice"]


async def test_chat_state_reaches_the_contact(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    alice.core.messaging.send_chat_state(alice.jid, bob.jid, "composing")
    event = await bob.events.wait(ChatStateChanged)
    assert (event.peer, event.state) == (alice.jid, "composing")


async def test_messages_received_while_offline_are_in_history(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob_jid, bob_pw = prosody.make_user("bob")
    bob = await cores(prosody, bob_jid, bob_pw)
    await bob.core.sign_out()

    bodies = [f"while you were away {i}" for i in range(3)]
    for body in bodies:
        await alice.send(bob.jid, body)
    for body in bodies:
        await alice.events.wait(
            MessageStateChanged,
            lambda e, b=body: e.message.body == b and e.message.state >= MessageState.SENT,
        )

    synced_before = len(bob.events.of(ArchiveSynced))
    await bob.core.sign_in(bob.jid)
    # The server may hand them over as offline messages, and the archive has them too.
    await bob.core.messaging.wait_archive_synced(bob.jid)
    assert len(bob.events.of(ArchiveSynced)) == synced_before + 1
    await bob.core.messaging.drain()
    received = [m.body for m in history(bob.core, bob.jid, alice.jid)]
    assert received == bodies  # each once, in order, whatever path they came by


async def test_message_from_another_resource_shows_in_history(prosody, cores: CoreMaker) -> None:
    jid, password = prosody.make_user("alice")
    desk = await cores(prosody, jid, password, resource="desk")
    phone = await cores(prosody, jid, password, resource="phone")
    bob = await cores(prosody, *prosody.make_user("bob"))

    sent = await phone.send(bob.jid, "sent from my phone")
    copy = await desk.events.wait(MessageAdded, lambda e: e.message.uid == sent.uid)
    assert copy.message.direction is Direction.OUTGOING
    assert copy.message.peer == bob.jid

    reply = await bob.send(jid, "got it")
    for client in (desk, phone):
        await client.events.wait(MessageAdded, lambda e: e.message.uid == reply.uid)
    assert [m.body for m in history(desk.core, jid, bob.jid)] == ["sent from my phone", "got it"]


async def test_message_sent_while_server_down_is_delivered_once(
    prosody_own, cores: CoreMaker
) -> None:
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    bob = await cores(server, *server.make_user("bob"))

    await server.astop()
    await eventually(lambda: alice.core.state(alice.jid) != "online", what="alice to notice")
    sent = await alice.send(bob.jid, "written while the server was down")
    assert alice.core.store.get(alice.jid, bob.jid, sent.uid).state is MessageState.QUEUED

    await server.astart()
    await bob.events.wait(MessageAdded, lambda e: e.message.uid == sent.uid, timeout=30)
    await alice.events.wait(
        MessageStateChanged,
        lambda e: e.message.uid == sent.uid and e.message.state >= MessageState.SENT,
        timeout=30,
    )
    await bob.core.messaging.wait_archive_synced(bob.jid)
    await alice.core.messaging.drain()
    bodies = [m.body for m in history(bob.core, bob.jid, alice.jid)]
    assert bodies.count("written while the server was down") == 1
    assert len(bob.events.of(MessageAdded, lambda e: e.message.uid == sent.uid)) == 1


async def test_search_finds_a_stored_message(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    await alice.send(bob.jid, "the quick brown fox")
    await alice.send(bob.jid, "jumps over the lazy dog")
    await bob.events.wait(MessageAdded, lambda e: e.message.body == "jumps over the lazy dog")
    hits = bob.core.store.search("lazy")
    assert [h.message.body for h in hits] == ["jumps over the lazy dog"]
    assert bob.core.store.search("nothing-like-this") == []
