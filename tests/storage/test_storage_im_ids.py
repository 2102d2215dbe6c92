"""IM ids (schema version 6): a stable local integer per bare address, given once, read
back both ways, kept across a reopen, never given again to another address even after
its row is gone; and a version-5 database migrated to it keeping its data."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from storage_helpers import ME, MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import Database, SqliteMessageStore
from chinwag.storage.migrations import MIGRATIONS


async def test_an_address_gets_one_id_for_good_and_is_found_by_it(
    store: SqliteMessageStore,
) -> None:
    assert store.find_im_id("alice@example.org") is None
    alice = await store.im_id("alice@example.org")
    bob = await store.im_id("bob@example.org")
    assert alice > 0
    assert bob > 0
    assert alice != bob
    assert await store.im_id("alice@example.org") == alice
    assert store.find_im_id("alice@example.org") == alice
    assert store.im_address(bob) == "bob@example.org"
    assert store.im_address(bob + 1000) is None


async def test_many_at_once_each_get_their_own(store: SqliteMessageStore) -> None:
    addresses = [f"u{i}@example.org" for i in range(200)] * 2
    ids = await asyncio.gather(*(store.im_id(a) for a in addresses))
    assert len(set(ids)) == 200
    assert ids[:200] == ids[200:]


async def test_ids_survive_a_reopen_and_are_never_given_again(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    alice = await store.im_id("alice@example.org")
    gone = await store.im_id("gone@example.org")
    await store.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("DELETE FROM im_ids WHERE address = 'gone@example.org'")
    store = SqliteMessageStore.open(path)
    try:
        assert store.find_im_id("alice@example.org") == alice
        assert store.im_address(gone) is None
        newcomer = await store.im_id("new@example.org")
        assert newcomer > gone  # not the freed id
    finally:
        await store.close()


async def test_a_version_5_database_gains_the_im_id_table_keeping_its_data(
    tmp_path: Path, make: MessageFactory
) -> None:
    path = tmp_path / "v5.sqlite3"
    Database.open(path, migrations=MIGRATIONS[:5]).close_sync()
    # Data written as version 5 wrote it (this code's store writes columns later
    # versions add).
    message = make.incoming("kept")
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (5,)
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

    store = SqliteMessageStore.open(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [m.body for m in store.latest(ConversationKey(ME, message.peer), 10)] == ["kept"]
        assert await store.im_id("alice@example.org") == 1
    finally:
        await store.close()
