"""Issue 12, the room core alone (the rig's scripted connection plays the room): joining
and the room's answers, a taken nick, being kicked or the room destroyed, joining again
after a new session, and a room's messages waiting until we are in."""

from __future__ import annotations

import asyncio

import pytest
from core_rig import ME, Core

from chinwag.core.errors import RoomRefused
from chinwag.core.events import RoomLeft
from chinwag.core.models import (
    STATUS_CREATED,
    STATUS_KICKED,
    STATUS_SELF,
    Affiliation,
    ConversationKind,
    Role,
    RoomPresence,
    RoomState,
)

ROOM = "lounge@rooms.localhost"


def own(nick: str, *codes: int, available: bool = True, reason: str = "") -> RoomPresence:
    return RoomPresence(
        ROOM,
        nick,
        available=available,
        role=Role.PARTICIPANT if available else Role.NONE,
        affiliation=Affiliation.MEMBER,
        jid=ME,
        codes=frozenset({STATUS_SELF, *codes}),
        reason=reason,
    )


async def joining(rig: Core, nick: str = "me") -> asyncio.Task[object]:
    task = asyncio.create_task(rig.core.rooms.join(ME, ROOM, nick))
    # (the task's first step asks to join, with nothing awaited before it)
    await asyncio.sleep(0)
    assert [r[0] for r in rig.conn.room_requests] == ["join"]
    return task


async def test_a_taken_nick_is_tried_again_then_the_room_lets_us_in(rig: Core) -> None:
    task = await joining(rig, "me")
    rig.conn.listener.on_room_error(ROOM, "conflict", "")
    rig.conn.listener.on_room_error(ROOM, "conflict", "")
    assert [r[2] for r in rig.conn.room_requests] == ["me", "me_", "me__"]
    rig.conn.listener.on_room_presence(own("me__"))
    room = await task
    assert (room.state, room.nick) == (RoomState.JOINED, "me__")  # type: ignore[attr-defined]


async def test_a_refusal_is_named(rig: Core) -> None:
    task = await joining(rig)
    rig.conn.listener.on_room_error(ROOM, "registration-required", "members only")
    with pytest.raises(RoomRefused) as refused:
        await task
    assert refused.value.condition == "registration-required"
    assert "members only" in str(refused.value)
    assert rig.core.rooms.room(ME, ROOM).state is RoomState.FAILED  # type: ignore[union-attr]


async def test_a_room_made_by_our_join_is_configured_before_we_are_in(rig: Core) -> None:
    task = await joining(rig)
    rig.conn.listener.on_room_presence(own("me", STATUS_CREATED))
    room = await task
    configured = [r for r in rig.conn.room_requests if r[0] == "configure"]
    assert len(configured) == 1
    assert "muc#roomconfig_whois': 'anyone" in configured[0][2]
    assert room.created  # type: ignore[attr-defined]


async def test_kicked_says_why_and_a_new_session_does_not_join_again(rig: Core) -> None:
    task = await joining(rig)
    rig.conn.listener.on_room_presence(own("me"))
    await task
    rig.conn.listener.on_room_presence(own("me", STATUS_KICKED, available=False, reason="spamming"))
    (left,) = rig.of(RoomLeft)
    assert left.reason == "kicked: spamming"
    assert not rig.core.rooms.is_joined(ME, ROOM)


async def test_a_room_is_joined_again_after_a_new_session_and_its_outbox_waits(
    rig: Core,
) -> None:
    task = await joining(rig)
    rig.conn.listener.on_room_presence(own("me"))
    await task
    first = rig.conn
    first.listener.on_disconnected(None)
    # While out of the room (reconnecting), a message to it waits in the outbox.
    queued = await rig.core.messaging.send(ME, ROOM, "later", kind=ConversationKind.GROUPCHAT)
    first.listener.on_session_started(False)
    assert [r[0] for r in first.room_requests] == ["join", "join"]  # joined again
    assert [m.uid for m in first.sent if m.uid == queued.uid] == []  # not yet: not in
    first.listener.on_room_presence(own("me"))
    assert [m.uid for m in first.sent if m.uid == queued.uid] == [queued.uid]


async def test_the_answer_to_a_leave_does_not_end_the_next_visit(rig: Core) -> None:
    task = await joining(rig)
    rig.conn.listener.on_room_presence(own("me"))
    await task
    await rig.core.rooms.leave(ME, ROOM)
    again = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
    await asyncio.sleep(0)  # (its first step asks to join)
    # The room answers the leave only now, then lets us in again.
    rig.conn.listener.on_room_presence(own("me", available=False))
    assert not again.done()
    rig.conn.listener.on_room_presence(own("me"))
    room = await again
    assert room.state is RoomState.JOINED  # type: ignore[attr-defined]
