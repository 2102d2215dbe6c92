"""Letters (schema version 8): the mark that one of ours is a letter (sent as a single
message, type normal, subject or not) is stored with it, so a letter still waiting in
the outbox is one when the store is opened again; and a version-7 database migrated
keeping its data, its messages no letters."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import Database, SqliteMessageStore
from chinwag.storage.migrations import MIGRATIONS

KEY = ConversationKey(ME, PEER)


async def test_the_letter_mark_is_kept_across_a_reopening(
    tmp_path: Path, make: MessageFactory
) -> None:
    path = tmp_path / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    try:
        letter = await store.add_outgoing(make.outgoing("no subject", letter=True))
        line = await store.add_outgoing(make.outgoing("a line of a chat"))
        assert (letter.letter, line.letter) == (True, False)
    finally:
        await store.close()
    store = SqliteMessageStore.open(path)
    try:
        waiting = {m.body: m.letter for m in store.pending_outgoing(ME)}
        assert waiting == {"no subject": True, "a line of a chat": False}
        assert letter.id is not None
        stored = store.get_by_id(letter.id)
        assert stored is not None
        assert (stored.letter, stored.subject) == (True, "")
    finally:
        await store.close()


async def test_a_version_7_database_gains_the_letter_mark_keeping_its_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v7.sqlite3"
    Database.open(path, migrations=MIGRATIONS[:7]).close_sync()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO conversations (account, peer, kind, uuid) VALUES (?, ?, 'chat', 'u')",
            (ME, PEER),
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, sender, sender_resource, "
            "body, timestamp, state, error, mtype, origin, subject, flags, search_key, muuid) "
            "VALUES (1, 1, 'uid-1', ?, '', 'queued', 1.0, 0, '', 0, 0, 'Hi', 0, 1, 'muuid-1')",
            (ME,),
        )
    store = SqliteMessageStore.open(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (kept,) = store.pending_outgoing(ME)
        assert (kept.body, kept.subject, kept.letter) == ("queued", "Hi", False)
    finally:
        await store.close()
