"""Issue 12, the room core alone (the rig's scripted connection plays the room): joining
and the room's answers, a taken nick, being kicked or the room destroyed, joining again
after a new session, a room's messages waiting until we are in, and the room's history
read newest page first, then back to where we were (also after a catch-up cut short)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from core_rig import ME, Core, incoming

from chinwag.core import messaging
from chinwag.core.errors import RequestRefused, RoomRefused
from chinwag.core.events import ArchiveSynced, RoomLeft
from chinwag.core.models import (
    STATUS_CREATED,
    STATUS_KICKED,
    STATUS_SELF,
    Affiliation,
    ConversationKey,
    ConversationKind,
    Message,
    Origin,
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


# -- the room's history: newest page first, then back to where we were -------------------


def archived(n: int, at: float) -> Message:
    """The room's archived message number ``n`` (its archive id ``a<n>``)."""
    return replace(
        incoming(f"archived {n}", f"m{n}", sender=f"{ROOM}/bob", peer=ROOM),
        kind=ConversationKind.GROUPCHAT,
        sender_resource="bob",
        stanza_id=f"a{n}",
        origin=Origin.ARCHIVE,
        timestamp=at + n,
    )


def fill(rig: Core, first: int, last: int) -> None:
    """The room's archive takes messages ``first`` .. ``last`` (a minute ago on)."""
    held = rig.conn.room_archives.setdefault(ROOM, [])
    held += [archived(n, time.time() - 3600) for n in range(first, last + 1)]


def numbers(rig: Core) -> list[int]:
    """The numbers of the room's archived messages stored, oldest first."""
    key = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    stored = rig.core.store.latest(key, 10_000)
    return [int(m.body.split()[1]) for m in stored if m.body.startswith("archived ")]


async def entered(rig: Core) -> ArchiveSynced:
    """Join (or join again) and wait for the room's catch-up to end."""
    synced: asyncio.Future[ArchiveSynced] = asyncio.get_running_loop().create_future()

    def once(event: ArchiveSynced) -> None:
        if event.room == ROOM and not synced.done():
            synced.set_result(event)

    unsubscribe = rig.core.bus.subscribe(ArchiveSynced, once)
    try:
        task = asyncio.create_task(rig.core.rooms.join(ME, ROOM, "me"))
        await asyncio.sleep(0)  # (its first step asks to join)
        rig.conn.listener.on_room_presence(own("me"))
        await task
        async with asyncio.timeout(10):
            return await synced
    finally:
        unsubscribe()


async def test_the_newest_page_is_stored_first_and_a_first_visit_reads_only_a_few_pages(
    rig: Core,
) -> None:
    fill(rig, 0, 999)
    seen_when_asked: dict[str, list[int]] = {}

    async def hook(room: str, before: str) -> None:
        if not before:  # the newest, live, just before the archive answers with it too
            await rig.receive(replace(rig.conn.room_archives[ROOM][-1], origin=Origin.LIVE))
        seen_when_asked[before] = numbers(rig)

    rig.conn.archive_hook = hook
    done = await entered(rig)

    # The first query is for the last page (an empty <before/>): 50, the window's page.
    assert rig.conn.archive_queries[0] == (ROOM, "", messaging.ROOM_NEWEST_PAGE)
    # When the next page is asked for, the newest 50 are stored, and only they.
    assert seen_when_asked["a950"] == list(range(950, 1000))
    # Then back from it, page by page, up to the first visit's cap (not the whole room).
    assert [q[1] for q in rig.conn.archive_queries] == ["", "a950"]
    cap = messaging.ROOM_FIRST_VISIT_RESULTS
    assert numbers(rig) == list(range(1000 - messaging.ROOM_NEWEST_PAGE - 250, 1000))
    assert len(numbers(rig)) >= cap
    assert done.count == len(numbers(rig)) - 1  # each once: the live one came first
    assert rig.core.store.get_sync_state(ME, f"room_archive_position:{ROOM}") == "a999"
    assert len([e for e in rig.of(ArchiveSynced) if e.room == ROOM]) == 1


async def test_a_catch_up_cut_short_is_resumed_without_a_gap_or_reading_twice(
    rig: Core,
) -> None:
    fill(rig, 0, 9)
    await entered(rig)
    assert numbers(rig) == list(range(10))
    position = f"room_archive_position:{ROOM}"
    assert rig.core.store.get_sync_state(ME, position) == "a9"
    await rig.core.rooms.leave(ME, ROOM)
    rig.conn.listener.on_room_presence(own("me", available=False))

    # Away, the room got 600 more; the catch-up breaks after two pages.
    fill(rig, 10, 609)

    async def breaks(room: str, before: str) -> None:
        if len(rig.conn.archive_queries) == 3:
            raise RequestRefused("the server did not answer", "timeout")

    rig.conn.archive_hook = breaks
    rig.conn.archive_queries.clear()
    cut = await entered(rig)
    assert [q[1] for q in rig.conn.archive_queries] == ["", "a560", "a310"]
    assert cut.count == 300
    assert numbers(rig) == [*range(10), *range(310, 610)]
    # The position stays where there is no gap below it; what was read is remembered.
    assert rig.core.store.get_sync_state(ME, position) == "a9"
    # A live message meanwhile does not move it past the gap either.
    live = replace(archived(700, time.time()), origin=Origin.LIVE)
    await rig.receive(live)
    await rig.core.messaging.drain()  # (the position's write, were there one)
    assert rig.core.store.get_sync_state(ME, position) == "a9"
    await rig.core.rooms.leave(ME, ROOM)
    rig.conn.listener.on_room_presence(own("me", available=False))

    # Next time: the newest page, then straight on below what the last one stored.
    fill(rig, 610, 614)
    rig.conn.archive_hook = None
    rig.conn.archive_queries.clear()
    done = await entered(rig)
    assert [q[1] for q in rig.conn.archive_queries] == ["", "a310", "a60"]
    assert numbers(rig) == [*range(615), 700]  # every one, once
    assert done.count == 5 + 300
    assert rig.core.store.get_sync_state(ME, position) == "a614"
    assert not rig.core.store.get_sync_state(ME, f"room_archive_run:{ROOM}")
    # Caught up now: a live message moves the position.
    await rig.receive(replace(archived(701, time.time()), origin=Origin.LIVE))
    await rig.core.messaging.drain()
    assert rig.core.store.get_sync_state(ME, position) == "a701"


async def test_removals_and_reactions_read_before_their_older_target_are_kept(
    rig: Core,
) -> None:
    # Read newest first, a removal and a reaction come before the messages they name.
    fill(rig, 0, 119)
    base = time.time() - 3600
    held = rig.conn.room_archives[ROOM]
    held.append(replace(archived(120, base), body="", retracts="a10"))
    held.append(replace(archived(121, base), body="", reacts_to="a20", reactions=("\U0001f44d",)))
    await entered(rig)
    key = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    by_body = {m.body: m for m in rig.core.store.latest(key, 10_000)}
    assert "archived 10" not in by_body  # removed: a tombstone now
    assert next(m for m in rig.core.store.latest(key, 10_000) if m.stanza_id == "a10").removed
    target = by_body["archived 20"]
    assert target.id is not None
    assert rig.core.store.reactions([target.id]) == {target.id: [(f"{ROOM}/bob", ("\U0001f44d",))]}


async def test_a_message_said_just_after_we_left_is_read_on_the_next_visit(rig: Core) -> None:
    fill(rig, 0, 4)
    await entered(rig)
    position = f"room_archive_position:{ROOM}"
    assert rig.core.store.get_sync_state(ME, position) == "a4"
    await rig.core.rooms.leave(ME, ROOM)
    # The room has not taken our leave yet: it still sends us what is said.
    fill(rig, 5, 5)
    await rig.receive(replace(rig.conn.room_archives[ROOM][-1], origin=Origin.LIVE))
    await rig.core.messaging.drain()
    assert numbers(rig) == list(range(5))  # not taken: we are out
    assert rig.core.store.get_sync_state(ME, position) == "a4"  # nor passed over
    rig.conn.listener.on_room_presence(own("me", available=False))
    await entered(rig)
    assert numbers(rig) == list(range(6))  # the next visit reads it
