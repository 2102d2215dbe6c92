"""Issue 13: Conversation1's message and participant operations (ConversationOps) over
the rig's Prosody, between Chinwag cores and a slixmpp client: payloads (XEP-0335) both
ways, edits and removals of one's own and others' messages, permissions as the room's
affiliations and roles, Typing, MarkAsRead, Update as the room's configuration, and
the refusals the room makes."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import pytest
from actions_rig import peer
from helpers import eventually, fresh_room

from chinwag.api.conversation_ops import ConversationOps
from chinwag.api.messaging_errors import MessagingError
from chinwag.api.service import Api
from chinwag.core.errors import RoomRefused
from chinwag.core.events import (
    ChatStateChanged,
    InvitationReceived,
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    OccupantChanged,
    ReadPositionChanged,
)
from chinwag.core.models import (
    Affiliation,
    ConversationKey,
    ConversationKind,
    Message,
    Occupant,
    Role,
    RoomListing,
)
from conftest import Client, CoreMaker
from rig.fakes import FakeWindowHost

pytestmark = pytest.mark.prosody

JSON = "urn:xmpp:json:0"


def ops(client: Client) -> ConversationOps:
    return ConversationOps(Api(client.core, FakeWindowHost(client.core)))


def direct(client: Client, other: str) -> ConversationKey:
    return ConversationKey(client.jid, other)


def group(client: Client, room: str) -> ConversationKey:
    return ConversationKey(client.jid, room, ConversationKind.GROUPCHAT)


async def refused(code: int, call: Awaitable[object]) -> MessagingError:
    with pytest.raises(MessagingError) as info:
        await call
    assert info.value.code == code, info.value
    return info.value


async def in_room(client: Client, room: str, uid: str) -> Message:
    """Message ``uid`` as ``client`` has it, once it carries the room's stanza id."""
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


async def test_a_payload_goes_between_two_chinwags_and_a_slixmpp_client(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    sent = await ops(alice).send_message(direct(alice, bob.jid), "card", '[{"type": "card"}]')
    got = await bob.events.wait(MessageAdded, lambda e: e.message.uid == sent.uid)
    assert (got.message.body, got.message.payload) == ("card", '[{"type":"card"}]')
    assert got.message.uuid == sent.uuid  # the same for both parties

    # An edit of the payload alone reaches Bob as a correction with the text kept.
    edited = await ops(alice).edit_message(direct(alice, bob.jid), sent.uuid, None, '[{"n":2}]')
    assert edited.target is not None
    assert edited.target.payload == '[{"n":2}]'
    seen = await bob.events.wait(MessageEdited, lambda e: e.message.uid == sent.uid)
    assert (seen.message.body, seen.message.payload) == ("card", '[{"n":2}]')

    carol_jid, carol_password = prosody.make_user("carol")
    async with peer(prosody, carol_jid, carol_password) as carol:
        await ops(alice).send_message(direct(alice, carol_jid), "for you", '[{"a": [1, 2]}]')
        stanza = await carol.receive()
        container = stanza.xml.find(f"{{{JSON}}}json")
        assert container is not None
        assert json.loads(container.text) == [{"a": [1, 2]}]
        # ... and back, from a client that is not Chinwag.
        uid = carol.send(alice.jid, "reply", f"<json xmlns='{JSON}'>[{{\"ok\": true}}]</json>")
        back = await alice.events.wait(MessageAdded, lambda e: e.message.uid == uid)
        assert back.message.payload == '[{"ok":true}]'
        # Not an array of objects: the text arrives, without a payload.
        uid = carol.send(alice.jid, "odd", f"<json xmlns='{JSON}'>{{\"ok\": true}}</json>")
        odd = await alice.events.wait(MessageAdded, lambda e: e.message.uid == uid)
        assert (odd.message.body, odd.message.payload) == ("odd", "")


async def test_edit_and_remove_in_a_room_own_and_others(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "ops")
    await alice.core.rooms.join(alice.jid, room, "Alice")  # made it: owner, moderator
    await bob.core.rooms.join(bob.jid, room, "Bob")
    a, b = ops(alice), ops(bob)

    mine = await b.send_message(group(bob, room), "bobs", '[{"x": 1}]')
    theirs = await a.send_message(group(alice, room), "alices", "")
    bobs = await in_room(alice, room, mine.uid)
    await in_room(bob, room, mine.uid)
    alices = await in_room(bob, room, theirs.uid)
    assert bobs.payload == '[{"x":1}]'  # (through the room)

    # Others' messages: no edit for anyone; removal for a moderator only.
    await refused(12, a.edit_message(group(alice, room), bobs.uuid, "mine now", None))
    await refused(12, b.remove_message(group(bob, room), alices.uuid))

    # Own: edited (XEP-0308, naming the first id) and seen so by the other.
    own = await in_room(bob, room, mine.uid)
    edited = await b.edit_message(group(bob, room), own.uuid, "bob's", None)
    assert edited.target is not None
    assert edited.target.body == "bob's"
    seen = await alice.events.wait(MessageEdited, lambda e: e.message.uid == mine.uid)
    assert (seen.message.body, seen.message.payload) == ("bob's", '[{"x":1}]')

    # Others' removed by the moderator (XEP-0425): returns once the room announced it.
    outcome = await a.remove_message(group(alice, room), bobs.uuid)
    assert outcome.target is not None
    assert outcome.target.removed
    assert outcome.sequence > 0
    await bob.events.wait(MessageRemoved, lambda e: e.message.uid == mine.uid)
    await refused(11, a.remove_message(group(alice, room), bobs.uuid))
    await refused(11, b.edit_message(group(bob, room), own.uuid, "again", None))

    # Own removed (XEP-0424).
    ours = await in_room(alice, room, theirs.uid)
    await a.remove_message(group(alice, room), ours.uuid)
    await bob.events.wait(MessageRemoved, lambda e: e.message.uid == theirs.uid)


async def test_participants_are_the_rooms_affiliations(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    carol = await cores(prosody, *prosody.make_user("carol"))
    room = fresh_room(prosody, "people")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    a, b = ops(alice), ops(bob)
    key = group(alice, room)

    added = await a.add_participants(key, [{"user": bob.jid}])
    assert [(p.user, p.is_owner, p.can_manage_participants) for p in added.participants] == [
        (bob.jid, False, False)
    ]
    assert added.action == "addParticipants"
    members = await alice.core.rooms.affiliations(alice.jid, room, Affiliation.MEMBER)
    assert members == [bob.jid]
    invited = await bob.events.wait(InvitationReceived, lambda e: e.invitation.room == room)
    assert invited.invitation.inviter == alice.jid
    await refused(13, a.add_participants(key, [{"user": bob.jid}]))
    await refused(13, a.add_participants(key, [{"user": alice.jid}]))  # (the owner)
    await refused(19, a.edit_participants(key, [{"user": carol.jid, "can_write": False}]))
    await refused(19, a.remove_participants(key, [carol.jid]))

    # A member in the room may not manage participants; made an admin, Bob may.
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await refused(12, b.add_participants(group(bob, room), [{"user": carol.jid}]))
    await a.edit_participants(key, [{"user": bob.jid, "can_manage_participants": True}])
    admins = await alice.core.rooms.affiliations(alice.jid, room, Affiliation.ADMIN)
    assert admins == [bob.jid]
    await eventually(lambda: _me(bob, room).affiliation is Affiliation.ADMIN, what="Bob admin")
    await b.add_participants(group(bob, room), [{"user": carol.jid}])
    # Only owners make owners: the room refuses an admin (not-allowed, 12).
    await refused(
        12, b.edit_participants(group(bob, room), [{"user": carol.jid, "is_owner": True}])
    )

    # can_write false: a visitor, who may not write.
    await carol.core.rooms.join(carol.jid, room, "Carol")
    await alice.events.wait(OccupantChanged, lambda e: e.nick == "Carol")
    edited = await a.edit_participants(key, [{"user": carol.jid, "can_write": False}])
    assert [(p.user, p.can_write) for p in edited.participants] == [(carol.jid, False)]
    await eventually(lambda: _me(carol, room).role is Role.VISITOR, what="Carol a visitor")
    await refused(12, ops(carol).send_message(group(carol, room), "let me speak", ""))

    removed = await a.remove_participants(key, [carol.jid])
    assert [p.user for p in removed.participants] == [carol.jid]
    assert await alice.core.rooms.affiliations(alice.jid, room, Affiliation.MEMBER) == []


def _me(client: Client, room: str) -> Occupant:
    found = client.core.rooms.room(client.jid, room)
    assert found is not None
    assert found.me is not None
    return found.me


async def test_update_is_the_rooms_configuration_for_owners(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "update")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await refused(12, ops(bob).update(group(bob, room), {"title": "mine"}))

    done = await ops(alice).update(
        group(alice, room), {"title": "Plans", "custom_data": '{"colour": "blue"}'}
    )
    assert (done.title, done.public_join, done.custom_data) == ("Plans", None, '{"colour":"blue"}')
    (listing,) = await alice.core.rooms.room_details(alice.jid, [RoomListing(room)])
    assert listing.name == "Plans"
    assert json.loads(listing.description) == {"custom_data": {"colour": "blue"}, "uber": False}

    # Not public: members only, and no longer listed.
    await ops(alice).update(group(alice, room), {"public_join": False})
    service = prosody.muc_domain
    page = await alice.core.rooms.list_rooms(alice.jid, service, details=False)
    assert room not in [r.jid for r in page.rooms]
    carol = await cores(prosody, *prosody.make_user("carol"))
    with pytest.raises(RoomRefused) as closed:
        await carol.core.rooms.join(carol.jid, room, "Carol")
    assert closed.value.condition == "registration-required"
    await ops(alice).update(group(alice, room), {"public_join": True})
    page = await alice.core.rooms.list_rooms(alice.jid, service, details=False)
    assert room in [r.jid for r in page.rooms]
    await carol.core.rooms.join(carol.jid, room, "Carol")
    (listing,) = await alice.core.rooms.room_details(alice.jid, [RoomListing(room)])
    assert listing.name == "Plans"  # (what was not changed is kept)


async def test_typing_and_mark_as_read_in_a_room(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "read")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    b = ops(bob)
    b.typing(group(bob, room))
    await alice.events.wait(
        ChatStateChanged, lambda e: e.peer == room and e.nick == "Bob" and e.state == "composing"
    )
    with pytest.raises(MessagingError) as again:
        b.typing(group(bob, room))
    assert again.value.code == 10000

    sent = await ops(alice).send_message(group(alice, room), "read me", "")
    got = await in_room(bob, room, sent.uid)
    assert got.sequence > 0
    last = bob.core.conversations.get(group(bob, room)).last_sequence
    await refused(24, b.mark_as_read(group(bob, room), last + 1))
    assert await b.mark_as_read(group(bob, room), got.sequence) >= got.sequence
    # Alice learns Bob's position from his displayed marker (naming the room's id).
    await alice.events.wait(
        ReadPositionChanged, lambda e: e.participant == bob.jid and e.sequence > 0
    )


async def test_a_direct_message_typing_reaches_the_contact(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    ops(alice).typing(direct(alice, bob.jid))
    await bob.events.wait(
        ChatStateChanged, lambda e: e.peer == alice.jid and e.state == "composing"
    )
