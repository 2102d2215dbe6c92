"""The database schema as numbered migrations, and the code that applies them.

``MIGRATIONS[N - 1]`` brings a database from ``PRAGMA user_version`` N-1 to N. Each is
either an SQL script or a function of the connection, and each runs in its own
transaction together with the ``user_version`` bump, so a crash or a failing step leaves
the database at the previous version. Never edit a released migration: append one.

Schema notes (version 1):

* ``conversations`` is a real table so a message row only carries an integer
  ``conversation_id``; rows are never deleted, so ids are stable (callers may cache them).
* ``messages.id`` is the stable row id the core sees (``Message.id``).
* ``messages.stanza_id`` is NULL when unknown; the partial index finds a message by its
  server archive id. Uniqueness per *account* is enforced by the single writer, not by a
  constraint, because the account lives in ``conversations``.
* ``messages.search_key`` orders the full-text index by time (see ``search_key`` in
  :mod:`chinwag.storage.message_store`): it is the FTS5 rowid, so "newest first" search is
  a reverse walk of the index that stops after ``limit`` hits instead of sorting every hit.
* The FTS table also indexes ``conversation_id`` so a search in one conversation is an
  AND inside FTS5 (doclists skip ahead) rather than a filter over every hit.
* Three small partial indexes cover the hot state queries: queued outgoing messages,
  outgoing messages still waiting for a read marker, incoming messages not yet displayed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Final

from chinwag.storage.errors import MigrationError, SchemaTooNewError

#: A migration: an SQL script (statements separated by ``;``) or a function that does the work.
Migration = str | Callable[[sqlite3.Connection], None]

_V1_SCHEMA: Final = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    UNIQUE (account, peer, kind)
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    direction INTEGER NOT NULL,
    uid TEXT NOT NULL,
    stanza_id TEXT,
    sender TEXT NOT NULL,
    sender_resource TEXT NOT NULL,
    body TEXT NOT NULL,
    timestamp REAL NOT NULL,
    state INTEGER NOT NULL,
    error TEXT NOT NULL,
    mtype INTEGER NOT NULL,
    origin INTEGER NOT NULL,
    subject TEXT NOT NULL,
    flags INTEGER NOT NULL,
    search_key INTEGER NOT NULL,
    UNIQUE (conversation_id, direction, uid)
);

-- keyset paging: (conversation, timestamp, id)
CREATE INDEX messages_by_time ON messages (conversation_id, timestamp, id);
-- dedupe by archive id
CREATE INDEX messages_by_stanza_id ON messages (stanza_id) WHERE stanza_id IS NOT NULL;
-- the FTS rowid: unique, time-ordered
CREATE UNIQUE INDEX messages_by_search_key ON messages (search_key);
-- pending_outgoing: the queue of unsent messages, usually empty
CREATE INDEX messages_queued ON messages (timestamp, id)
    WHERE direction = 1 AND state = 0;
-- mark_read_up_to: outgoing messages that a read marker can still move
CREATE INDEX messages_unread_by_peer ON messages (conversation_id, timestamp, id)
    WHERE direction = 1 AND state IN (0, 1, 2);
-- unread_count, mark_displayed_up_to: incoming messages the user has not seen
CREATE INDEX messages_unseen ON messages (conversation_id, timestamp, id)
    WHERE direction = 0 AND state = 10;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    conversation_id,
    content = 'messages',
    content_rowid = 'search_key',
    tokenize = 'unicode61 remove_diacritics 2',
    -- the last word of a search is a prefix: without these, "th*" merges the doclists of
    -- every word starting with "th" (tens of ms on a million messages)
    prefix = '1 2 3',
    -- no per-row size record: we order by time, never by bm25()
    columnsize = 0
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body, conversation_id)
        VALUES (new.search_key, new.body, new.conversation_id);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, conversation_id)
        VALUES ('delete', old.search_key, old.body, old.conversation_id);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, conversation_id, search_key
ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, conversation_id)
        VALUES ('delete', old.search_key, old.body, old.conversation_id);
    INSERT INTO messages_fts (rowid, body, conversation_id)
        VALUES (new.search_key, new.body, new.conversation_id);
END;

CREATE TABLE sync_state (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account, name)
) WITHOUT ROWID;

CREATE TABLE roster (
    account TEXT NOT NULL,
    jid TEXT NOT NULL,
    name TEXT NOT NULL,
    groups TEXT NOT NULL,  -- JSON array of strings
    subscription TEXT NOT NULL,
    ask INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    PRIMARY KEY (account, jid)
) WITHOUT ROWID;

CREATE TABLE roster_versions (
    account TEXT PRIMARY KEY,
    version TEXT NOT NULL
) WITHOUT ROWID;
"""

# Version 2: the received log (automation-api.md section 6a). One row per message
# received and per delivery report on one of ours, numbered per account from 1, in the
# order they were stored; the row points at the message (a report: at our message) and
# says what it was. ``received_counter`` holds the last number given, so a number is
# never given twice even if rows go. Messages stored before this version have no entry:
# the log starts with the first message received after the upgrade.
_V2_RECEIVED_LOG: Final = """
CREATE TABLE received (
    account TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    report INTEGER NOT NULL,  -- 0: the message itself; else a delivery-status
    at INTEGER NOT NULL,  -- when it was received, Unix seconds
    error TEXT NOT NULL,
    PRIMARY KEY (account, sequence)
) WITHOUT ROWID;
CREATE TABLE received_counter (
    account TEXT PRIMARY KEY,
    last INTEGER NOT NULL
) WITHOUT ROWID;
"""

#: Every migration, in order: index N-1 brings ``user_version`` N-1 to N.
MIGRATIONS: Final[tuple[Migration, ...]] = (_V1_SCHEMA, _V2_RECEIVED_LOG)

#: The schema version this code writes.
SCHEMA_VERSION: Final = len(MIGRATIONS)


def split_script(script: str) -> list[str]:
    """Split an SQL script into complete statements.

    ``Connection.executescript`` would COMMIT first, so a migration script is run one
    statement at a time inside the migration's transaction. ``sqlite3.complete_statement``
    knows about string literals and ``CREATE TRIGGER ... BEGIN ... END`` bodies."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement.strip("; \n\t"):
                statements.append(statement)
            pending = ""
    if pending.strip("; \n\t"):
        raise ValueError(f"incomplete SQL statement at the end of a script: {pending.strip()!r}")
    return statements


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def apply_migrations(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    name: str = "database",
) -> int:
    """Bring the database on ``conn`` (autocommit mode, no open transaction) up to
    ``len(migrations)`` and return that version.

    Raises :class:`SchemaTooNewError` when the database was written by a newer Chinwag,
    and :class:`MigrationError` (with the database left at the version before the failing
    step) when a migration fails."""
    target = len(migrations)
    current = schema_version(conn)
    if current > target:
        raise SchemaTooNewError(name, current, target)
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = schema_version(conn)
            if current > target:
                raise SchemaTooNewError(name, current, target)
            if current == target:
                conn.execute("COMMIT")
                break
            step = migrations[current]
            if isinstance(step, str):
                for statement in split_script(step):
                    conn.execute(statement)
            else:
                step(conn)
            # PRAGMA takes no parameters; the value is an int we computed.
            conn.execute(f"PRAGMA user_version = {current + 1:d}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, SchemaTooNewError | MigrationError):
                raise
            if isinstance(exc, Exception):
                raise MigrationError(name, current + 1, exc) from exc
            raise
        current += 1
    return current
