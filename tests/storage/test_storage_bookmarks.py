"""The bookmark cache (schema version 5): bookmarks per account, replaced whole after a
read of the server's list, changed one by one after a push, read back by room; and a
version-4 database migrated to it keeping its data."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage_helpers import ME, MessageFactory

from chinwag.core.models import Bookmark, ConversationKey
from chinwag.storage import Database, SqliteMessageStore
from chinwag.storage.migrations import MIGRATIONS, SCHEMA_VERSION

OTHER_ACCOUNT = "other@example.org"
EXT = '<extensions xmlns="urn:xmpp:bookmarks:1"><x xmlns="urn:example">k</x></extensions>'


def mark(room: str, account: str = ME, **fields: object) -> Bookmark:
    return Bookmark(account=account, room=room, **fields)  # type: ignore[arg-type]


async def test_bookmarks_are_saved_changed_and_read_back_per_account(
    store: SqliteMessageStore,
) -> None:
    a = mark("a@muc.example.org", name="A", nick="me", password="pw", autojoin=True)
    b = mark("b@muc.example.org", extensions=EXT)
    theirs = mark("a@muc.example.org", account=OTHER_ACCOUNT, name="theirs")
    await store.save_bookmarks(ME, [b, a])
    await store.save_bookmarks(OTHER_ACCOUNT, [theirs])
    assert store.load_bookmarks(ME) == [a, b]

    c = mark("c@muc.example.org", name="'; DROP TABLE bookmarks; --")
    await store.put_bookmarks(ME, [mark(a.room, name="A2"), c])
    assert store.load_bookmarks(ME) == [mark(a.room, name="A2"), b, c]

    await store.remove_bookmarks(ME, [b.room, "unknown@muc.example.org"])
    assert store.load_bookmarks(ME) == [mark(a.room, name="A2"), c]

    await store.save_bookmarks(ME, [])  # a read of the server found none
    assert store.load_bookmarks(ME) == []
    assert store.load_bookmarks(OTHER_ACCOUNT) == [theirs]


async def test_a_version_4_database_gains_the_bookmark_table_keeping_its_data(
    tmp_path: Path, make: MessageFactory
) -> None:
    path = tmp_path / "v4.sqlite3"
    Database.open(path, migrations=MIGRATIONS[:4]).close_sync()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (4,)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
        assert "bookmarks" not in names
    # Data written by version 4 (written as version 4 wrote it: this code's store
    # writes columns later versions add).
    message = make.incoming("kept")
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO conversations (account, peer, kind, uuid) VALUES (?, ?, 'chat', 'u')",
            (ME, message.peer),
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, sender, sender_resource, "
            "body, timestamp, state, error, mtype, origin, subject, flags, search_key) "
            "VALUES (1, 0, 'uid-1', ?, '', 'kept', ?, 10, '', 0, 1, '', 0, 1)",
            (message.peer, message.timestamp),
        )
        conn.execute("INSERT INTO sync_state VALUES (?, 'mam', 'id-9')", (ME,))

    store = SqliteMessageStore.open(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert SCHEMA_VERSION == len(MIGRATIONS) >= 5
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert store.load_bookmarks(ME) == []
        assert [m.body for m in store.latest(ConversationKey(ME, message.peer), 10)] == ["kept"]
        assert store.get_sync_state(ME, "mam") == "id-9"
        await store.save_bookmarks(ME, [mark("a@muc.example.org", autojoin=True)])
        assert store.load_bookmarks(ME) == [mark("a@muc.example.org", autojoin=True)]
    finally:
        await store.close()
