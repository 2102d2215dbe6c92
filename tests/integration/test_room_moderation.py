"""Issue 12: message moderation (XEP-0425, as Prosody 0.12's mod_muc_moderation speaks
it: urn:xmpp:message-moderate:0) and displayed markers in rooms (XEP-0333 naming the
room's stanza id), through the rig's Prosody with three Chinwag cores and a raw client
(Mallory) forging what only the room may say."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from actions_rig import peer
from helpers import eventually, fresh_room

from chinwag.core.errors import RoomRefused
from chinwag.core.events import MessageAdded, MessageRemoved, OccupantChanged, ReadPositionChanged
from chinwag.core.models import ConversationKey, ConversationKind, EventKind, Message
from conftest import Client, CoreMaker

pytestmark = pytest.mark.prosody

MUC = "http://jabber.org/protocol/muc"
FASTEN = "urn:xmpp:fasten:0"
MODERATE = "urn:xmpp:message-moderate:0"
RETRACT_0 = "urn:xmpp:message-retract:0"


def room_key(account: str, room: str) -> ConversationKey:
    return ConversationKey(account, room, ConversationKind.GROUPCHAT)


async def said(client: Client, room: str, uid: str) -> Message:
    """The message ``uid`` as ``client`` has it once it carries the room's stanza id."""
    found = await eventually(
        lambda: (
            (m := client.core.store.get(client.jid, room, uid, ConversationKind.GROUPCHAT))
            and m.stanza_id
            and m
        ),
        what=f"{client.jid} has {uid} with the room's id",
    )
    assert isinstance(found, Message)
    return found


async def test_a_moderator_removes_anyones_message_for_everyone(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    carol = await cores(prosody, *prosody.make_user("carol"))
    room = fresh_room(prosody, "moderated")
    await alice.core.rooms.join(alice.jid, room, "Alice")  # made it: owner, moderator
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await carol.core.rooms.join(carol.jid, room, "Carol")

    spam = await bob.core.messaging.send(bob.jid, room, "buy now", kind=ConversationKind.GROUPCHAT)
    kept = await carol.core.messaging.send(
        carol.jid, room, "hi all", kind=ConversationKind.GROUPCHAT
    )
    for who in (alice, bob, carol):
        await said(who, room, spam.uid)
        await said(who, room, kept.uid)

    # Bob is a participant, not a moderator: refused by name, before anything is sent.
    carols = await said(bob, room, kept.uid)
    with pytest.raises(RoomRefused) as refused:
        await bob.core.messaging.moderate(carols, "I do not like it")
    assert refused.value.condition == "forbidden"
    assert "moderator" in str(refused.value)

    # The room refuses what it does not have, with its condition.
    target = await said(alice, room, spam.uid)
    with pytest.raises(RoomRefused) as unknown:
        await alice.core.messaging.moderate(replace(target, stanza_id="no-such-id"))
    assert unknown.value.condition == "item-not-found"

    await alice.core.messaging.moderate(target, "spam")
    for who in (alice, bob, carol):
        removed = await who.events.wait(MessageRemoved, lambda e: e.message.uid == spam.uid)
        assert (removed.message.removed, removed.message.body) == (True, "")
        history = who.core.store.latest(room_key(who.jid, room), 10)
        assert {m.uid: (m.body, m.removed) for m in history} == {
            spam.uid: ("", True),
            kept.uid: ("hi all", False),
        }
    # Who moderated, and why, are in the removal's event; the room itself did it.
    key = room_key(carol.jid, room)
    removal = [e for e in carol.core.conversations.events(key, 0) if e.kind is EventKind.REMOVE]
    assert [(e.author, json.loads(e.data)) for e in removal] == [
        (room, {"moderated_by": alice.jid, "reason": "spam"})
    ]
    assert carol.events.of(MessageRemoved, lambda e: e.message.uid == kept.uid) == []


async def test_a_moderation_forged_by_an_occupant_is_refused(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "forged")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    mallory_jid, mallory_password = prosody.make_user("mallory")
    async with peer(prosody, mallory_jid, mallory_password) as mallory:
        presence = mallory.client.make_presence(pto=f"{room}/Mallory")
        presence.xml.append(presence.xml.makeelement(f"{{{MUC}}}x", {}))
        presence.send()
        await alice.events.wait(OccupantChanged, lambda e: e.nick == "Mallory")

        sent = await bob.core.messaging.send(bob.jid, room, "mine", kind=ConversationKind.GROUPCHAT)
        target = await said(alice, room, sent.uid)
        # Mallory says, in the room, what only the room may say: refused.
        mallory.stanza(
            room,
            "",
            f"<apply-to xmlns='{FASTEN}' id='{target.stanza_id}'>"
            f"<moderated xmlns='{MODERATE}' by='{room}/Alice'>"
            f"<retract xmlns='{RETRACT_0}'/><reason>forged</reason></moderated></apply-to>",
            mtype="groupchat",
        ).send()
        # (her stanzas reach Alice in order: once this has, the forgery has)
        mallory.stanza(room, "after", mtype="groupchat").send()
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "after")

    assert alice.events.of(MessageRemoved) == []
    now = alice.core.store.get(alice.jid, room, sent.uid, ConversationKind.GROUPCHAT)
    assert now is not None
    assert (now.body, now.removed) == ("mine", False)


async def test_a_displayed_marker_moves_that_occupants_read_position(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "markers")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")

    first = await alice.core.messaging.send(alice.jid, room, "one", kind=ConversationKind.GROUPCHAT)
    second = await alice.core.messaging.send(
        alice.jid, room, "two", kind=ConversationKind.GROUPCHAT
    )
    await said(bob, room, first.uid)
    await said(bob, room, second.uid)
    mine = await said(alice, room, second.uid)
    assert mine.id is not None
    sequence = alice.core.store.message_sequence(mine.id)

    # Bob reads the room: his marker names the room's stanza id of "two", and Alice sees
    # his position move there (her own does not).
    await bob.core.messaging.mark_displayed(room_key(bob.jid, room))
    moved = await alice.events.wait(ReadPositionChanged, lambda e: e.participant == bob.jid)
    assert (moved.key, moved.sequence) == (room_key(alice.jid, room), sequence)
    positions = alice.core.conversations.read_positions(room_key(alice.jid, room))
    assert positions[bob.jid] == sequence
    # Bob's own marker, reflected by the room, is his own reading: his position only.
    assert bob.core.conversations.read_positions(room_key(bob.jid, room)) == {
        bob.jid: bob.core.conversations.own_position(room_key(bob.jid, room))
    }
