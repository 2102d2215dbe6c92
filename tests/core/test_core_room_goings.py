"""Issue 13, the room core alone: someone going out of a room we are in is logged in
its conversation (leave, with the room's reason for a kick or ban), once, and not
while they are still in under another nick (another of their clients)."""

from __future__ import annotations

import asyncio
import json

from core_rig import ME, Core

from chinwag.core.models import (
    STATUS_BANNED,
    STATUS_KICKED,
    STATUS_SELF,
    Affiliation,
    ConversationKey,
    ConversationKind,
    EventKind,
    Role,
    RoomPresence,
)

ROOM = "lounge@rooms.localhost"
BOB = "bob@example.net"
CAROL = "carol@example.net"
KEY = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)


def presence(
    nick: str, jid: str, *codes: int, available: bool = True, reason: str = ""
) -> RoomPresence:
    return RoomPresence(
        ROOM,
        nick,
        available=available,
        role=Role.PARTICIPANT if available else Role.NONE,
        affiliation=Affiliation.OUTCAST if STATUS_BANNED in codes else Affiliation.MEMBER,
        jid=jid,
        codes=frozenset(codes),
        reason=reason,
    )


def goings(rig: Core) -> list[tuple[EventKind, str, str]]:
    return [
        (e.kind, e.author, e.data)
        for e in rig.core.conversations.events(KEY, 0)
        if e.kind in (EventKind.JOIN, EventKind.LEAVE) and e.author != ME
    ]


async def test_a_leave_is_logged_once_and_not_while_another_nick_is_in(rig: Core) -> None:
    task = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
    await asyncio.sleep(0)
    rig.conn.listener.on_room_presence(presence("me", ME, STATUS_SELF))
    await task
    say = rig.conn.listener.on_room_presence
    say(presence("bob", BOB))
    say(presence("bob-phone", BOB))  # the same person from another client
    say(presence("carol", CAROL))
    say(presence("someone", ""))  # no real address: nobody to log
    await rig.core.conversations.drain()
    assert goings(rig) == [(EventKind.JOIN, BOB, ""), (EventKind.JOIN, CAROL, "")]

    say(presence("bob-phone", BOB, available=False))
    say(presence("someone", "", available=False))
    await rig.core.conversations.drain()
    assert len(goings(rig)) == 2  # Bob is still in

    say(presence("bob", BOB, STATUS_KICKED, available=False, reason="too loud"))
    say(presence("carol", CAROL, STATUS_BANNED, available=False))
    await rig.core.conversations.drain()
    assert goings(rig)[2:] == [
        (EventKind.LEAVE, BOB, json.dumps({"reason": "kicked: too loud"})),
        (EventKind.LEAVE, CAROL, json.dumps({"reason": "banned"})),
    ]
