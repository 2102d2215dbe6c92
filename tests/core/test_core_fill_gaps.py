"""Issue 13, RetransmitEvents' gap filling in the core alone (the rig's scripted connection
plays the room's archive): a room we are out of has its archive read after its position
and what is new stored, once; entering the room meanwhile hands over to its catch-up;
an archive that does not answer is waited for only so long."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from core_rig import ME, Core, incoming

from chinwag.core.events import ArchiveSynced
from chinwag.core.models import (
    STATUS_SELF,
    Affiliation,
    ConversationKey,
    ConversationKind,
    Message,
    Origin,
    Role,
    RoomPresence,
)

ROOM = "gaps@rooms.localhost"
KEY = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
POSITION = f"room_archive_position:{ROOM}"


def own(available: bool = True) -> RoomPresence:
    return RoomPresence(
        ROOM,
        "me",
        available=available,
        role=Role.PARTICIPANT if available else Role.NONE,
        affiliation=Affiliation.MEMBER,
        jid=ME,
        codes=frozenset({STATUS_SELF}),
    )


def archived(n: int, at: float) -> Message:
    """The room's archived message number ``n`` (archive id ``a<n>``), by bob."""
    return replace(
        incoming(f"archived {n}", f"m{n}", sender=f"{ROOM}/bob", peer=ROOM),
        kind=ConversationKind.GROUPCHAT,
        sender_resource="bob",
        stanza_id=f"a{n}",
        origin=Origin.ARCHIVE,
        timestamp=at + n,
    )


def fill(rig: Core, first: int, last: int) -> None:
    held = rig.conn.room_archives.setdefault(ROOM, [])
    held += [archived(n, time.time() - 3600) for n in range(first, last + 1)]


def numbers(rig: Core) -> list[int]:
    """The numbers of the room's messages, in the order of the conversation's log."""
    entries = rig.core.conversations.events(KEY, 0, 100)
    stored = [rig.core.store.get_by_id(e.message_id) for e in entries if e.message_id]
    return [int(m.body.split()[1]) for m in stored if m is not None]


async def enter(rig: Core) -> None:
    """Join and wait for the room's catch-up to end."""
    synced = asyncio.Event()
    unsubscribe = rig.core.bus.subscribe(
        ArchiveSynced, lambda e: synced.set() if e.room == ROOM else None
    )
    try:
        task = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
        await asyncio.sleep(0)  # (its first step asks to join)
        rig.conn.listener.on_room_presence(own())
        await task
        async with asyncio.timeout(10):
            await synced.wait()
    finally:
        unsubscribe()


async def leave(rig: Core) -> None:
    await rig.core.rooms.leave(ME, ROOM)
    rig.conn.listener.on_room_presence(own(available=False))


async def test_a_room_we_left_is_read_after_its_position_once(rig: Core) -> None:
    fill(rig, 0, 2)
    await enter(rig)
    await leave(rig)
    fill(rig, 3, 5)
    rig.conn.archive_queries.clear()
    await rig.core.messaging.fill_gaps(KEY)
    assert numbers(rig) == list(range(6))  # the next ones in the log, in order
    assert rig.core.store.get_sync_state(ME, POSITION) == "a5"
    stored = rig.core.store.get_by_stanza_id(KEY, "a4")
    assert stored is not None
    assert stored.timestamp == rig.conn.room_archives[ROOM][4].timestamp  # its own time
    # Again: one page, back to the position; nothing twice; no catch-up announced.
    rig.conn.archive_queries.clear()
    await rig.core.messaging.fill_gaps(KEY)
    assert [q[1] for q in rig.conn.archive_queries] == [""]
    assert numbers(rig) == list(range(6))
    assert len([e for e in rig.of(ArchiveSynced) if e.room == ROOM]) == 1


async def test_entering_the_room_meanwhile_hands_the_fill_over_to_its_catch_up(
    rig: Core,
) -> None:
    fill(rig, 0, 2)
    await enter(rig)
    await leave(rig)
    fill(rig, 3, 5)
    asked = [asyncio.Event(), asyncio.Event()]
    release = [asyncio.Event(), asyncio.Event()]

    async def held(room: str, before: str) -> None:
        n = len(rig.conn.archive_queries) - 1  # the fill's query, then the catch-up's
        if n < len(asked):
            asked[n].set()
            await release[n].wait()

    rig.conn.archive_hook = held
    rig.conn.archive_queries.clear()
    filling = asyncio.create_task(rig.core.messaging.fill_gaps(KEY))
    await asked[0].wait()
    joined = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
    await asyncio.sleep(0)  # (its first step asks to join)
    rig.conn.listener.on_room_presence(own())
    await joined
    await asked[1].wait()  # the catch-up reads now (the fill's read is cancelled)
    release[1].set()
    await filling  # ... once the catch-up is over
    assert numbers(rig) == list(range(6))
    assert rig.core.store.get_sync_state(ME, POSITION) == "a5"


async def test_an_archive_that_does_not_answer_leaves_the_log_as_it_is(rig: Core) -> None:
    fill(rig, 0, 2)
    await enter(rig)
    await leave(rig)
    fill(rig, 3, 5)
    never = asyncio.Event()

    async def silent(room: str, before: str) -> None:
        await never.wait()

    rig.conn.archive_hook = silent
    rig.core.messaging.fill_gaps_timeout = 0.05
    await rig.core.messaging.fill_gaps(KEY)  # returns: served as stored
    assert numbers(rig) == list(range(3))
    assert rig.core.store.get_sync_state(ME, POSITION) == "a2"
    # When it answers later, the next ask finds its work done.
    rig.conn.archive_hook = None
    never.set()
    rig.core.messaging.fill_gaps_timeout = 10.0
    await rig.core.messaging.fill_gaps(KEY)
    assert numbers(rig) == list(range(6))
