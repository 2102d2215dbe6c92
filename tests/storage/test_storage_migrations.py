"""Numbered migrations on PRAGMA user_version."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from chinwag.storage import Database, MigrationError, SchemaTooNewError, SqliteMessageStore
from chinwag.storage.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, split_script


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def version(path: Path) -> int:
    with raw(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def tables(path: Path) -> set[str]:
    with raw(path) as conn:
        return {
            row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        }


def test_a_new_database_gets_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Database.open(path).close_sync()

    assert version(path) == SCHEMA_VERSION == len(MIGRATIONS)
    assert {
        "conversations",
        "messages",
        "messages_fts",
        "sync_state",
        "roster",
        "roster_versions",
        "bookmarks",
    } <= tables(path)


def test_in_memory_database_is_migrated() -> None:
    db = Database.open(":memory:")
    try:
        assert db.query_one("PRAGMA user_version")[0] == SCHEMA_VERSION
    finally:
        db.close_sync()


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    calls: list[int] = []

    def step(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("CREATE TABLE extra (x)")

    Database.open(path, migrations=[*MIGRATIONS, step]).close_sync()
    Database.open(path, migrations=[*MIGRATIONS, step]).close_sync()

    assert calls == [1]
    assert version(path) == SCHEMA_VERSION + 1


async def test_an_old_database_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteMessageStore.open(path)  # today's schema
    await store.set_sync_state("me@x", "mam", "id-1")
    await store.close()
    assert version(path) == SCHEMA_VERSION

    def add_note_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE sync_state ADD COLUMN note TEXT NOT NULL DEFAULT ''")
        conn.execute("UPDATE sync_state SET note = 'migrated'")

    newer: list[Migration] = [
        *MIGRATIONS,
        "CREATE TABLE later_notes (jid TEXT PRIMARY KEY); INSERT INTO later_notes VALUES ('a;b');",
        add_note_column,
    ]
    Database.open(path, migrations=newer).close_sync()

    assert version(path) == SCHEMA_VERSION + 2
    with raw(path) as conn:
        assert conn.execute("SELECT value, note FROM sync_state").fetchall() == [
            ("id-1", "migrated")
        ]
        assert conn.execute("SELECT jid FROM later_notes").fetchall() == [("a;b",)]


def test_a_version_zero_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    with raw(path) as conn:
        conn.execute("CREATE TABLE unrelated (x)")  # a file exists, but no schema of ours
    Database.open(path).close_sync()
    assert version(path) == SCHEMA_VERSION


def test_a_database_from_a_newer_chinwag_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    Database.open(path).close_sync()
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")

    with pytest.raises(
        SchemaTooNewError,
        match=rf"schema version {SCHEMA_VERSION + 5}.*up to {SCHEMA_VERSION}.*newer Chinwag",
    ) as info:
        Database.open(path)

    assert (info.value.found, info.value.supported) == (SCHEMA_VERSION + 5, SCHEMA_VERSION)
    assert version(path) == SCHEMA_VERSION + 5  # untouched


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Database.open(path).close_sync()

    broken: list[Migration] = [
        *MIGRATIONS,
        "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);",
    ]
    with pytest.raises(MigrationError, match=f"version {SCHEMA_VERSION + 1}") as info:
        Database.open(path, migrations=broken)

    assert info.value.version == SCHEMA_VERSION + 1
    assert version(path) == SCHEMA_VERSION
    assert "half_done" not in tables(path)  # rolled back with the failing statement
    Database.open(path).close_sync()  # and the database is still usable


def test_split_script_keeps_triggers_and_literals_whole() -> None:
    script = """
        CREATE TABLE a (x TEXT DEFAULT ';');
        -- a comment; with a semicolon
        CREATE TRIGGER t AFTER INSERT ON a BEGIN
            INSERT INTO a VALUES ('x;y');
            DELETE FROM a WHERE x = ';';
        END;
        INSERT INTO a VALUES ('done')
    """
    statements = split_script(script)
    assert len(statements) == 3
    assert "CREATE TRIGGER t" in statements[1]
    assert statements[1].endswith("END;")
    assert statements[2].startswith("INSERT INTO a VALUES ('done')")
    with closing(sqlite3.connect(":memory:")) as conn:
        for statement in statements:
            conn.execute(statement)
        # the trigger body ran whole: it inserted 'x;y' next to 'done'
        assert conn.execute("SELECT x FROM a ORDER BY x").fetchall() == [("done",), ("x;y",)]


def test_split_script_rejects_an_unfinished_statement() -> None:
    with pytest.raises(ValueError, match="incomplete"):
        split_script("CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;")


def test_the_real_schema_splits_into_statements() -> None:
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    with closing(sqlite3.connect(":memory:")) as conn:
        for statement in split_script(first):
            assert sqlite3.complete_statement(statement)
            conn.execute(statement)


async def test_a_version_1_history_gains_an_empty_received_log(tmp_path: Path) -> None:
    """Version 2 adds the received log; what was stored before keeps its place in the
    history and has no sequence: the log starts with the next message received."""
    from storage_helpers import ME, MessageFactory

    path = tmp_path / "v1.sqlite3"
    make = MessageFactory()
    Database.open(path, migrations=MIGRATIONS[:1]).close_sync()
    with raw(path) as conn:  # a message as version 1 stored it
        conn.execute(
            "INSERT INTO conversations (id, account, peer, kind) "
            "VALUES (1, 'me@example.org', 'peer@example.net', 'chat')"
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, stanza_id, sender, "
            "sender_resource, body, timestamp, state, error, mtype, origin, subject, flags, "
            "search_key) VALUES (1, 0, 'old-1', NULL, 'peer@example.net', '', "
            "'from before', 1600000000.0, 10, '', 0, 1, '', 0, 1)"
        )
    assert version(path) == 1

    store = SqliteMessageStore.open(path)
    try:
        assert version(path) == SCHEMA_VERSION >= 2
        assert [m.body for m in store.latest(make.incoming("x").key, 10)] == ["from before"]
        assert store.received_after(ME, 0, 10) == []
        await store.add_incoming([make.incoming("after the upgrade")])
        assert [(e.sequence, e.message.body) for e in store.received_after(ME, 0, 10)] == [
            (1, "after the upgrade")
        ]
    finally:
        await store.close()
