"""Issue 11: nothing in the core assumes one-to-one chat. A room's message (kind
GROUPCHAT) goes through the same pipeline into the room's own conversation, never the
chat with that address; until room support joins a room, the rooms stage drops them all
(and sends no receipt); markers and chat states carry the conversation's kind."""

from __future__ import annotations

from dataclasses import replace

from core_rig import ME, Core, incoming

from chinwag.core.events import ChatStateChanged, MessageAdded
from chinwag.core.inbound_stages import RoomsJoined
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Message,
    direct_message_uuid,
    room_message_uuid,
)

ROOM = "lounge@rooms.example.org"
OCCUPANT = f"{ROOM}/carol"


def room_message(body: str, uid: str, stanza_id: str = "") -> Message:
    return replace(
        incoming(body, uid, sender=OCCUPANT, peer=ROOM),
        kind=ConversationKind.GROUPCHAT,
        sender_resource="carol",
        stanza_id=stanza_id,
    )


async def test_a_rooms_message_is_dropped_while_we_are_in_no_room(rig: Core) -> None:
    await rig.receive(room_message("hello room", "r1"), incoming("hello", "c1", peer=ROOM))
    room = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    assert rig.core.store.latest(room, 10) == []
    # The chat with the same address has only its own message: a room's never lands there.
    assert [m.uid for m in rig.history(ROOM)] == ["c1"]
    assert [e.message.uid for e in rig.of(MessageAdded)] == ["c1"]


async def test_a_joined_rooms_message_is_stored_in_the_rooms_conversation(rig: Core) -> None:
    rig.core.messaging.inbound.remove("rooms")
    rig.core.messaging.inbound.add(RoomsJoined(lambda account, room: room == ROOM))
    await rig.receive(room_message("hello room", "r1", stanza_id="room-sid-1"))
    room = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    (stored,) = rig.core.store.latest(room, 10)
    assert (stored.body, stored.sender, stored.sender_resource) == ("hello room", OCCUPANT, "carol")
    assert rig.history(ROOM) == []
    # Its uuid is the room's formula (the room's stanza id), not the direct one.
    assert stored.uuid == room_message_uuid(ROOM, "room-sid-1")
    assert stored.uuid != direct_message_uuid(OCCUPANT, "r1")
    info = rig.core.conversations.get(room)
    assert (info.direct, info.last_sequence) == (False, 1)


async def test_chat_states_say_whose_conversation_they_are(rig: Core) -> None:
    # A room's chat state is an occupant's, and only of a room we are in (the room
    # window's tests follow who is typing there); this one is not.
    rig.conn.listener.on_chat_state(ROOM, "composing", kind=ConversationKind.GROUPCHAT, nick="al")
    rig.conn.listener.on_chat_state(ROOM, "paused")
    assert [(e.peer, e.state, e.kind) for e in rig.of(ChatStateChanged)] == [
        (ROOM, "paused", ConversationKind.CHAT),
    ]
