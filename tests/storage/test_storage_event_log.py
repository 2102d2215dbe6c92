"""The conversation as an entity (issue 11): its uuid and times, the append-only event log
(sequences gap-free, in the order this profile learns of things, never reused, stable
across a reopen), our own read position, and the new message columns."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from storage_helpers import ME, OTHER, PEER, MessageFactory

from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    EventKind,
    MessageState,
    Origin,
    direct_message_uuid,
    direct_uuid,
    room_uuid,
)
from chinwag.storage import SqliteMessageStore

ROOM = "room@conference.example.org"


def sequences(store: SqliteMessageStore, key: ConversationKey) -> list[int]:
    return [event.sequence for event in store.events_after(key, 0, 1_000_000)]


async def test_every_stored_message_is_an_event_numbered_from_one(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    first = await store.add_outgoing(make.outgoing("one"))
    received = await store.add_incoming([make.incoming("two"), make.incoming("three")])
    events = store.events_after(key, 0, 10)
    assert [(e.sequence, e.kind, e.message_id) for e in events] == [
        (1, EventKind.MESSAGE, first.id),
        (2, EventKind.MESSAGE, received[0].id),
        (3, EventKind.MESSAGE, received[1].id),
    ]
    assert [e.author for e in events] == [ME, PEER, PEER]
    assert [e.message_uuid for e in events] == [
        direct_message_uuid(ME, first.uid),
        *(direct_message_uuid(PEER, m.uid) for m in received),
    ]
    assert [e.timestamp for e in events] == [first.timestamp, *(m.timestamp for m in received)]
    assert {e.key for e in events} == {key}
    assert {e.data for e in events} == {""}
    info = store.conversation_info(key)
    assert info is not None
    assert info.last_sequence == 3
    assert store.message_sequence(received[1].id or 0) == 3
    assert store.message_sequence(123456) is None


async def test_duplicates_are_not_events(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    message = make.incoming("once", stanza_id="arch-1")
    await store.add_incoming([message])
    assert await store.add_incoming([message]) == []  # same uid
    assert await store.add_incoming([make.incoming("again", stanza_id="arch-1")]) == []
    mine = await store.add_outgoing(make.outgoing("mine"))
    assert (await store.add_outgoing(mine)).id == mine.id
    assert sequences(store, key) == [1, 2]


async def test_each_conversation_has_its_own_log(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_incoming([make.incoming("a"), make.incoming("b", peer=OTHER)])
    await store.add_incoming([make.incoming("c"), make.incoming("d", peer=OTHER)])
    await store.add_outgoing(make.outgoing("e", account="second@example.org"))
    assert sequences(store, ConversationKey(ME, PEER)) == [1, 2]
    assert sequences(store, ConversationKey(ME, OTHER)) == [1, 2]
    assert sequences(store, ConversationKey("second@example.org", PEER)) == [1]
    assert store.events_after(ConversationKey(ME, "nobody@example.net"), 0, 10) == []
    assert store.conversation_info(ConversationKey(ME, "nobody@example.net")) is None


async def test_late_history_gets_the_next_sequences_and_keeps_its_time(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    newer = await store.add_incoming([make.incoming("live 1"), make.incoming("live 2")])
    old = make.incoming(
        "from the archive", timestamp=newer[0].timestamp - 3600, origin=Origin.ARCHIVE
    )
    (late,) = await store.add_incoming([old])
    events = store.events_after(key, 0, 10)
    assert [(e.sequence, e.message_id) for e in events] == [
        (1, newer[0].id),
        (2, newer[1].id),
        (3, late.id),
    ]
    assert events[2].timestamp == old.timestamp
    # Views order by time, the log by sequence.
    assert [m.body for m in store.latest(key, 10)] == ["from the archive", "live 1", "live 2"]
    info = store.conversation_info(key)
    assert info is not None
    assert (info.created, info.updated) == (old.timestamp, newer[1].timestamp)


async def test_sequences_stay_gap_free_across_a_reopen(
    tmp_path: Path, make: MessageFactory
) -> None:
    path = tmp_path / "history.sqlite3"
    key = ConversationKey(ME, PEER)
    store = SqliteMessageStore.open(path)
    try:
        await store.add_incoming([make.incoming(f"m{i}") for i in range(5)])
        before = store.events_after(key, 0, 100)
    finally:
        await store.close()
    store = SqliteMessageStore.open(path)
    try:
        assert store.events_after(key, 0, 100) == before  # kept for good
        await store.add_outgoing(make.outgoing("after reopen"))
        await store.add_incoming([make.incoming("late", timestamp=make.clock - 99)])
        assert sequences(store, key) == list(range(1, 8))
        info = store.conversation_info(key)
        assert info is not None
        assert info.last_sequence == 7
    finally:
        await store.close()


async def test_a_rolled_back_write_leaves_no_gap_and_reuses_nothing(
    file_store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await file_store.add_incoming([make.incoming("one")])

    def store_then_fail(conn: sqlite3.Connection) -> None:
        file_store._insert(conn, make.incoming("rolled back"), from_elsewhere=True)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await file_store.database.write(store_then_fail)
    (two,) = await file_store.add_incoming([make.incoming("two")])
    events = file_store.events_after(key, 0, 10)
    assert [(e.sequence, e.message_id) for e in events] == [(1, events[0].message_id), (2, two.id)]
    assert [m.body for m in file_store.latest(key, 10)] == ["one", "two"]


async def test_events_after_pages_through_the_log(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_incoming([make.incoming(f"m{i}") for i in range(10)])
    assert [e.sequence for e in store.events_after(key, 3, 4)] == [4, 5, 6, 7]
    assert [e.sequence for e in store.events_after(key, 8, 100)] == [9, 10]
    assert store.events_after(key, 10, 100) == []
    assert store.events_after(key, 0, 0) == []


async def test_a_conversation_has_the_spec_uuid(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_incoming(
        [
            make.incoming("direct"),
            replace(
                make.incoming("room", peer=ROOM, kind=ConversationKind.GROUPCHAT), sender="a@b.c"
            ),
        ]
    )
    direct = store.conversation_info(ConversationKey(ME, PEER))
    room = store.conversation_info(ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT))
    assert direct is not None
    assert direct.uuid == direct_uuid(ME, PEER) == direct_uuid(PEER, ME)
    assert room is not None
    assert room.uuid == room_uuid(ROOM)
    assert direct.title == ""
    assert direct.read_sequence == 0


async def test_our_read_position_only_moves_forward_and_not_past_the_end(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_incoming([make.incoming(f"m{i}") for i in range(5)])
    assert await store.set_read_sequence(key, 3) == 3
    assert await store.set_read_sequence(key, 2) == 3  # never back
    assert await store.set_read_sequence(key, 99) == 5  # never past the last
    info = store.conversation_info(key)
    assert info is not None
    assert info.read_sequence == 5
    assert await store.set_read_sequence(ConversationKey(ME, "nobody@example.net"), 1) is None


async def test_seeing_messages_moves_our_read_position(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    received = await store.add_incoming([make.incoming(f"m{i}") for i in range(4)])
    await store.mark_displayed_up_to(key, received[1].uid)
    info = store.conversation_info(key)
    assert info is not None
    assert info.read_sequence == 2
    assert store.unread_count(key) == 2  # the two after it
    # Late history seen "before" the read position in time does not move it back.
    (late,) = await store.add_incoming([make.incoming("old", timestamp=make.clock - 50)])
    await store.mark_displayed_up_to(key, late.uid)
    info = store.conversation_info(key)
    assert info is not None
    assert info.read_sequence == 5
    assert store.unread_count(key) == 0


async def test_reply_edit_and_removal_fields_are_stored_and_read_back(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    (original,) = await store.add_incoming([make.incoming("question")])
    answer = await store.add_outgoing(
        make.outgoing("answer", reply_to=original.uid, reply_to_jid=PEER, state=MessageState.SENT)
    )
    (odd,) = await store.add_incoming([make.incoming("imported", edited_at=123.5, removed=True)])
    for message in (store.get_by_id(answer.id or 0), store.latest(key, 10)[1]):
        assert message is not None
        assert (message.reply_to, message.reply_to_jid) == (original.uid, PEER)
    stored = store.get_by_id(odd.id or 0)
    assert stored is not None
    assert (stored.edited_at, stored.removed) == (123.5, True)
    assert store.get_by_id(original.id or 0).reply_to == ""
    with store.database.reading() as conn:
        muuids = dict(conn.execute("SELECT id, muuid FROM messages").fetchall())
    assert muuids[answer.id] == answer.uuid == direct_message_uuid(ME, answer.uid)
    assert muuids[original.id] == direct_message_uuid(PEER, original.uid)
