"""A file's message while its file uploads (schema version 10): stored HELD, a state of
its own that the outbox never sends and that is no failure; a version-9 database, which
held such a message as FAILED with the error "waiting for its file to be uploaded",
migrates it to HELD and keeps every other message as it was."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.models import MessageState
from chinwag.storage import Database, SqliteMessageStore
from chinwag.storage.migrations import MIGRATIONS

#: How version 9 stored a file's message during its upload (chinwag.core.files then).
V9_HELD_ERROR = "waiting for its file to be uploaded"


async def test_held_messages_are_not_queued_and_are_found(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    held = await store.add_outgoing(make.outgoing("photo.png", state=MessageState.HELD))
    queued = await store.add_outgoing(make.outgoing("hello"))
    assert held.state is MessageState.HELD
    assert [m.uid for m in store.pending_outgoing(ME)] == [queued.uid]  # (the outbox)
    assert [m.uid for m in store.held_outgoing()] == [held.uid]
    released = await store.update_state(ME, PEER, held.uid, MessageState.QUEUED)
    assert released is not None
    assert released.state is MessageState.QUEUED
    assert store.held_outgoing() == []
    assert [m.uid for m in store.pending_outgoing(ME)] == [held.uid, queued.uid]


async def test_a_version_9_database_holds_its_uploading_files_messages(tmp_path: Path) -> None:
    path = tmp_path / "v9.sqlite3"
    Database.open(path, migrations=MIGRATIONS[:9]).close_sync()
    rows = [
        # (direction, uid, body, state, error)
        (1, "uploading", "photo.png", 4, V9_HELD_ERROR),
        (1, "bounced", "hi", 4, "service-unavailable"),
        (1, "queued", "later", 0, ""),
        (0, "theirs", "odd", 4, V9_HELD_ERROR),  # (not ours: left alone)
    ]
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO conversations (account, peer, kind, uuid) VALUES (?, ?, 'chat', 'u')",
            (ME, PEER),
        )
        for n, (direction, uid, body, state, error) in enumerate(rows, 1):
            conn.execute(
                "INSERT INTO messages (conversation_id, direction, uid, sender, "
                "sender_resource, body, timestamp, state, error, mtype, origin, subject, "
                "flags, search_key, muuid) "
                "VALUES (1, ?, ?, ?, '', ?, ?, ?, ?, 0, 0, '', 0, ?, ?)",
                (direction, uid, ME, body, float(n), state, error, n, f"muuid-{n}"),
            )
    store = SqliteMessageStore.open(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert len(MIGRATIONS) >= 10
        (held,) = store.held_outgoing()
        assert (held.uid, held.body, held.state, held.error) == (
            "uploading",
            "photo.png",
            MessageState.HELD,
            "",
        )
        bounced = store.get(ME, PEER, "bounced")
        assert bounced is not None
        assert (bounced.state, bounced.error) == (MessageState.FAILED, "service-unavailable")
        assert [m.uid for m in store.pending_outgoing(ME)] == ["queued"]
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("SELECT state FROM messages WHERE uid = 'theirs'").fetchone() == (
                4,
            )
    finally:
        await store.close()
