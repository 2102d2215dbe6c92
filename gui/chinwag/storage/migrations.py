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
  outgoing messages still waiting for a read marker, incoming messages not yet displayed
  (version 10 adds a fourth: held outgoing messages).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Final

from chinwag.core.models import ConversationKind, direct_message_uuid, direct_uuid, room_uuid
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

# Version 3: conversations as entities with an append-only event log (issue 11,
# conversations-api.md section 1), message edits, removals, replies and reactions.
#
# * ``conversations`` gain the spec's ``uuid`` (unique per account), a ``title``, ``created``
#   and ``updated`` (Unix seconds: the oldest and the newest timestamp of the conversation's
#   events), ``last_sequence`` (the counter of its event log: the last sequence given) and
#   ``read_sequence`` (our own read position, a sequence; only moves forward).
# * ``conversation_events`` is the log: one row per event, numbered per conversation from 1
#   in the order this profile learns of them, gap-free, never reused (the counter is bumped
#   in the transaction that appends). ``message_id`` names the message a message event is
#   about; ``origin_id`` / ``stanza_id`` are an action's own ids (NULL for 'message' events:
#   the message row keeps its ids and learns its archive id later), so a correction,
#   retraction or reaction seen again (live, carbon, archive) is recognised and applied
#   once. ``data`` is the kind's payload as JSON ('' for none).
# * ``messages`` gain ``muuid`` (the spec's message uuid), ``edited_at`` (0: never),
#   ``removed`` (a retraction's tombstone), and ``reply_to`` / ``reply_to_jid`` (XEP-0461).
# * ``reactions``: each sender's current reactions to a message (XEP-0444), a JSON array.
#
# Existing data: every conversation gets its uuid and times, every message its muuid and
# a 'message' event, numbered in (timestamp, id) order per conversation; our read position
# is the sequence of the newest incoming message already displayed. Columns are added with
# ALTER TABLE (no table copy) and filled by one UPDATE each, uuids by Python functions
# registered for the migration, events by one INSERT ... SELECT with a window function:
# the migration needs about as much extra disk as the rewritten messages table and the new
# log (see bench/bench_migration.py).
_V3_SCHEMA: Final = """
ALTER TABLE conversations ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN created REAL NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN updated REAL NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN last_sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN read_sequence INTEGER NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN muuid TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN edited_at REAL NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN reply_to_jid TEXT NOT NULL DEFAULT '';

CREATE TABLE conversation_events (
    conversation_id INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,  -- message, edit, remove, reaction (later: created, join, ...)
    message_id INTEGER,  -- NULL for conversation-level events
    author TEXT NOT NULL,  -- bare address of who did it
    timestamp REAL NOT NULL,
    stanza_id TEXT,  -- an action's archive id
    origin_id TEXT,  -- an action's own id (its uid)
    data TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (conversation_id, sequence)
) WITHOUT ROWID;

-- a message's events: its sequence, its edits (versions), what a retraction scrubs
CREATE INDEX conversation_events_by_message ON conversation_events (message_id);
-- an action seen again; a correction chain that names a correction's id
CREATE INDEX conversation_events_by_origin ON conversation_events (conversation_id, origin_id)
    WHERE origin_id IS NOT NULL;

CREATE TABLE reactions (
    message_id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    reactions TEXT NOT NULL,  -- JSON array of strings ('[]': all taken back, kept for its time)
    timestamp REAL NOT NULL,
    PRIMARY KEY (message_id, sender)
) WITHOUT ROWID;

-- the other participants' read positions (their displayed markers); ours is
-- conversations.read_sequence
CREATE TABLE read_positions (
    conversation_id INTEGER NOT NULL,
    participant TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, participant)
) WITHOUT ROWID;
"""

_V3_FILL_CONVERSATIONS: Final = """
UPDATE conversations SET
    uuid = chinwag_conversation_uuid(account, peer, kind),
    created = coalesce(
        (SELECT min(timestamp) FROM messages WHERE conversation_id = conversations.id), :now),
    updated = coalesce(
        (SELECT max(timestamp) FROM messages WHERE conversation_id = conversations.id), :now)
"""

# The author's address, as ``Message.uuid`` takes it: the account for ours, else the
# sender, or the peer when none was recorded. In slices of
# row ids: inside a transaction, a statement that calls a function and changes many rows
# keeps a statement journal (a temporary file holding every page it changes, to undo just
# itself); one UPDATE of the whole table would need a second copy of it on disk.
_V3_FILL_MESSAGE_UUIDS: Final = """
UPDATE messages SET muuid = chinwag_message_uuid(
    CASE WHEN direction = 1
        THEN (SELECT account FROM conversations WHERE id = messages.conversation_id)
    WHEN sender <> '' THEN sender
    ELSE (SELECT peer FROM conversations WHERE id = messages.conversation_id) END,
    uid)
WHERE id >= ? AND id < ?
"""
#: Messages per UPDATE of the migration to version 3 (bounds its statement journal).
V3_UUID_SLICE: Final = 50_000

# The messages_by_time index gives the rows in (conversation, timestamp, id) order: the
# window needs no sort, and the log is written in its primary-key order. The author of
# our own messages is the account.
_V3_FILL_EVENTS: Final = """
INSERT INTO conversation_events (
    conversation_id, sequence, kind, message_id, author, timestamp
)
SELECT
    m.conversation_id,
    row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.timestamp, m.id),
    'message',
    m.id,
    CASE WHEN m.direction = 1
        THEN (SELECT account FROM conversations WHERE id = m.conversation_id)
    WHEN m.sender <> '' THEN m.sender
    ELSE (SELECT peer FROM conversations WHERE id = m.conversation_id) END,
    m.timestamp
FROM messages AS m INDEXED BY messages_by_time
ORDER BY m.conversation_id, m.timestamp, m.id
"""

_V3_FILL_SEQUENCES: Final = """
UPDATE conversations SET
    last_sequence = coalesce(
        (SELECT max(sequence) FROM conversation_events WHERE conversation_id = conversations.id),
        0),
    read_sequence = coalesce((
        SELECT e.sequence FROM messages AS m INDEXED BY messages_by_time
        JOIN conversation_events AS e ON e.message_id = m.id
        WHERE m.conversation_id = conversations.id AND m.direction = 0 AND m.state = 11
        ORDER BY m.timestamp DESC, m.id DESC LIMIT 1
    ), 0)
"""


# Version 4: corrections that arrive before the message they correct (issue 11).
#
# * ``messages.replaces``: on a correction stored as a message of its own because the
#   message it corrects (XEP-0308) had not reached us, the id it names ('' on every other
#   row). When that message is stored, the correction is applied to it and the row is
#   folded: ``removed = 2`` (see ``FOLDED`` in :mod:`chinwag.storage.message_store`), kept
#   (nothing is lost, its 'message' event still names it) but no longer listed, searched
#   or counted. The partial index finds "the rows naming uid X in conversation Y" (waiting
#   or folded) at the cost of the few such rows; a query must say ``replaces <> ''`` for
#   the planner to use it.
# * ``messages.reply_quote``: the text a reply (XEP-0461) quotes of what it answers.
#
# Existing rows get ''. Corrections stored as messages by version 3 did not keep the id
# they name, so they stay messages of their own.
_V4_ORPHANS: Final = """
ALTER TABLE messages ADD COLUMN replaces TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN reply_quote TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_replacing ON messages (conversation_id, replaces) WHERE replaces <> '';
"""

# Version 5: bookmarks of group chats (XEP-0402), cached per account so the contact list
# shows them before sign-in. ``extensions`` is the bookmark's <extensions/> element as XML
# text ('' : none), kept as another client wrote it.
_V5_BOOKMARKS: Final = """
CREATE TABLE bookmarks (
    account TEXT NOT NULL,
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    nick TEXT NOT NULL,
    password TEXT NOT NULL,
    autojoin INTEGER NOT NULL,
    extensions TEXT NOT NULL,
    PRIMARY KEY (account, room)
) WITHOUT ROWID;
"""

# Version 7: message payloads (conversations-api.md: a message's ``payload``, carried as
# XEP-0335 JSON). ``messages.payload`` is the JSON array of objects as text ('' : none).
# Existing rows get ''. The Conversations API names messages by their uuid (``muuid``):
# an index finds one in its conversation.
_V7_PAYLOADS: Final = """
ALTER TABLE messages ADD COLUMN payload TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_by_muuid ON messages (conversation_id, muuid);
"""


# Version 6: IM ids (conversations-api.md section 1), a stable local integer per bare
# address. AUTOINCREMENT: SQLite never gives an id twice (sqlite_sequence keeps the
# highest ever given), so an id stays unused for good even if its row ever went.
_V6_IM_IDS: Final = """
CREATE TABLE im_ids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL UNIQUE
);
"""


# Version 8: letters (gateways.md: the XML-RPC gateway's ``sendmessage``). ``messages.letter``
# is 1 on one of ours sent as a letter: a single message, type ``normal``, whether or not
# it has a subject; kept so that a letter still waiting in the outbox is sent as one after
# a restart. Existing rows get 0 (one with a subject is sent as type ``normal`` anyway).
_V8_LETTERS: Final = """
ALTER TABLE messages ADD COLUMN letter INTEGER NOT NULL DEFAULT 0;
"""


# Version 9: files (XEP-0363 upload, XEP-0066 links). A message's link is kept with it;
# its attachment (one per message) keeps the transfer: name, size, type, where the file
# is on this disk, and where its transfer stands (chinwag.core.attachments).
_V9_ATTACHMENTS: Final = """
ALTER TABLE messages ADD COLUMN oob_url TEXT NOT NULL DEFAULT '';
CREATE TABLE attachments (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id),
    account TEXT NOT NULL,
    direction INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    url TEXT NOT NULL,
    local_path TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX attachments_unfinished ON attachments (state)
    WHERE state IN ('uploading', 'downloading');
"""


# Version 10: a file's message while its file uploads has a state of its own, HELD (5),
# instead of FAILED (4) with the error "waiting for its file to be uploaded" (how version
# 9 held it: nothing sends a failed message by itself). Such rows become HELD (their
# attachment then says how the upload stands: the file service settles them on start,
# see chinwag.core.files). A partial index finds the held messages, usually none.
_V10_HELD: Final = """
UPDATE messages SET state = 5, error = ''
    WHERE direction = 1 AND state = 4 AND error = 'waiting for its file to be uploaded';
CREATE INDEX messages_held ON messages (id) WHERE direction = 1 AND state = 5;
"""


def conversation_uuid(account: str, peer: str, kind: str) -> str:
    """The spec's uuid of the conversation (account, peer, kind): a room's from its
    address, a direct conversation's from both addresses."""
    if kind == ConversationKind.GROUPCHAT:
        return room_uuid(peer)
    return direct_uuid(account, peer)


def _v3_conversations(conn: sqlite3.Connection) -> None:
    for statement in split_script(_V3_SCHEMA):
        conn.execute(statement)
    conn.create_function("chinwag_conversation_uuid", 3, conversation_uuid, deterministic=True)
    conn.create_function("chinwag_message_uuid", 2, direct_message_uuid, deterministic=True)
    try:
        conn.execute(_V3_FILL_CONVERSATIONS, {"now": time.time()})
        conn.execute("CREATE UNIQUE INDEX conversations_by_uuid ON conversations (account, uuid)")
        start = conn.execute("SELECT min(id) FROM messages").fetchone()[0]
        while start is not None:
            end = start + V3_UUID_SLICE
            conn.execute(_V3_FILL_MESSAGE_UUIDS, (start, end))
            start = conn.execute("SELECT min(id) FROM messages WHERE id >= ?", (end,)).fetchone()[0]
        conn.execute(_V3_FILL_EVENTS)
        conn.execute(_V3_FILL_SEQUENCES)
    finally:
        conn.create_function("chinwag_conversation_uuid", 3, None)
        conn.create_function("chinwag_message_uuid", 2, None)


#: Every migration, in order: index N-1 brings ``user_version`` N-1 to N.
MIGRATIONS: Final[tuple[Migration, ...]] = (
    _V1_SCHEMA,
    _V2_RECEIVED_LOG,
    _v3_conversations,
    _V4_ORPHANS,
    _V5_BOOKMARKS,
    _V6_IM_IDS,
    _V7_PAYLOADS,
    _V8_LETTERS,
    _V9_ATTACHMENTS,
    _V10_HELD,
)

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
    migrated = False
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
        migrated = True
    if migrated:
        # A migration that rewrote much leaves a WAL as big as what it wrote, kept on disk
        # for as long as the database is open: give it back now (nobody reads yet; if
        # someone does, this does what it can and the WAL is reused).
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return current
