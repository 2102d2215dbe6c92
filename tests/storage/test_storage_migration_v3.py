"""Schema version 3 (issue 11): a history written by the version-2 release
(``fixtures/history-v2.sqlite3``, made by ``fixtures/make_v2_fixture.py`` with that
release's code) is migrated keeping every message, state, search entry, received-log
entry, sync state and roster item, and gains conversation uuids, message uuids and an
event log numbered gap-free in (timestamp, id) order."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Direction,
    EventKind,
    Message,
    MessageState,
    Origin,
    direct_message_uuid,
    direct_uuid,
    room_uuid,
)
from chinwag.storage import SqliteMessageStore, migrations
from chinwag.storage.migrations import MIGRATIONS, SCHEMA_VERSION

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "history-v2.sqlite3"
ME = "me@example.org"
SECOND = "second@example.com"
PEER = "peer@example.net"
OTHER = "other@example.net"
ROOM = "room@conference.example.org"

#: Words whose search hits must be the same before and after.
WORDS = ("meeting", "cafe", "naive", "smörgåsbord", "jalapeño", "same", "resume", "archive", "th")


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def snapshot(path: Path) -> dict[str, Any]:
    """What the version-2 file holds, read with plain SQL before the migration."""
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        messages = {
            row[0]: row
            for row in conn.execute(
                "SELECT m.id, c.account, c.peer, c.kind, m.direction, m.uid, m.stanza_id, "
                "m.sender, m.sender_resource, m.body, m.timestamp, m.state, m.error, m.mtype, "
                "m.origin, m.subject, m.flags "
                "FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id"
            )
        }
        hits = {
            word: sorted(
                row[0]
                for row in conn.execute(
                    "SELECT m.id FROM messages_fts JOIN messages AS m "
                    "ON m.search_key = messages_fts.rowid WHERE messages_fts MATCH ?",
                    (f'"{word}"*',),
                )
            )
            for word in WORDS
        }
        return {
            "messages": messages,
            "hits": hits,
            "received": conn.execute(
                "SELECT account, sequence, message_id, report, at, error FROM received "
                "ORDER BY account, sequence"
            ).fetchall(),
            "counters": conn.execute("SELECT * FROM received_counter ORDER BY 1").fetchall(),
            "sync": conn.execute("SELECT * FROM sync_state ORDER BY 1, 2").fetchall(),
            "roster": conn.execute("SELECT * FROM roster ORDER BY 1, 2").fetchall(),
            "versions": conn.execute("SELECT * FROM roster_versions ORDER BY 1").fetchall(),
            "conversations": conn.execute(
                "SELECT id, account, peer, kind FROM conversations ORDER BY id"
            ).fetchall(),
        }


@pytest.fixture
def v2_copy(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(FIXTURE, path)
    return path


def as_row(message: Message) -> tuple[Any, ...]:
    return (
        message.id,
        message.account,
        message.peer,
        str(message.kind),
        int(message.direction),
        message.uid,
        message.stanza_id or None,
        message.sender,
        message.sender_resource,
        message.body,
        message.timestamp,
        int(message.state),
        message.error,
        int(message.mtype),
        int(message.origin),
        message.subject,
        message.flags,
    )


def test_the_fixture_is_a_version_2_history_with_something_of_everything() -> None:
    before = snapshot(FIXTURE)
    states = {row[11] for row in before["messages"].values()}
    # every state there was then, incoming and outgoing (HELD came with version 10)
    assert states == {int(s) for s in MessageState if s is not MessageState.HELD}
    assert {row[3] for row in before["messages"].values()} == {"chat", "groupchat"}
    assert len(before["messages"]) == 25
    assert all(before["hits"].values())  # each word finds something
    assert {row[3] for row in before["received"]} == {0, 1, 3, 4, 5}  # messages and reports
    assert before["sync"]
    assert before["roster"]
    assert before["versions"]


@pytest.mark.parametrize("uuid_slice", [migrations.V3_UUID_SLICE, 4])
async def test_a_version_2_history_is_migrated_keeping_everything(
    v2_copy: Path, uuid_slice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrations, "V3_UUID_SLICE", uuid_slice)  # one UPDATE, or several
    before = snapshot(v2_copy)
    store = SqliteMessageStore.open(v2_copy)
    try:
        with raw(v2_copy) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
            # Rows that were never rewritten keep their ids; nothing was dropped.
            assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 25

        # Every message, as the store reads it, field by field; nothing new on it.
        for message_id, row in before["messages"].items():
            message = store.get_by_id(message_id)
            assert message is not None
            assert as_row(message) == row
            assert (message.reply_to, message.reply_to_jid) == ("", "")
            assert (message.edited_at, message.removed) == (0.0, False)

        # Search: the same hits for every word, through the store's own search.
        for word, ids in before["hits"].items():
            hits = store.search(word, limit=100)
            assert sorted(hit.message.id for hit in hits) == ids, word

        # The received log, its counters, the sync state and the roster, untouched.
        with raw(v2_copy) as conn:
            assert (
                conn.execute(
                    "SELECT account, sequence, message_id, report, at, error FROM received "
                    "ORDER BY account, sequence"
                ).fetchall()
                == before["received"]
            )
            assert (
                conn.execute("SELECT * FROM received_counter ORDER BY 1").fetchall()
                == (before["counters"])
            )
            assert (
                conn.execute("SELECT * FROM sync_state ORDER BY 1, 2").fetchall()
                == (before["sync"])
            )
            assert conn.execute("SELECT * FROM roster ORDER BY 1, 2").fetchall() == before["roster"]
        entries = store.received_after(ME, 0, 1000)
        assert [(e.sequence, e.message.id) for e in entries] == [
            (row[1], row[2]) for row in before["received"] if row[0] == ME
        ]
        assert [(a, store.last_received(a)) for a, _last in before["counters"]] == before[
            "counters"
        ]
        assert before["counters"] == [(ME, len(entries)), (SECOND, 1)]
        assert store.get_sync_state(ME, "mam") == "arch-o-0"
        contacts, version = store.load_roster(ME)
        assert version == "ver-7"
        assert [c.jid for c in contacts] == sorted([PEER, OTHER, "quiet@example.net"])

        # The log: every message once, numbered 1.. without gaps in (timestamp, id) order.
        for _cid, account, peer, kind in before["conversations"]:
            key = ConversationKey(account, peer, ConversationKind(kind))
            rows = sorted(
                (r for r in before["messages"].values() if r[1:4] == (account, peer, kind)),
                key=lambda r: (r[10], r[0]),
            )
            events = store.events_after(key, 0, 1000)
            assert [e.sequence for e in events] == list(range(1, len(rows) + 1))
            assert [e.message_id for e in events] == [r[0] for r in rows]
            assert {e.kind for e in events} == {EventKind.MESSAGE}
            for event, row in zip(events, rows, strict=True):
                author = account if row[4] == 1 else (row[7] or peer)
                assert event.author == author
                assert event.timestamp == row[10]
                assert event.message_uuid == direct_message_uuid(author, row[5])
                assert event.key == key
            info = store.conversation_info(key)
            assert info is not None
            assert info.uuid == (
                room_uuid(peer) if kind == "groupchat" else direct_uuid(account, peer)
            )
            assert (info.title, info.last_sequence) == ("", len(rows))
            assert (info.created, info.updated) == (rows[0][10], max(r[10] for r in rows))
            displayed = [
                i + 1
                for i, r in enumerate(rows)
                if r[4] == 0 and r[11] == int(MessageState.DISPLAYED)
            ]
            assert info.read_sequence == (displayed[-1] if displayed else 0)

        # Spot checks, worked out by hand from the fixture script.
        peer_info = store.conversation_info(ConversationKey(ME, PEER))
        assert peer_info is not None
        assert (peer_info.last_sequence, peer_info.read_sequence) == (14, 11)
        first = store.events_after(ConversationKey(ME, PEER), 0, 2)
        assert [store.get_by_id(e.message_id or 0).uid for e in first] == ["o-0", "p-0"]
        other = store.conversation_info(ConversationKey(ME, OTHER))
        assert other is not None
        assert other.read_sequence == 3
        room = store.conversation_info(ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT))
        assert room is not None
        assert room.read_sequence == 1
        assert store.conversation_info(ConversationKey(SECOND, PEER)).read_sequence == 0
        # The two accounts share a peer: different conversations, each its own uuid.
        assert store.conversation_info(ConversationKey(SECOND, PEER)).uuid == direct_uuid(
            SECOND, PEER
        )

        # Unread follows the read position: p-4, p-5, p-6 are after it; p-0 (from the
        # archive, older than all, numbered in time order) is before it, whatever its state.
        assert store.unread_count(ConversationKey(ME, PEER)) == 3
    finally:
        await store.close()


async def test_after_the_migration_the_log_goes_on_and_survives_a_reopen(v2_copy: Path) -> None:
    key = ConversationKey(ME, PEER)
    store = SqliteMessageStore.open(v2_copy)
    try:
        (new,) = await store.add_incoming(
            [
                Message(
                    account=ME,
                    peer=PEER,
                    direction=Direction.INCOMING,
                    body="after the upgrade",
                    timestamp=1_700_000_005.5,  # older than the newest: late, gets 15
                    uid="late-1",
                    sender=PEER,
                    state=MessageState.RECEIVED,
                    origin=Origin.ARCHIVE,
                )
            ]
        )
    finally:
        await store.close()
    store = SqliteMessageStore.open(v2_copy)
    try:
        info = store.conversation_info(key)
        assert info is not None
        assert info.last_sequence == 15
        (event,) = store.events_after(key, 14, 10)
        assert (event.sequence, event.message_id) == (15, new.id)
        assert [h.message.uid for h in store.search("upgrade")] == ["late-1"]
    finally:
        await store.close()


def test_the_migration_is_one_step_after_version_2() -> None:
    assert len(MIGRATIONS) >= 3
    assert callable(MIGRATIONS[2])
