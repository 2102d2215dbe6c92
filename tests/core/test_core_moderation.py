"""Issue 12, the core alone (the rig's scripted connection plays the room): moderation
(XEP-0425) asked only as a moderator, the room's announcement removing anyone's message
while the same from an occupant or in a direct conversation does nothing, and displayed
markers in a room moving the position of whoever sent them (ours, reflected, ours)."""

from __future__ import annotations

import asyncio
import json

import pytest
from core_rig import BOB, ME, Core, incoming

from chinwag.core.errors import RoomRefused
from chinwag.core.events import MessageRemoved, ReadPositionChanged
from chinwag.core.models import (
    STATUS_SELF,
    Affiliation,
    ConversationKey,
    ConversationKind,
    EventKind,
    Message,
    MessageState,
    Role,
    RoomPresence,
)

ROOM = "lounge@rooms.localhost"
KEY = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)


async def enter(rig: Core, role: Role) -> None:
    task = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
    await asyncio.sleep(0)  # (the join is asked before anything is awaited)
    rig.conn.listener.on_room_presence(
        RoomPresence(
            ROOM,
            "me",
            role=role,
            affiliation=Affiliation.MEMBER,
            jid=ME,
            codes=frozenset({STATUS_SELF}),
        )
    )
    await task


def said(body: str, uid: str, stanza_id: str, nick: str = "Bob") -> Message:
    return incoming(
        body,
        uid,
        sender=f"{ROOM}/{nick}",
        peer=ROOM,
        kind=ConversationKind.GROUPCHAT,
        sender_resource=nick,
        stanza_id=stanza_id,
    )


def moderation(uid: str, stanza_id: str, nick: str = "") -> Message:
    """The room's announcement (``nick`` "") or an occupant's forgery of one."""
    return incoming(
        "",
        uid,
        sender=f"{ROOM}/{nick}" if nick else ROOM,
        peer=ROOM,
        kind=ConversationKind.GROUPCHAT,
        sender_resource=nick,
        retracts=stanza_id,
        moderated_by=f"{ROOM}/Mod",
        moderation_reason="off topic",
    )


async def test_only_a_moderator_asks_the_room(rig: Core) -> None:
    await enter(rig, Role.PARTICIPANT)
    await rig.receive(said("hello", "u1", "s1"))
    (target,) = rig.core.store.latest(KEY, 10)
    with pytest.raises(RoomRefused, match="only a moderator") as refused:
        await rig.core.messaging.moderate(target, "why")
    assert refused.value.condition == "forbidden"
    assert [r for r in rig.conn.room_requests if r[0] == "moderate"] == []

    await enter(rig, Role.MODERATOR)  # (made a moderator: the room's presence says so)
    await rig.core.messaging.moderate(target, "why")
    assert [r for r in rig.conn.room_requests if r[0] == "moderate"] == [
        ("moderate", ROOM, "s1", "why")
    ]


async def test_the_rooms_announcement_removes_an_occupants_forgery_does_not(rig: Core) -> None:
    await enter(rig, Role.PARTICIPANT)
    await rig.receive(said("one", "u1", "s1"), said("two", "u2", "s2"))
    await rig.receive(moderation("m1", "s1", nick="Mallory"))  # forged: dropped
    await rig.receive(moderation("m2", "s2"))
    removed = rig.of(MessageRemoved)
    assert [e.message.uid for e in removed] == ["u2"]
    assert {m.uid: m.removed for m in rig.core.store.latest(KEY, 10)} == {
        "u1": False,
        "u2": True,
    }
    (event,) = [e for e in rig.core.conversations.events(KEY, 0) if e.kind is EventKind.REMOVE]
    assert event.author == ROOM
    assert json.loads(event.data) == {"moderated_by": f"{ROOM}/Mod", "reason": "off topic"}


async def test_a_moderation_in_a_direct_conversation_is_refused(rig: Core) -> None:
    await rig.receive(incoming("mine", "c1"))
    await rig.receive(incoming("", "c2", retracts="c1", moderated_by=BOB))
    assert rig.of(MessageRemoved) == []
    assert [(m.body, m.removed) for m in rig.history()] == [("mine", False)]


async def test_markers_in_a_room_move_the_senders_position(rig: Core) -> None:
    await enter(rig, Role.PARTICIPANT)
    await rig.receive(said("one", "u1", "s1"), said("two", "u2", "s2"))
    first, second = rig.core.store.latest(KEY, 10)
    assert first.id is not None
    assert second.id is not None
    listener = rig.conn.listener
    listener.on_displayed("s1", ROOM, False, ConversationKind.GROUPCHAT, "Bob", "")
    listener.on_displayed("s2", ROOM, False, ConversationKind.GROUPCHAT, "me", "")  # ours
    await rig.core.messaging.drain()
    positions = rig.core.conversations.read_positions(KEY)
    assert positions == {
        ME: rig.core.store.message_sequence(second.id),
        f"{ROOM}/Bob": rig.core.store.message_sequence(first.id),
    }
    assert {(e.participant, e.sequence) for e in rig.of(ReadPositionChanged)} == set(
        positions.items()
    )
    assert [m.state for m in rig.core.store.latest(KEY, 10)] == [MessageState.DISPLAYED] * 2
