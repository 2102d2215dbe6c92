"""Issue 12, group chat: rooms (XEP-0045) through the rig's real Prosody and its MUC
service, with three Chinwag cores as occupants. A room made by joining is configured
(persistent, non-anonymous) before anyone is let in; messages carry their author's real
address, never the nick; our own message, reflected by the room, is one message of ours
with the room's stanza id."""

from __future__ import annotations

from typing import Any

import pytest
from actions_rig import peer
from helpers import eventually, fresh_room

from chinwag.core.errors import InvalidAddress, RoomRefused
from chinwag.core.events import (
    ArchiveSynced,
    MessageAdded,
    MessageStateChanged,
    OccupantChanged,
    OwnNickChanged,
    RoomJoined,
    RoomLeft,
    RoomSubjectChanged,
)
from chinwag.core.models import (
    Affiliation,
    ConversationKey,
    ConversationKind,
    Direction,
    MessageState,
    Role,
    RoomState,
    room_message_uuid,
)
from conftest import CoreMaker

pytestmark = pytest.mark.prosody

MUC = "http://jabber.org/protocol/muc"


def room_key(account: str, room: str) -> ConversationKey:
    return ConversationKey(account, room, ConversationKind.GROUPCHAT)


async def test_three_occupants_chat_in_a_room_made_by_joining(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    carol = await cores(prosody, *prosody.make_user("carol"))
    room = fresh_room(prosody, "lounge")

    made = await alice.core.rooms.join(alice.jid, room, "Alice")
    assert (made.state, made.created, made.nick) == (RoomState.JOINED, True, "Alice")
    joined = await alice.events.wait(RoomJoined)
    assert (joined.room, joined.created) == (room, True)
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await carol.core.rooms.join(carol.jid, room, "Carol")

    # Everyone sees everyone, with their real address (the room is non-anonymous).
    def seen(client: Any) -> dict[str, str]:
        found = client.core.rooms.room(client.jid, room)
        return {nick: o.jid for nick, o in found.occupants.items()}

    await eventually(lambda: seen(alice) == {"Bob": bob.jid, "Carol": carol.jid}, what="occupants")
    await eventually(lambda: seen(carol) == {"Alice": alice.jid, "Bob": bob.jid}, what="occupants")

    sent = await alice.core.messaging.send(
        alice.jid, room, "hello room", kind=ConversationKind.GROUPCHAT
    )
    got = await bob.events.wait(MessageAdded, lambda e: e.message.body == "hello room")
    message = got.message
    assert (message.kind, message.peer, message.direction) == (
        ConversationKind.GROUPCHAT,
        room,
        Direction.INCOMING,
    )
    assert (message.sender, message.sender_resource) == (alice.jid, "Alice")  # never the nick
    assert message.stanza_id  # the room's
    assert message.uuid == room_message_uuid(room, message.stanza_id)
    await carol.events.wait(MessageAdded, lambda e: e.message.uid == sent.uid)

    # Ours, reflected by the room: one message, sent, with the room's stanza id and the
    # same uuid everyone else computes.
    await alice.events.wait(
        MessageStateChanged,
        lambda e: e.message.uid == sent.uid and e.message.state is MessageState.SENT,
    )

    def ours() -> Any:
        return alice.core.store.latest(room_key(alice.jid, room), 10)

    await eventually(lambda: [m.stanza_id for m in ours()] == [message.stanza_id], what="ids")
    (mine,) = ours()
    assert (mine.direction, mine.body, mine.uuid) == (
        Direction.OUTGOING,
        "hello room",
        message.uuid,
    )
    assert [m.body for m in bob.core.store.latest(room_key(bob.jid, room), 10)] == ["hello room"]
    # The room's conversation is its own, not a chat with the room's address.
    assert alice.core.store.latest(ConversationKey(alice.jid, room), 10) == []

    # Bob leaves: the others see him go.
    await bob.core.rooms.leave(bob.jid, room)
    gone = await alice.events.wait(
        OccupantChanged, lambda e: e.nick == "Bob" and e.occupant is None
    )
    assert gone.previous is not None
    assert gone.previous.jid == bob.jid
    assert bob.core.rooms.room(bob.jid, room).state is RoomState.LEFT  # type: ignore[union-attr]


async def test_a_taken_nick_gets_another_and_a_bad_room_a_named_error(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    dave = await cores(prosody, *prosody.make_user("dave"))
    room = fresh_room(prosody, "busy")
    await alice.core.rooms.join(alice.jid, room, "Sam")
    joined = await dave.core.rooms.join(dave.jid, room, "Sam")
    assert joined.nick == "Sam_"
    assert set(alice.core.rooms.room(alice.jid, room).occupants) == {"Sam_"}  # type: ignore[union-attr]

    with pytest.raises(RoomRefused) as refused:
        await dave.core.rooms.join(dave.jid, "nowhere@no-such-service.invalid", "Dave")
    # (the rig has no server-to-server: Prosody says so with not-allowed)
    assert refused.value.condition in ("remote-server-not-found", "not-allowed")
    assert "remote domains" in str(refused.value)  # the server's own words go with it
    with pytest.raises(InvalidAddress):
        await dave.core.rooms.join(dave.jid, "not a room", "Dave")


async def test_the_subject_reaches_everyone_in_the_room(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "topics")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    alice.core.rooms.set_subject(alice.jid, room, "Plans for Thursday")
    got = await bob.events.wait(RoomSubjectChanged, lambda e: e.subject == "Plans for Thursday")
    assert (got.room, got.by) == (room, "Alice")
    assert bob.core.rooms.room(bob.jid, room).subject == "Plans for Thursday"  # type: ignore[union-attr]
    # A subject is not a message: nothing in either history.
    assert bob.core.store.latest(room_key(bob.jid, room), 10) == []


async def test_kick_ban_and_permissions_are_seen_on_both_sides(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    carol = await cores(prosody, *prosody.make_user("carol"))
    room = fresh_room(prosody, "strict")
    await alice.core.rooms.join(alice.jid, room, "Alice")  # the owner (she made it)
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await carol.core.rooms.join(carol.jid, room, "Carol")

    # Bob is no moderator: the room refuses, and says so by name.
    with pytest.raises(RoomRefused) as refused:
        await bob.core.rooms.set_role(bob.jid, room, "Carol", Role.NONE, "go away")
    assert refused.value.condition == "not-allowed"
    assert carol.core.rooms.is_joined(carol.jid, room)

    await alice.core.rooms.set_role(alice.jid, room, "Carol", Role.NONE, "calm down")
    left = await carol.events.wait(RoomLeft)
    assert left.reason == "kicked: calm down"
    await alice.events.wait(OccupantChanged, lambda e: e.nick == "Carol" and e.occupant is None)

    await alice.core.rooms.set_affiliation(alice.jid, room, bob.jid, Affiliation.OUTCAST, "spam")
    left = await bob.events.wait(RoomLeft)
    assert left.reason == "banned: spam"
    with pytest.raises(RoomRefused) as banned:
        await bob.core.rooms.join(bob.jid, room, "Bob")
    assert banned.value.condition == "forbidden"


async def test_a_nick_change_and_a_room_destroyed(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "renames")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")

    with pytest.raises(RoomRefused) as taken:
        await bob.core.rooms.change_nick(bob.jid, room, "Alice")
    assert taken.value.condition == "conflict"
    renamed = await bob.core.rooms.change_nick(bob.jid, room, "Robert")
    assert renamed.nick == "Robert"
    assert (await bob.events.wait(OwnNickChanged)).nick == "Robert"
    went = await alice.events.wait(
        OccupantChanged, lambda e: e.nick == "Bob" and e.occupant is None
    )
    assert went.renamed == "Robert"
    await alice.events.wait(
        OccupantChanged, lambda e: e.nick == "Robert" and e.occupant is not None
    )

    await alice.core.rooms.destroy(alice.jid, room, "moving elsewhere")
    left = await bob.events.wait(RoomLeft)
    assert "moving elsewhere" in left.reason
    assert not bob.core.rooms.is_joined(bob.jid, room)


async def test_history_comes_from_the_rooms_archive_without_duplicates(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "archive")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    first = await alice.core.messaging.send(alice.jid, room, "one", kind=ConversationKind.GROUPCHAT)
    await bob.events.wait(MessageAdded, lambda e: e.message.uid == first.uid)
    await bob.core.rooms.leave(bob.jid, room)
    for text in ("two", "three"):
        await alice.core.messaging.send(alice.jid, room, text, kind=ConversationKind.GROUPCHAT)
    bob_mine = await bob.core.messaging.send(bob.jid, room, "back", kind=ConversationKind.GROUPCHAT)
    # (queued: Bob is not in the room; it goes once he is)

    await bob.core.rooms.join(bob.jid, room, "Bob")
    await bob.events.wait(ArchiveSynced, lambda e: e.room == room)

    def texts(client: Any) -> list[tuple[str, Direction]]:
        stored = client.core.store.latest(room_key(client.jid, room), 20)
        return [(m.body, m.direction) for m in stored]

    # What Bob missed came from the archive; what he had live is not there twice; his
    # own message went once he was in, and is one message of his.
    # ("back" was dated when Bob wrote it, before the room took "two": by time it may
    # come before them; what counts is each message once)
    await eventually(
        lambda: (
            sorted(texts(bob))
            == [
                ("back", Direction.OUTGOING),
                ("one", Direction.INCOMING),
                ("three", Direction.INCOMING),
                ("two", Direction.INCOMING),
            ]
        ),
        what="Bob's history",
    )
    await alice.events.wait(MessageAdded, lambda e: e.message.uid == bob_mine.uid)

    # Someone new gets the room's recent history on entering.
    carol = await cores(prosody, *prosody.make_user("carol"))
    await carol.core.rooms.join(carol.jid, room, "Carol")
    await carol.events.wait(ArchiveSynced, lambda e: e.room == room)
    assert sorted(b for b, _ in texts(carol)) == ["back", "one", "three", "two"]
    senders = {m.body: m.sender for m in carol.core.store.latest(room_key(carol.jid, room), 20)}
    assert senders["back"] == bob.jid  # the author, also from the archive


async def test_a_rooms_history_comes_newest_page_first_then_back_to_where_we_were(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    room = fresh_room(prosody, "paged")
    await alice.core.rooms.join(alice.jid, room, "Alice")

    async def say(*texts: str) -> None:
        for text in texts:
            await alice.core.messaging.send(alice.jid, room, text, kind=ConversationKind.GROUPCHAT)
        # Archived once the room has reflected every one (the room's stanza id on each).
        await eventually(
            lambda: all(
                m.stanza_id for m in alice.core.store.latest(room_key(alice.jid, room), 500)
            ),
            what="the room's reflections",
        )

    def added(since: int) -> list[str]:
        """Bob's room messages as they were stored, after the first ``since``."""
        got = bob.events.of(MessageAdded, lambda e: e.message.peer == room)
        return [e.message.body for e in got][since:]

    await say(*(f"early {n}" for n in range(120)))
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await bob.events.wait(ArchiveSynced, lambda e: e.room == room)
    # The newest page (the server's 50) first, in order, then the older pages back.
    early = [f"early {n}" for n in range(120)]
    assert added(0) == early[70:] + early[20:70] + early[:20]

    await bob.core.rooms.leave(bob.jid, room)
    await say(*(f"later {n}" for n in range(70)))
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await eventually(
        lambda: len(bob.events.of(ArchiveSynced, lambda e: e.room == room)) == 2,
        what="the second catch-up",
    )
    later = [f"later {n}" for n in range(70)]
    # Back to where Bob was, and no further; nothing twice.
    assert added(120) == later[20:] + later[:20]
    stored = bob.core.store.latest(room_key(bob.jid, room), 500)
    assert sorted(m.body for m in stored) == sorted(early + later)
    newest = alice.core.store.latest(room_key(alice.jid, room), 1)[0]
    position = bob.core.store.get_sync_state(bob.jid, f"room_archive_position:{room}")
    assert (newest.body, position) == ("later 69", newest.stanza_id)


async def test_bookmarked_rooms_are_joined_on_sign_in(prosody: Any, cores: CoreMaker) -> None:
    jid, password = prosody.make_user("alice")
    first = await cores(prosody, jid, password)
    room = fresh_room(prosody, "bookmarked")
    other = fresh_room(prosody, "notjoined")
    await first.core.bookmarks.add(jid, room, name="Our room", nick="Al", autojoin=True)
    await first.core.bookmarks.add(jid, other, name="Later", autojoin=False)
    # Another Chinwag of the same account signs in: it joins what is marked autojoin.
    second = await cores(prosody, jid, password)
    joined = await second.events.wait(RoomJoined, lambda e: e.room == room)
    assert joined.nick == "Al"
    assert second.core.rooms.is_joined(jid, room)
    assert second.core.rooms.room(jid, other) is None


async def test_a_huge_nick_and_subject_are_taken_in_stride(prosody: Any, cores: CoreMaker) -> None:
    """A nick of 1,000 characters and a subject of 250 kB from another occupant: the
    occupant is known by the nick the room's messages carry (whole), their message is
    theirs, and the subject is kept, cut to a sensible length."""
    alice = await cores(prosody, *prosody.make_user("alice"))
    room = fresh_room(prosody, "big")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    nick = "n" * 1000
    loud_jid, loud_password = prosody.make_user("loud")
    async with peer(prosody, loud_jid, loud_password) as loud:
        presence = loud.client.make_presence(pto=f"{room}/{nick}")
        presence.xml.append(presence.xml.makeelement(f"{{{MUC}}}x", {}))
        presence.send()
        await alice.events.wait(OccupantChanged, lambda e: e.nick == nick)
        # (only a moderator may change the subject here)
        await alice.core.rooms.set_role(alice.jid, room, nick, Role.MODERATOR)
        subject = loud.client.make_message(mto=room, mtype="groupchat")
        subject["subject"] = "s" * 250_000
        subject.send()
        loud.client.send_message(mto=room, mbody="hello from far away", mtype="groupchat")
        got = await alice.events.wait(
            MessageAdded, lambda e: e.message.body == "hello from far away"
        )
    assert (got.message.sender, got.message.sender_resource) == (loud_jid, nick)
    changed = await alice.events.wait(RoomSubjectChanged)
    assert changed.by == nick
    assert 0 < len(changed.subject) <= 16_384


async def test_rooms_are_joined_again_after_a_server_restart(
    prosody_own: Any, cores: CoreMaker
) -> None:
    """No stream survives the restart (no resumption): each core enters its rooms again
    by itself; the room, made persistent when it was made, is still there."""
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    bob = await cores(server, *server.make_user("bob"))
    room = fresh_room(server, "sturdy")
    await alice.core.rooms.join(alice.jid, room, "Alice")
    await bob.core.rooms.join(bob.jid, room, "Bob")
    await server.arestart()
    for client in (alice, bob):
        await client.events.wait(
            RoomJoined,
            lambda e, c=client: e.room == room and not e.created and _second(c, e),
            timeout=60,
        )
    sent = await alice.core.messaging.send(
        alice.jid, room, "still here", kind=ConversationKind.GROUPCHAT
    )
    got = await bob.events.wait(MessageAdded, lambda e: e.message.uid == sent.uid, timeout=30)
    assert got.message.sender == alice.jid


def _second(client: Any, event: RoomJoined) -> bool:
    """True from the second time the client entered the room."""
    return len(client.events.of(RoomJoined, lambda e: e.room == event.room)) >= 2
