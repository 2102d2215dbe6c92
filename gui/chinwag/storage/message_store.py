"""The SQLite implementation of :class:`chinwag.core.ports.MessageStore`.

Owns message history, the roster and bookmark caches and per-account sync state. Writes are
coroutines run on the :class:`~chinwag.storage.database.Database` writer thread and
group-committed; reads are plain calls on the read connection. Paging is keyset paging on
``(timestamp, id)`` over the ``messages_by_time`` index, so a page costs O(limit) however
long the conversation. The SQL of the hot reads is kept in module constants so tests can
check their query plans.

Rows become :class:`~chinwag.core.models.Message` in exactly one place
(:func:`message_from_row`) and messages become rows in one place
(:func:`_insert_params`)."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, TypeVar

from chinwag.core.errors import StorageUnavailable
from chinwag.core.models import (
    DUPLICATE,
    MAX_REACTION_CHARS,
    MAX_REACTIONS,
    REFUSED_NOT_AUTHOR,
    REFUSED_UNKNOWN,
    ActionOutcome,
    Bookmark,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationKey,
    ConversationKind,
    Direction,
    EventKind,
    Identified,
    LoggedMessage,
    Message,
    MessageAction,
    MessageState,
    MessageType,
    Origin,
    PageAnchor,
    Received,
    Report,
    SearchHit,
    Subscription,
    reports_for,
    room_message_uuid,
)
from chinwag.storage.database import Database
from chinwag.storage.migrations import conversation_uuid
from chinwag.storage.search import match_expression

T = TypeVar("T")

# -- errors ------------------------------------------------------------------------------

#: SQLite result codes (the low byte of an extended code) that say the machine cannot
#: take a write now, whatever was written: busy, locked, no memory, read-only, I/O error,
#: disk full, cannot open.
_UNAVAILABLE_CODES: Final = frozenset({5, 6, 7, 8, 10, 13, 14})


def unavailable(exc: BaseException) -> StorageUnavailable | None:
    """The core's error for an SQLite error that a later retry may get past, else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _UNAVAILABLE_CODES:
        return StorageUnavailable(f"the history cannot be written: {exc}")
    return None


# -- rows <-> messages -------------------------------------------------------------------

#: Every query that returns messages selects these columns, in this order.
MESSAGE_COLUMNS: Final = (
    "m.id, c.account, c.peer, c.kind, m.direction, m.uid, m.stanza_id, m.sender, "
    "m.sender_resource, m.body, m.timestamp, m.state, m.error, m.mtype, m.origin, "
    "m.subject, m.flags, m.reply_to, m.reply_to_jid, m.edited_at, m.removed, "
    "m.reply_quote, m.payload, m.letter, m.oob_url, "
    # the sequence of the event that stored it (one index probe per row)
    "(SELECT e.sequence FROM conversation_events AS e INDEXED BY "
    "conversation_events_by_message WHERE e.message_id = m.id AND e.kind = 'message'), "
    "m.conversation_id"
)
_FROM: Final = "messages AS m JOIN conversations AS c ON c.id = m.conversation_id"
_N_COLUMNS: Final = 27

#: ``messages.removed`` of a correction that was kept as a message of its own (its target
#: had not reached us) and has been applied to its target since: the row is kept but no
#: longer listed, searched or counted (read back, it is ``removed``). 1: retracted.
FOLDED: Final = 2


# Enum members by value: a dict look-up is several times cheaper than calling the enum,
# and a page of history or a GetReceived answer converts thousands of rows.
_KINDS: Final = {k.value: k for k in ConversationKind}
_DIRECTIONS: Final = {d.value: d for d in Direction}
_STATES: Final = {s.value: s for s in MessageState}
_MTYPES: Final = {t.value: t for t in MessageType}
_ORIGINS: Final = {o.value: o for o in Origin}


def message_from_row(row: Sequence[Any]) -> Message:
    """A :class:`Message` from a row selected with :data:`MESSAGE_COLUMNS`."""
    return Message(
        id=row[0],
        account=row[1],
        peer=row[2],
        kind=_KINDS[row[3]],
        direction=_DIRECTIONS[row[4]],
        uid=row[5],
        stanza_id=row[6] or "",
        sender=row[7],
        sender_resource=row[8],
        body=row[9],
        timestamp=row[10],
        state=_STATES[row[11]],
        error=row[12],
        mtype=_MTYPES[row[13]],
        origin=_ORIGINS[row[14]],
        subject=row[15],
        flags=row[16],
        reply_to=row[17],
        reply_to_jid=row[18],
        edited_at=row[19],
        removed=bool(row[20]),
        reply_quote=row[21],
        payload=row[22],
        letter=bool(row[23]),
        oob_url=row[24],
        sequence=row[25] or 0,
    )


_INSERT_SQL: Final = """
INSERT INTO messages (
    conversation_id, direction, uid, stanza_id, sender, sender_resource, body, timestamp,
    state, error, mtype, origin, subject, flags, search_key, muuid, reply_to, reply_to_jid,
    edited_at, removed, replaces, reply_quote, payload, letter, oob_url
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (conversation_id, direction, uid) DO NOTHING
"""


def _insert_params(
    message: Message, conversation_id: int, stanza_id: str | None, search_key: int
) -> tuple[Any, ...]:
    return (
        conversation_id,
        int(message.direction),
        message.uid,
        stanza_id,
        message.sender,
        message.sender_resource,
        message.body,
        float(message.timestamp),
        int(message.state),
        message.error,
        int(message.mtype),
        int(message.origin),
        message.subject,
        int(message.flags),
        search_key,
        message.uuid,
        message.reply_to,
        message.reply_to_jid,
        float(message.edited_at),
        int(bool(message.removed)),
        message.replaces,
        message.reply_quote,
        message.payload,
        int(bool(message.letter)),
        message.oob_url,
    )


# -- state machine -----------------------------------------------------------------------

_FORWARD: Final = {
    MessageState.QUEUED: 0,
    MessageState.SENT: 1,
    MessageState.DELIVERED: 2,
    MessageState.READ: 3,
}


def can_advance(old: MessageState, new: MessageState) -> bool:
    """Whether an outgoing message may move from ``old`` to ``new``: forward along
    queued < sent < delivered < read; to failed from queued, sent or held; back to queued
    from failed (a retry) or held (released: its file is uploaded); to held from failed
    (its file is uploaded again). Anything else, including staying put, is not a move."""
    if old in _FORWARD and new in _FORWARD:
        return _FORWARD[new] > _FORWARD[old]
    if new is MessageState.FAILED:
        return old in (MessageState.QUEUED, MessageState.SENT, MessageState.HELD)
    if new is MessageState.QUEUED:
        return old in (MessageState.FAILED, MessageState.HELD)
    if new is MessageState.HELD:
        return old is MessageState.FAILED
    return False


# -- the event log and actions ---------------------------------------------------------

_NEXT_SEQUENCE_SQL: Final = """
UPDATE conversations SET
    last_sequence = last_sequence + 1,
    created = min(created, :at),
    updated = max(updated, :at)
WHERE id = :id
RETURNING last_sequence
"""

_APPEND_EVENT_SQL: Final = """
INSERT INTO conversation_events (
    conversation_id, sequence, kind, message_id, author, timestamp, stanza_id, origin_id, data
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def _author(message: Message) -> str:
    """Who wrote ``message`` (or did the action it is), as a bare address: the account
    for our own, else its sender (the peer where none was recorded). As the core's
    ``author_of``."""
    if message.outgoing:
        return message.account
    return message.sender or message.peer


def _append_event(
    conn: sqlite3.Connection,
    conversation_id: int,
    kind: EventKind,
    message_id: int | None,
    author: str,
    timestamp: float,
    *,
    stanza_id: str = "",
    origin_id: str = "",
    data: str = "",
) -> int:
    """Append an event to the conversation's log with its next sequence (the counter and
    the row in the same transaction: no gap, no reuse); return the sequence. Its author
    gets an IM id (conversations-api.md section 1) in the same transaction, so every
    logged event's author has one."""
    if author:
        conn.execute("INSERT OR IGNORE INTO im_ids (address) VALUES (?)", (author,))
    rows = conn.execute(
        _NEXT_SEQUENCE_SQL, {"at": float(timestamp), "id": conversation_id}
    ).fetchall()
    sequence = int(rows[0][0])
    conn.execute(
        _APPEND_EVENT_SQL,
        (
            conversation_id,
            sequence,
            str(kind),
            message_id,
            author,
            float(timestamp),
            stanza_id or None,
            origin_id or None,
            data,
        ),
    )
    return sequence


#: Why an action was not applied (:attr:`ActionOutcome.refused`).
REFUSED_NOT_AN_ACTION: Final = "not an action"
REFUSED_REMOVED: Final = "already removed"
REFUSED_DUPLICATE: Final = DUPLICATE
REFUSED_TOO_MANY: Final = "too many reactions"
REFUSED_TOO_LONG: Final = "reaction too long"
REFUSED_EMPTY: Final = "empty correction"
REFUSED_OUTDATED: Final = "outdated"
REFUSED_BAD_TIME: Final = "bad timestamp"

# The candidates for an action's target: the conversation's messages with that id, ours
# first (as GET_SQL). Not a folded correction: that id names the message it corrected
# now (found by its edit event, as for a correction that never waited).
_TARGETS_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE m.conversation_id = ? AND m.direction IN (0, 1) AND m.uid = ? AND m.removed <> {FOLDED:d}
ORDER BY m.direction DESC
"""
# In a room, retractions, reactions and replies name a message by the room's stanza id
# (XEP-0424, XEP-0444, XEP-0461 for groupchat).
_TARGETS_BY_STANZA_ID_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE m.stanza_id = ? AND m.conversation_id = ? AND m.removed <> {FOLDED:d}
ORDER BY m.direction DESC
"""
# A correction chain that names an earlier correction instead of the first message.
_CORRECTED_BY_SQL: Final = """
SELECT message_id FROM conversation_events INDEXED BY conversation_events_by_origin
WHERE conversation_id = ? AND origin_id = ? AND kind = 'edit'
LIMIT 1
"""
_SEEN_ACTION_SQL: Final = """
SELECT 1 FROM conversation_events INDEXED BY conversation_events_by_origin
WHERE conversation_id = ? AND origin_id = ? AND message_id = ?
LIMIT 1
"""

# The corrections kept as messages that name ``uid`` and wait for it, oldest first.
_WAITING_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM messages AS m INDEXED BY messages_replacing
JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = ? AND m.replaces = ? AND m.replaces <> '' AND m.removed = 0
ORDER BY m.timestamp, m.id
"""

REACTIONS_SQL: Final = """
SELECT message_id, sender, reactions FROM reactions
WHERE message_id IN ({marks}) AND reactions <> '[]'
ORDER BY message_id, timestamp, sender
"""

EDITS_SQL: Final = """
SELECT timestamp, data FROM conversation_events INDEXED BY conversation_events_by_message
WHERE message_id = ? AND kind = 'edit'
ORDER BY conversation_id, sequence  -- one conversation: the index order, no sort
"""

EVENTS_AFTER_SQL: Final = """
SELECT e.sequence, e.kind, e.message_id, coalesce(m.muuid, ''), e.author, e.timestamp, e.data
FROM conversation_events AS e LEFT JOIN messages AS m ON m.id = e.message_id
WHERE e.conversation_id = ? AND e.sequence > ?
ORDER BY e.sequence LIMIT ?
"""

_KNOWN_CONVERSATIONS_SQL: Final = """
SELECT peer, kind, uuid FROM conversations WHERE account = ? ORDER BY id
"""

_CONVERSATION_BY_UUID_SQL: Final = """
SELECT peer, kind FROM conversations WHERE account = ? AND uuid = ?
"""

_LAST_MEMBERSHIP_SQL: Final = """
SELECT kind FROM conversation_events
WHERE conversation_id = ? AND author = ? AND kind IN ('created', 'join', 'leave')
ORDER BY sequence DESC LIMIT 1
"""

_CONVERSATION_INFO_SQL: Final = """
SELECT uuid, title, created, updated, last_sequence, read_sequence
FROM conversations WHERE id = ?
"""

_MESSAGE_SEQUENCE_SQL: Final = """
SELECT sequence FROM conversation_events INDEXED BY conversation_events_by_message
WHERE message_id = ? AND kind = 'message'
"""

# Forward only, and never past the log's end.
_SET_READ_SEQUENCE_SQL: Final = """
UPDATE conversations SET read_sequence = min(:sequence, last_sequence)
WHERE id = :id AND read_sequence < min(:sequence, last_sequence)
"""

_EVENT_KINDS: Final = {k.value: k for k in EventKind}
#: Message ids per statement in :meth:`SqliteMessageStore.reactions`.
_IDS_PER_QUERY: Final = 500


# -- search keys ---------------------------------------------------------------------------

#: Low bits of a search key: the insertion rank among messages of the same millisecond.
SEARCH_KEY_SLOT_BITS: Final = 20
# The last millisecond whose whole bucket (start and end) fits in a signed 64-bit INTEGER.
_MAX_MS: Final = (1 << (63 - SEARCH_KEY_SLOT_BITS)) - 2  # year 2248


def search_key_bucket(timestamp: float) -> int:
    """The first search key of the millisecond of ``timestamp``.

    The full-text index is keyed by ``search_key`` = (milliseconds << 20) + rank, so its
    rowid order is time order and "newest first" is a reverse index walk with LIMIT, not a
    sort of every hit (a common word hits hundreds of thousands of rows)."""
    ms = math.floor(timestamp * 1000) if math.isfinite(timestamp) else 0
    return min(max(ms, 0), _MAX_MS) << SEARCH_KEY_SLOT_BITS


def _next_search_key(conn: sqlite3.Connection, timestamp: float) -> int:
    start = search_key_bucket(timestamp)
    end = start + (1 << SEARCH_KEY_SLOT_BITS)
    row = conn.execute(
        "SELECT search_key FROM messages WHERE search_key >= ? AND search_key < ? "
        "ORDER BY search_key DESC LIMIT 1",
        (start, end),
    ).fetchone()
    if row is None:
        return start
    if row[0] + 1 < end:
        return int(row[0]) + 1
    # A million messages in one millisecond (a broken import): stay unique, lose order.
    newest: int = conn.execute("SELECT max(search_key) FROM messages").fetchone()[0]
    return newest + 1


# -- SQL of the reads (module constants so tests can EXPLAIN them) -----------------------

LATEST_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE m.conversation_id = ? AND m.removed <> {FOLDED:d}
ORDER BY m.timestamp DESC, m.id DESC LIMIT ?
"""

BEFORE_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE m.conversation_id = ? AND (m.timestamp, m.id) < (?, ?) AND m.removed <> {FOLDED:d}
ORDER BY m.timestamp DESC, m.id DESC LIMIT ?
"""

AFTER_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE m.conversation_id = ? AND (m.timestamp, m.id) > (?, ?) AND m.removed <> {FOLDED:d}
ORDER BY m.timestamp, m.id LIMIT ?
"""

# Folded corrections are few, and found by the index of the rows naming a target.
COUNT_SQL: Final = f"""
SELECT count(*) - (
    SELECT count(*) FROM messages INDEXED BY messages_replacing
    WHERE conversation_id = ?1 AND replaces <> '' AND removed = {FOLDED:d}
)
FROM messages WHERE conversation_id = ?1
"""

# Unread: the others' messages (incoming, not removed) stored by events after our read
# position (conversations.read_sequence), whatever their DISPLAYED state says: reading on
# another device moves the position (our displayed marker, as a carbon), and a message
# learnt late (the archive: an old timestamp, a new sequence) is after it. The log's
# primary key gives the events after the position as a range: the work is that of the
# unread part of the log, no index needed. CROSS JOIN keeps the conversations outermost
# (SQLite does not reorder it): otherwise the planner may scan the whole log.
UNREAD_COUNT_SQL: Final = """
SELECT count(*)
FROM conversations AS c
CROSS JOIN conversation_events AS e ON e.conversation_id = c.id AND e.sequence > c.read_sequence
JOIN messages AS m ON m.id = e.message_id
WHERE c.id = ? AND e.kind = 'message' AND m.direction = 0 AND m.removed = 0
"""

UNREAD_COUNTS_SQL: Final = """
SELECT c.account, c.peer, c.kind, count(*)
FROM conversations AS c
CROSS JOIN conversation_events AS e ON e.conversation_id = c.id AND e.sequence > c.read_sequence
JOIN messages AS m ON m.id = e.message_id
WHERE c.last_sequence > c.read_sequence AND e.kind = 'message' AND m.direction = 0
    AND m.removed = 0 {where}
GROUP BY c.id
"""

# How far "seen up to (timestamp, id)" moves our read position: past every message event
# after it whose message is at or before that point in time, so history learnt late (an
# old timestamp, a new sequence) that was on screen above it is read too.
SEEN_UP_TO_SEQUENCE_SQL: Final = """
SELECT max(e.sequence)
FROM conversations AS c
CROSS JOIN conversation_events AS e ON e.conversation_id = c.id AND e.sequence > c.read_sequence
JOIN messages AS m ON m.id = e.message_id
WHERE c.id = ? AND e.kind = 'message' AND (m.timestamp, m.id) <= (?, ?)
"""

PENDING_OUTGOING_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS}
FROM messages AS m INDEXED BY messages_queued
JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.direction = 1 AND m.state = 0 AND c.account = ? AND m.removed = 0
ORDER BY m.timestamp, m.id
"""

# held_outgoing: our messages waiting for their files (a few at most)
HELD_OUTGOING_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS}
FROM messages AS m INDEXED BY messages_held
JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.direction = 1 AND m.state = 5
ORDER BY m.id
"""

UNREAD_BY_PEER_UP_TO_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS}
FROM messages AS m INDEXED BY messages_unread_by_peer
JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = ? AND m.direction = 1 AND m.state IN (0, 1, 2)
    AND (m.timestamp, m.id) <= (?, ?)
ORDER BY m.timestamp, m.id
"""

UNSEEN_UP_TO_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS}
FROM messages AS m INDEXED BY messages_unseen
JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = ? AND m.direction = 0 AND m.state = 10
    AND (m.timestamp, m.id) <= (?, ?)
ORDER BY m.timestamp, m.id
"""

STANZA_ID_TAKEN_SQL: Final = """
SELECT 1 FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.stanza_id = ? AND c.account = ? LIMIT 1
"""

# The message ``uid`` of a conversation with ``peer`` (of the kind given, or any: our own
# uids are random, so an outgoing one names one message whatever the kind). With
# ``direction IN (0, 1)`` all three columns of the (conversation, direction, uid) index are
# used. Outgoing first: our uids are random, a clash means an echo of our own message.
_BY_UID_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM conversations AS c
JOIN messages AS m ON m.conversation_id = c.id
WHERE c.account = ? AND c.peer = ? AND m.direction IN ({{directions}}) AND m.uid = ?
    {{kind}}
ORDER BY m.direction DESC, m.id LIMIT 1
"""
GET_SQL: Final = _BY_UID_SQL.format(directions="0, 1", kind="")
GET_IN_SQL: Final = _BY_UID_SQL.format(directions="0, 1", kind="AND c.kind = ?")
GET_OUTGOING_SQL: Final = _BY_UID_SQL.format(directions="1", kind="")

GET_BY_ID_SQL: Final = f"SELECT {MESSAGE_COLUMNS} FROM {_FROM} WHERE m.id = ?"
LOGGED_MESSAGES_SQL: Final = """
SELECT m.id, m.body, m.payload, m.edited_at, m.removed,
    (SELECT e.sequence FROM conversation_events AS e INDEXED BY conversation_events_by_message
     WHERE e.message_id = m.id AND e.kind = 'message')
FROM messages AS m WHERE m.id IN ({marks})
"""
INCOMING_UP_TO_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM conversation_events AS e
JOIN messages AS m ON m.id = e.message_id
JOIN conversations AS c ON c.id = m.conversation_id
WHERE e.conversation_id = ? AND e.sequence <= ? AND e.kind = 'message'
    AND m.direction = 0 AND m.removed = 0
ORDER BY e.sequence DESC LIMIT 1
"""
GET_BY_UUID_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM messages AS m INDEXED BY messages_by_muuid
JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = ? AND m.muuid = ? AND m.removed <> {FOLDED:d}
ORDER BY m.id LIMIT 1
"""

#: The one-to-one messages of an account across its conversations, newest first (the
#: XML-RPC gateway's inbox): {direction} filters by direction or is empty.
LETTERS_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE c.account = ? AND c.kind = 'chat' AND m.removed = 0 AND m.timestamp >= ?{{direction}}
ORDER BY m.timestamp DESC, m.id DESC LIMIT ? OFFSET ?
"""
CONVERSATIONS_SQL: Final = """
SELECT account, peer, kind, newest FROM (
    SELECT c.id, c.account, c.peer, c.kind, (
        SELECT m.timestamp FROM messages AS m WHERE m.conversation_id = c.id
        ORDER BY m.timestamp DESC, m.id DESC LIMIT 1
    ) AS newest
    FROM conversations AS c {where}
)
WHERE newest IS NOT NULL
ORDER BY newest DESC, id DESC
"""

#: Tokens of context around the matches in a search snippet.
SNIPPET_TOKENS: Final = 12
#: In one conversation the MATCH is ``conversation_id : "N" AND body : (...)``: FTS5 walks
#: the conversation's short doclist and skips ahead in the word's, so a common word costs
#: about 1.6 ms of index work for 200 hits (bench_search, 1M messages, 'the' in a 900-
#: message conversation; rows and snippets are the other ~3 ms, whatever the plan).
#: Measured and dropped: driving it from the conversation side (a ``rowid = ?`` probe of
#: the index per message, newest first) takes 6.4 ms for the same 200 hits, and 195 ms
#: for 400 probes of 'meeting tomor' (a prefix longer than the prefix indexes is merged
#: again at every probe); an ascending walk from a bound taken from the conversation's
#: doclist gains at most 0.5 ms and is 2-4 times slower when the word is rare there.
SEARCH_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS},
    snippet(messages_fts, 0, char(2), char(3), '…', {SNIPPET_TOKENS:d})
FROM messages_fts
JOIN messages AS m ON m.search_key = messages_fts.rowid
JOIN conversations AS c ON c.id = m.conversation_id
WHERE messages_fts MATCH ? AND m.removed <> {FOLDED:d}
ORDER BY messages_fts.rowid DESC LIMIT ?
"""

#: A search limited to a span of time: the FTS rowid is the time-ordered search key, so
#: the span is a rowid range of the index walk (no sort, no scan of the other hits).
SEARCH_SPAN_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS},
    snippet(messages_fts, 0, char(2), char(3), '…', {SNIPPET_TOKENS:d})
FROM messages_fts
JOIN messages AS m ON m.search_key = messages_fts.rowid
JOIN conversations AS c ON c.id = m.conversation_id
WHERE messages_fts MATCH ? AND messages_fts.rowid >= ? AND messages_fts.rowid < ?
    AND m.removed <> {FOLDED:d}
ORDER BY messages_fts.rowid DESC LIMIT ?
"""
#: The first message of a conversation stamped at or after a moment (jump to a date).
FIRST_FROM_SQL: Final = f"""
SELECT {MESSAGE_COLUMNS} FROM {_FROM}
WHERE m.conversation_id = ? AND m.timestamp >= ? AND m.removed <> {FOLDED:d}
ORDER BY m.timestamp, m.id LIMIT 1
"""

RECEIVED_AFTER_SQL: Final = f"""
SELECT r.sequence, r.at, r.report, r.error, {MESSAGE_COLUMNS}
FROM received AS r
JOIN messages AS m ON m.id = r.message_id
JOIN conversations AS c ON c.id = m.conversation_id
WHERE r.account = ? AND r.sequence > ?
ORDER BY r.sequence LIMIT ?
"""

_CONVERSATION_ID_SQL: Final = (
    "SELECT id FROM conversations WHERE account = ? AND peer = ? AND kind = ?"
)


class SqliteMessageStore:
    """Message history, roster cache and sync state in one SQLite database.

    Implements :class:`chinwag.core.ports.MessageStore`. Build with :meth:`open`; call
    :meth:`close` (a coroutine) before the event loop stops."""

    def __init__(self, database: Database) -> None:
        self._db = database
        # Conversation ids are never deleted, so both sides may cache them. The write side
        # forgets its cache on any rollback (an id created by a rolled-back write is gone).
        self._read_conversations: dict[ConversationKey, int] = {}
        self._write_conversations: dict[ConversationKey, int] = {}
        database.add_rollback_listener(self._write_conversations.clear)
        #: Called on the loop with the received-log entries of each committed write.
        self.on_received: Callable[[list[Received]], None] | None = None

    @classmethod
    def open(cls, path: str | Path) -> SqliteMessageStore:
        """Open (creating and migrating as needed) the store at ``path``; ``":memory:"``
        gives a private in-memory store for tests."""
        return cls(Database.open(path))

    @property
    def database(self) -> Database:
        return self._db

    async def close(self) -> None:
        await self._db.close()

    # -- writes ---------------------------------------------------------------------------

    async def _write(
        self,
        fn: Callable[[sqlite3.Connection], T],
        on_commit: Callable[[T], None] | None = None,
    ) -> T:
        """A write whose failure for want of disk (or the like) is a StorageUnavailable."""
        try:
            return await self._db.write(fn, on_commit)
        except sqlite3.Error as exc:
            error = unavailable(exc)
            if error is None:
                raise
            raise error from exc

    async def _write_logging(self, fn: Callable[[sqlite3.Connection, list[Received]], T]) -> T:
        """A write that may add to the received log: what it added is handed to
        :attr:`on_received` once committed (even when the caller stopped waiting)."""
        entries: list[Received] = []

        def run(conn: sqlite3.Connection) -> T:
            entries.clear()
            return fn(conn, entries)

        def committed(_result: T) -> None:
            if entries and self.on_received is not None:
                self.on_received(list(entries))

        return await self._write(run, committed)

    @staticmethod
    def _log_received(
        conn: sqlite3.Connection,
        entries: list[Received],
        items: Sequence[tuple[Message, Report | None, str]],
    ) -> None:
        """Give each (message, report, error) the next sequence of its account, in order:
        a message received (report None), or a report on one of ours."""
        last: dict[str, int] = {}
        at = int(time.time())
        rows: list[tuple[Any, ...]] = []
        for message, report, error in items:
            account = message.account
            if account not in last:
                row = conn.execute(
                    "SELECT last FROM received_counter WHERE account = ?", (account,)
                ).fetchone()
                last[account] = row[0] if row is not None else 0
            sequence = last[account] = last[account] + 1
            rows.append((account, sequence, message.id, int(report or 0), at, error))
            entries.append(Received(account, sequence, at, message, report, error))
        if not rows:
            return
        conn.executemany(
            "INSERT INTO received (account, sequence, message_id, report, at, error) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO received_counter (account, last) VALUES (?, ?) "
            "ON CONFLICT (account) DO UPDATE SET last = excluded.last",
            list(last.items()),
        )

    def _log_reports(
        self,
        conn: sqlite3.Connection,
        entries: list[Received],
        changes: Sequence[tuple[Message, Message]],
    ) -> None:
        """Log the reports the state changes (before, after) of our messages make."""
        items: list[tuple[Message, Report | None, str]] = []
        for before, after in changes:
            for report in reports_for(before, before.state, after.state):
                failed = report is Report.PERMANENTLY_FAILED
                items.append((after, report, (after.error or "not delivered") if failed else ""))
        self._log_received(conn, entries, items)

    async def add_outgoing(self, message: Message) -> Message:
        if message.direction != Direction.OUTGOING:
            raise ValueError("add_outgoing() takes outgoing messages only")

        def add(conn: sqlite3.Connection) -> Message:
            stored = self._insert(conn, message, from_elsewhere=False)
            if stored is not None:
                return stored
            row = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM {_FROM} "
                "WHERE m.conversation_id = ? AND m.direction = 1 AND m.uid = ?",
                (self._write_conversation_id(conn, message.key), message.uid),
            ).fetchone()
            return message_from_row(row)

        return await self._write(add)

    async def add_incoming(self, messages: Sequence[Message]) -> list[Message]:
        done = await self.add_received(messages)
        return [message for message in done if isinstance(message, Message)]

    async def add_received(
        self, messages: Sequence[Message]
    ) -> list[Message | ActionOutcome | Identified]:
        """As :meth:`add_incoming` (see the port), returning what storing did in order:
        each message new to the history, as it is now, followed by the outcome of each
        correction that waited for it and was folded into it. A correction to keep as a
        message (``replaces`` set) is first tried on its target again, in this
        transaction: if that has been stored since, it is applied instead (its outcome
        returned, nothing stored), so no correction waits for a message already here."""
        if not messages:
            return []
        batch = list(messages)

        def add(
            conn: sqlite3.Connection, entries: list[Received]
        ) -> list[Message | ActionOutcome | Identified]:
            done: list[Message | ActionOutcome | Identified] = []
            added: list[Message] = []
            for each in batch:
                message = each
                if message.replaces:
                    # A correction refused for want of its target, in a transaction
                    # before this one: another batch (the archive's, say) may have
                    # stored the target, or applied this very correction, since.
                    outcome = self._apply_action(conn, message)
                    if outcome.refused == REFUSED_NOT_AUTHOR:
                        message = replace(message, replaces="")
                    elif outcome.refused != REFUSED_UNKNOWN:
                        done.append(outcome)  # applied after all, or seen applied
                        continue
                identified: list[Message] = []
                stored = self._insert(conn, message, from_elsewhere=True, identified=identified)
                done.extend(Identified(m) for m in identified)
                if stored is None:
                    continue
                stored, folded = self._fold_waiting(conn, stored)
                added.append(stored)
                done.append(stored)
                done.extend(folded)
            received = [(m, None, "") for m in added if m.direction is Direction.INCOMING]
            self._log_received(conn, entries, received)
            return done

        return await self._write_logging(add)

    async def apply_actions(self, actions: Sequence[Message]) -> list[ActionOutcome]:
        """Apply each correction, retraction or reaction to its target, in order, in one
        transaction (see the port). Never raises for what the actions say: each is
        applied or refused with a reason (the ``REFUSED_*`` constants), the target then
        being the message as it is (None when no target was found). An action applied
        before (the same action id on the same target: live, then as a carbon or from
        the archive) is refused as ``"duplicate"`` and changes nothing.

        Out of order (the archive catching up after live messages): the newest
        correction by timestamp gives the text (an older one is logged, for the
        versions, but leaves the text); a sender's reactions older than those stored are
        refused as ``"outdated"``."""
        batch = list(actions)
        if not batch:
            return []

        def apply(conn: sqlite3.Connection) -> list[ActionOutcome]:
            return [self._apply_action(conn, action) for action in batch]

        return await self._write(apply)

    def _apply_action(self, conn: sqlite3.Connection, action: Message) -> ActionOutcome:
        """One action in a savepoint of its own: a value that cannot be stored (SQLite
        or JSON refuses it) refuses this action only; the machine's errors (disk full,
        I/O) fail the write as any other."""
        conn.execute("SAVEPOINT action")
        try:
            outcome = self._apply_one(conn, action)
        except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:
            if unavailable(exc) is not None or not conn.in_transaction:
                raise
            conn.execute("ROLLBACK TO action")
            conn.execute("RELEASE action")
            return ActionOutcome(action, None, f"invalid: {exc}")
        conn.execute("RELEASE action")
        return outcome

    def _apply_one(self, conn: sqlite3.Connection, action: Message) -> ActionOutcome:
        kind = action.action
        if kind is MessageAction.NEW:
            return ActionOutcome(action, None, REFUSED_NOT_AN_ACTION)
        if not math.isfinite(action.timestamp):
            return ActionOutcome(action, None, REFUSED_BAD_TIME)
        conversation_id = self._write_conversation_id(conn, action.key, create=False)
        if conversation_id is None:
            return ActionOutcome(action, None, REFUSED_UNKNOWN)
        moderation = bool(action.moderated_by)
        if moderation and not (
            kind is MessageAction.RETRACT
            and action.kind is ConversationKind.GROUPCHAT
            and not action.outgoing
            and _author(action) == action.peer
        ):
            # XEP-0425: only the room itself (its bare address) removes anyone's message;
            # the same element from an occupant, or in a direct conversation, is forged.
            return ActionOutcome(action, None, REFUSED_NOT_AUTHOR)
        candidates = (
            []  # (a moderation names the room's stanza id, never a sender's own id)
            if moderation
            else [
                message_from_row(row)
                for row in conn.execute(_TARGETS_SQL, (conversation_id, action.target))
            ]
        )
        if not candidates and action.kind is ConversationKind.GROUPCHAT:
            candidates = [
                message_from_row(row)
                for row in conn.execute(_TARGETS_BY_STANZA_ID_SQL, (action.target, conversation_id))
            ]
        if not candidates:
            # Some clients name the previous correction of a chain, not the first message.
            row = conn.execute(_CORRECTED_BY_SQL, (conversation_id, action.target)).fetchone()
            if row is not None:
                row = conn.execute(GET_BY_ID_SQL, (row[0],)).fetchone()
                if row is not None:
                    candidates = [message_from_row(row)]
        if not candidates:
            return ActionOutcome(action, None, REFUSED_UNKNOWN)
        author = _author(action)
        target = candidates[0]
        if kind is not MessageAction.REACT and not moderation:
            # Only the author may correct or retract (conversations-api.md: authorship).
            mine = [message for message in candidates if _author(message) == author]
            if not mine:
                return ActionOutcome(action, target, REFUSED_NOT_AUTHOR)
            target = mine[0]
        assert target.id is not None
        if (
            action.uid
            and conn.execute(_SEEN_ACTION_SQL, (conversation_id, action.uid, target.id)).fetchone()
        ):
            return ActionOutcome(action, target, REFUSED_DUPLICATE)
        if target.removed:
            return ActionOutcome(action, target, REFUSED_REMOVED)

        if kind is MessageAction.CORRECT:
            if not action.body:
                return ActionOutcome(action, target, REFUSED_EMPTY)
            edit = {"text": action.body, "previous": target.body}
            if action.payload or target.payload:  # (a correction replaces the payload too)
                edit["payload"] = action.payload
            data = json.dumps(edit, ensure_ascii=False)
            if action.timestamp >= target.edited_at:
                conn.execute(
                    "UPDATE messages SET body = ?, payload = ?, edited_at = ? WHERE id = ?",
                    (action.body, action.payload, float(action.timestamp), target.id),
                )
                target = replace(
                    target,
                    body=action.body,
                    payload=action.payload,
                    edited_at=float(action.timestamp),
                )
            event = EventKind.EDIT
        elif kind is MessageAction.RETRACT:
            # Retraction means gone: the text, the texts it had before and its reactions.
            conn.execute(
                "UPDATE messages SET body = '', subject = '', payload = '', removed = 1 "
                "WHERE id = ?",
                (target.id,),
            )
            conn.execute(
                "UPDATE conversation_events SET data = '' "
                "WHERE message_id = ? AND kind = 'edit' AND data <> ''",
                (target.id,),
            )
            conn.execute("DELETE FROM reactions WHERE message_id = ?", (target.id,))
            target = replace(target, body="", subject="", payload="", removed=True)
            data = (
                json.dumps(
                    {"moderated_by": action.moderated_by, "reason": action.moderation_reason},
                    ensure_ascii=False,
                )
                if moderation
                else ""
            )
            event = EventKind.REMOVE
        else:
            reactions = tuple(dict.fromkeys(r for r in action.reactions if r))
            if len(reactions) > MAX_REACTIONS:
                return ActionOutcome(action, target, REFUSED_TOO_MANY)
            if any(len(r) > MAX_REACTION_CHARS for r in reactions):
                return ActionOutcome(action, target, REFUSED_TOO_LONG)
            row = conn.execute(
                "SELECT timestamp FROM reactions WHERE message_id = ? AND sender = ?",
                (target.id, author),
            ).fetchone()
            if row is not None and action.timestamp < row[0]:
                return ActionOutcome(action, target, REFUSED_OUTDATED)
            # All taken back is kept as '[]' with its time: an older set arriving late
            # (the archive) must still be refused as outdated.
            conn.execute(
                "INSERT INTO reactions (message_id, sender, reactions, timestamp) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (message_id, sender) DO UPDATE SET "
                "reactions = excluded.reactions, timestamp = excluded.timestamp",
                (
                    target.id,
                    author,
                    json.dumps(list(reactions), ensure_ascii=False),
                    float(action.timestamp),
                ),
            )
            data = json.dumps({"reactions": list(reactions)}, ensure_ascii=False)
            event = EventKind.REACTION
        sequence = _append_event(
            conn,
            conversation_id,
            event,
            target.id,
            author,
            action.timestamp,
            stanza_id=action.stanza_id,
            origin_id=action.uid,
            data=data,
        )
        return ActionOutcome(action, target, sequence=sequence)

    async def set_read_sequence(self, key: ConversationKey, sequence: int) -> int | None:
        """Move our read position in the conversation forward to ``sequence`` (never
        back, never past its last sequence). Returns the read position now, None for a
        conversation that does not exist."""

        def move(conn: sqlite3.Connection) -> int | None:
            conversation_id = self._write_conversation_id(conn, key, create=False)
            if conversation_id is None:
                return None
            conn.execute(_SET_READ_SEQUENCE_SQL, {"sequence": int(sequence), "id": conversation_id})
            row = conn.execute(
                "SELECT read_sequence FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            return int(row[0])

        return await self._write(move)

    async def set_read_position(
        self, key: ConversationKey, participant: str, sequence: int
    ) -> int | None:
        """Move ``participant``'s read position in the conversation forward to
        ``sequence`` (never back, never past its last sequence). Returns it now, None for
        a conversation that does not exist."""

        def move(conn: sqlite3.Connection) -> int | None:
            conversation_id = self._write_conversation_id(conn, key, create=False)
            if conversation_id is None:
                return None
            last = conn.execute(
                "SELECT last_sequence FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO read_positions (conversation_id, participant, sequence) "
                "VALUES (?, ?, ?) ON CONFLICT (conversation_id, participant) "
                "DO UPDATE SET sequence = max(sequence, excluded.sequence)",
                (conversation_id, participant, min(int(sequence), int(last))),
            )
            row = conn.execute(
                "SELECT sequence FROM read_positions WHERE conversation_id = ? AND participant = ?",
                (conversation_id, participant),
            ).fetchone()
            return int(row[0])

        return await self._write(move)

    def read_positions(self, key: ConversationKey) -> dict[str, int]:
        """The other participants' read positions (address -> sequence)."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return {}
        rows = self._db.query(
            "SELECT participant, sequence FROM read_positions WHERE conversation_id = ?",
            (conversation_id,),
        )
        return {str(p): int(n) for p, n in rows}

    async def update_state(
        self, account: str, peer: str, uid: str, state: MessageState, error: str = ""
    ) -> Message | None:
        state = MessageState(state)

        def update(conn: sqlite3.Connection, entries: list[Received]) -> Message | None:
            row = conn.execute(GET_OUTGOING_SQL, (account, peer, uid)).fetchone()
            if row is None:
                return None
            message = message_from_row(row)
            if not can_advance(message.state, state):
                return None
            new_error = error if state is MessageState.FAILED else ""
            conn.execute(
                "UPDATE messages SET state = ?, error = ? WHERE id = ?",
                (int(state), new_error, message.id),
            )
            updated = replace(message, state=state, error=new_error)
            self._log_reports(conn, entries, [(message, updated)])
            return updated

        return await self._write_logging(update)

    async def mark_read_up_to(self, account: str, peer: str, uid: str) -> list[Message]:
        def mark(conn: sqlite3.Connection, entries: list[Received]) -> list[Message]:
            target = conn.execute(GET_OUTGOING_SQL, (account, peer, uid)).fetchone()
            if target is None:
                return []
            rows = conn.execute(
                UNREAD_BY_PEER_UP_TO_SQL, (target[_N_COLUMNS - 1], target[10], target[0])
            ).fetchall()
            changed = [
                message
                for message in map(message_from_row, rows)
                if message.state in (MessageState.SENT, MessageState.DELIVERED)
                or (message.id == target[0] and message.state is MessageState.QUEUED)
            ]
            updated = self._set_states(conn, changed, MessageState.READ)
            self._log_reports(conn, entries, list(zip(changed, updated, strict=True)))
            return updated

        return await self._write_logging(mark)

    async def mark_displayed_up_to(self, key: ConversationKey, uid: str) -> list[Message]:
        def mark(conn: sqlite3.Connection) -> list[Message]:
            conversation_id = self._write_conversation_id(conn, key, create=False)
            if conversation_id is None:
                return []
            # "Seen up to uid": usually an incoming message, possibly our own reply.
            target = conn.execute(
                "SELECT timestamp, id FROM messages "
                "WHERE conversation_id = ? AND direction IN (0, 1) AND uid = ? "
                "ORDER BY direction LIMIT 1",
                (conversation_id, uid),
            ).fetchone()
            if target is None:
                return []
            rows = conn.execute(UNSEEN_UP_TO_SQL, (conversation_id, *target)).fetchall()
            changed = [message_from_row(row) for row in rows]
            # Our read position follows: forward to the message seen last, and past any
            # message learnt later that is before it in time (shown above it).
            (sequence,) = conn.execute(
                SEEN_UP_TO_SEQUENCE_SQL, (conversation_id, *target)
            ).fetchone()
            if sequence is not None:
                conn.execute(_SET_READ_SEQUENCE_SQL, {"sequence": sequence, "id": conversation_id})
            return self._set_states(conn, changed, MessageState.DISPLAYED)

        return await self._write(mark)

    async def set_stanza_id(self, account: str, peer: str, uid: str, stanza_id: str) -> None:
        if not stanza_id:
            return

        def set_id(conn: sqlite3.Connection) -> None:
            row = conn.execute(GET_SQL, (account, peer, uid)).fetchone()
            if row is None or row[6] is not None:  # unknown, or it has one: first wins
                return
            if conn.execute(STANZA_ID_TAKEN_SQL, (stanza_id, account)).fetchone():
                return  # another message of the account has it: keep ids unique
            conn.execute("UPDATE messages SET stanza_id = ? WHERE id = ?", (stanza_id, row[0]))

        await self._write(set_id)

    async def set_sync_state(self, account: str, name: str, value: str) -> None:
        def set_value(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO sync_state (account, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (account, name) DO UPDATE SET value = excluded.value",
                (account, name, value),
            )

        await self._write(set_value)

    async def save_roster(self, account: str, contacts: Sequence[Contact], version: str) -> None:
        rows = [
            _contact_params(account, contact)
            for contact in contacts
            if contact.subscription is not Subscription.REMOVE
        ]

        def save(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM roster WHERE account = ?", (account,))
            conn.executemany(_UPSERT_CONTACT_SQL, rows)
            conn.execute(
                "INSERT INTO roster_versions (account, version) VALUES (?, ?) "
                "ON CONFLICT (account) DO UPDATE SET version = excluded.version",
                (account, version),
            )

        await self._write(save)

    async def upsert_contact(self, contact: Contact) -> None:
        if contact.subscription is Subscription.REMOVE:  # a roster push removing the item
            await self.remove_contact(contact.account, contact.jid)
            return
        params = _contact_params(contact.account, contact)

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(_UPSERT_CONTACT_SQL, params)

        await self._write(upsert)

    async def remove_contact(self, account: str, jid: str) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM roster WHERE account = ? AND jid = ?", (account, jid))

        await self._write(remove)

    async def save_bookmarks(self, account: str, bookmarks: Sequence[Bookmark]) -> None:
        rows = [_bookmark_params(account, b) for b in bookmarks]

        def save(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM bookmarks WHERE account = ?", (account,))
            conn.executemany(_UPSERT_BOOKMARK_SQL, rows)

        await self._write(save)

    async def put_bookmarks(self, account: str, bookmarks: Sequence[Bookmark]) -> None:
        rows = [_bookmark_params(account, b) for b in bookmarks]

        def put(conn: sqlite3.Connection) -> None:
            conn.executemany(_UPSERT_BOOKMARK_SQL, rows)

        await self._write(put)

    async def remove_bookmarks(self, account: str, rooms: Sequence[str]) -> None:
        params = [(account, room) for room in rooms]

        def remove(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM bookmarks WHERE account = ? AND room = ?", params)

        await self._write(remove)

    async def im_id(self, address: str) -> int:
        """The IM id of ``address``, given it now if it has none (committed on return)."""

        def give(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT OR IGNORE INTO im_ids (address) VALUES (?)", (address,))
            row = conn.execute("SELECT id FROM im_ids WHERE address = ?", (address,)).fetchone()
            return int(row[0])

        return await self._write(give)

    # -- write helpers (writer thread) ----------------------------------------------------

    def _write_conversation_id(
        self,
        conn: sqlite3.Connection,
        key: ConversationKey,
        *,
        create: bool = True,
        at: float | None = None,
    ) -> int | None:
        """The conversation's row id; with ``create``, a new conversation (its uuid, and
        created and updated at ``at``, default now) when there is none."""
        conversation_id = self._write_conversations.get(key)
        if conversation_id is not None:
            return conversation_id
        row = conn.execute(_CONVERSATION_ID_SQL, (key.account, key.peer, str(key.kind))).fetchone()
        if row is not None:
            conversation_id = int(row[0])
        elif create:
            when = at if at is not None and math.isfinite(at) else time.time()
            conversation_id = conn.execute(
                "INSERT INTO conversations (account, peer, kind, uuid, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key.account,
                    key.peer,
                    str(key.kind),
                    conversation_uuid(key.account, key.peer, str(key.kind)),
                    when,
                    when,
                ),
            ).lastrowid
        if conversation_id is not None:
            self._write_conversations[key] = conversation_id
        return conversation_id

    def _insert(
        self,
        conn: sqlite3.Connection,
        message: Message,
        *,
        from_elsewhere: bool,
        identified: list[Message] | None = None,
    ) -> Message | None:
        """Store ``message`` unless it duplicates a stored one; return it as stored, or
        None for a duplicate. ``from_elsewhere``: it came from the network (live, carbon,
        archive), so a known archive id makes it a duplicate, and a duplicate may teach us
        the stored message's missing archive id: a room's message that learns it so (our
        own, reflected) is added to ``identified`` as it is now (its uuid the room's)."""
        conversation_id = self._write_conversation_id(conn, message.key, at=message.timestamp)
        assert conversation_id is not None
        stanza_id = message.stanza_id or None
        if (
            stanza_id is not None
            and conn.execute(STANZA_ID_TAKEN_SQL, (stanza_id, message.account)).fetchone()
        ):
            if from_elsewhere:
                return None
            stanza_id = None  # archive ids stay unique per account
        search_key = _next_search_key(conn, message.timestamp)
        cursor = conn.execute(
            _INSERT_SQL, _insert_params(message, conversation_id, stanza_id, search_key)
        )
        if cursor.rowcount == 0:  # same (conversation, direction, uid) already stored
            if from_elsewhere and stanza_id is not None:
                # A room's message is known by the room's stanza id: its uuid too
                # (our own, reflected by the room, gets both now).
                muuid = (
                    room_message_uuid(message.peer, stanza_id)
                    if message.kind is ConversationKind.GROUPCHAT
                    else None
                )
                updated = conn.execute(
                    "UPDATE messages SET stanza_id = ?, muuid = coalesce(?, muuid) "
                    "WHERE conversation_id = ? AND direction = ? AND uid = ? "
                    "AND stanza_id IS NULL",
                    (stanza_id, muuid, conversation_id, int(message.direction), message.uid),
                )
                if updated.rowcount and muuid is not None and identified is not None:
                    row = conn.execute(
                        f"SELECT {MESSAGE_COLUMNS} FROM {_FROM} "
                        "WHERE m.conversation_id = ? AND m.direction = ? AND m.uid = ?",
                        (conversation_id, int(message.direction), message.uid),
                    ).fetchone()
                    if row is not None:
                        identified.append(message_from_row(row))
            return None
        message_id = cursor.lastrowid
        assert message_id is not None
        sequence = _append_event(
            conn,
            conversation_id,
            EventKind.MESSAGE,
            message_id,
            _author(message),
            message.timestamp,
        )
        # Stored, it is a message (a correction waiting for its target keeps the id it
        # names in the row only).
        return replace(
            message, id=message_id, stanza_id=stanza_id or "", replaces="", sequence=sequence
        )

    def _fold_waiting(
        self, conn: sqlite3.Connection, message: Message
    ) -> tuple[Message, list[ActionOutcome]]:
        """``message`` was just stored: apply to it the corrections by its author that
        were kept as messages of their own while it had not reached us (a live
        correction of a message that then comes from the archive, or late), oldest
        first, so the newest text wins as on the normal path, and fold their rows (kept,
        no longer listed; one unseen is seen: the message it corrected counts instead).
        Returns the message as it is now and an outcome per correction folded (with
        :attr:`ActionOutcome.folded`). A correction from anyone else stays a message."""
        if not message.uid or message.removed:
            return message, []
        conversation_id = self._write_conversation_id(conn, message.key, create=False)
        rows = conn.execute(_WAITING_SQL, (conversation_id, message.uid)).fetchall()
        outcomes: list[ActionOutcome] = []
        author = _author(message)
        for row in rows:
            waiting = message_from_row(row)
            if _author(waiting) != author:
                continue  # not the author's: it stays a message of its own
            outcome = self._apply_action(conn, replace(waiting, id=None, replaces=message.uid))
            if outcome.refused not in ("", REFUSED_DUPLICATE) or outcome.target is None:
                continue
            state = (
                MessageState.DISPLAYED if waiting.state is MessageState.RECEIVED else waiting.state
            )
            conn.execute(
                "UPDATE messages SET removed = ?, state = ? WHERE id = ?",
                (FOLDED, int(state), waiting.id),
            )
            assert conversation_id is not None
            assert waiting.id is not None
            assert outcome.target.id is not None
            # The log says the row no longer shows (a replay gives the history), and
            # what was reacted to it while it showed goes with it.
            _append_event(
                conn,
                conversation_id,
                EventKind.REMOVE,
                waiting.id,
                author,
                waiting.timestamp,
                data=json.dumps({"folded_into": outcome.target.uuid}),
            )
            self._move_reactions(conn, conversation_id, waiting.id, outcome.target)
            outcomes.append(replace(outcome, folded=replace(waiting, removed=True, state=state)))
            if outcome.target.id == message.id:
                message = outcome.target
        return message, outcomes

    @staticmethod
    def _move_reactions(
        conn: sqlite3.Connection, conversation_id: int, from_id: int, to: Message
    ) -> None:
        """Each sender's reactions to a folded row become theirs to ``to`` unless they
        reacted to ``to`` itself later (logged as their reactions to it)."""
        assert to.id is not None
        moved = conn.execute(
            "SELECT sender, reactions, timestamp FROM reactions WHERE message_id = ? "
            "ORDER BY timestamp",
            (from_id,),
        ).fetchall()
        conn.execute("DELETE FROM reactions WHERE message_id = ?", (from_id,))
        for sender, reactions, timestamp in moved:
            changed = conn.execute(
                "INSERT INTO reactions (message_id, sender, reactions, timestamp) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (message_id, sender) DO UPDATE SET "
                "reactions = excluded.reactions, timestamp = excluded.timestamp "
                "WHERE excluded.timestamp > reactions.timestamp",
                (to.id, sender, reactions, timestamp),
            ).rowcount
            if changed:
                _append_event(
                    conn,
                    conversation_id,
                    EventKind.REACTION,
                    to.id,
                    sender,
                    timestamp,
                    data=json.dumps({"reactions": json.loads(reactions)}, ensure_ascii=False),
                )

    @staticmethod
    def _set_states(
        conn: sqlite3.Connection, messages: list[Message], state: MessageState
    ) -> list[Message]:
        conn.executemany(
            "UPDATE messages SET state = ?, error = '' WHERE id = ?",
            [(int(state), message.id) for message in messages],
        )
        return [replace(message, state=state, error="") for message in messages]

    # -- reads ----------------------------------------------------------------------------

    def _conversation_id(self, key: ConversationKey) -> int | None:
        conversation_id = self._read_conversations.get(key)
        if conversation_id is None:
            row = self._db.query_one(_CONVERSATION_ID_SQL, (key.account, key.peer, str(key.kind)))
            if row is None:
                return None  # not cached: it may be created later
            conversation_id = self._read_conversations[key] = int(row[0])
        return conversation_id

    def _messages(self, sql: str, params: Sequence[Any]) -> list[Message]:
        return [message_from_row(row) for row in self._db.query(sql, params)]

    def received_after(self, account: str, after: int, limit: int) -> list[Received]:
        """The received log of ``account`` after ``after``, oldest first, at most
        ``limit`` entries (an entry whose message is gone is left out)."""
        return [
            Received(
                account,
                row[0],
                row[1],
                message_from_row(row[4:]),
                Report(row[2]) if row[2] else None,
                row[3],
            )
            for row in self._db.query(RECEIVED_AFTER_SQL, (account, after, limit))
        ]

    def last_received(self, account: str) -> int:
        """The last sequence given in ``account``'s received log (0: none yet)."""
        row = self._db.query_one("SELECT last FROM received_counter WHERE account = ?", (account,))
        return 0 if row is None else int(row[0])

    def get_sync_state(self, account: str, name: str) -> str | None:
        row = self._db.query_one(
            "SELECT value FROM sync_state WHERE account = ? AND name = ?", (account, name)
        )
        return None if row is None else str(row[0])

    def load_roster(self, account: str) -> tuple[list[Contact], str]:
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT jid, name, groups, subscription, ask, approved FROM roster "
                "WHERE account = ? ORDER BY jid",
                (account,),
            ).fetchall()
            version_row = conn.execute(
                "SELECT version FROM roster_versions WHERE account = ?", (account,)
            ).fetchone()
        contacts = [
            Contact(
                account=account,
                jid=jid,
                name=name,
                groups=tuple(json.loads(groups)),
                subscription=Subscription(subscription),
                ask=bool(ask),
                approved=bool(approved),
            )
            for jid, name, groups, subscription, ask, approved in rows
        ]
        return contacts, "" if version_row is None else str(version_row[0])

    def load_bookmarks(self, account: str) -> list[Bookmark]:
        rows = self._db.query(
            "SELECT room, name, nick, password, autojoin, extensions FROM bookmarks "
            "WHERE account = ? ORDER BY room",
            (account,),
        )
        return [
            Bookmark(
                account=account,
                room=room,
                name=name,
                nick=nick,
                password=password,
                autojoin=bool(autojoin),
                extensions=extensions,
            )
            for room, name, nick, password, autojoin, extensions in rows
        ]

    def find_im_id(self, address: str) -> int | None:
        row = self._db.query_one("SELECT id FROM im_ids WHERE address = ?", (address,))
        return None if row is None else int(row[0])

    def im_address(self, im_id: int) -> str | None:
        row = self._db.query_one("SELECT address FROM im_ids WHERE id = ?", (im_id,))
        return None if row is None else str(row[0])

    def pending_outgoing(self, account: str) -> list[Message]:
        return self._messages(PENDING_OUTGOING_SQL, (account,))

    def held_outgoing(self) -> list[Message]:
        return self._messages(HELD_OUTGOING_SQL, ())

    def get(
        self, account: str, peer: str, uid: str, kind: ConversationKind | None = None
    ) -> Message | None:
        if kind is None:
            messages = self._messages(GET_SQL, (account, peer, uid))
        else:
            messages = self._messages(GET_IN_SQL, (account, peer, uid, str(kind)))
        return messages[0] if messages else None

    def get_by_id(self, message_id: int) -> Message | None:
        messages = self._messages(GET_BY_ID_SQL, (message_id,))
        return messages[0] if messages else None

    def logged_messages(self, message_ids: Sequence[int]) -> dict[int, LoggedMessage]:
        """What the events naming these messages tell of them, by id (one query per
        :data:`_IDS_PER_QUERY` ids); an id with no message is left out."""
        ids = list(dict.fromkeys(message_ids))
        found: dict[int, LoggedMessage] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            sql = LOGGED_MESSAGES_SQL.format(marks=", ".join("?" * len(chunk)))
            for message_id, body, payload, edited_at, removed, sequence in self._db.query(
                sql, chunk
            ):
                found[message_id] = LoggedMessage(
                    id=message_id,
                    body=body,
                    payload=payload,
                    edited=bool(edited_at),
                    removed=bool(removed),
                    sequence=sequence or 0,
                )
        return found

    def incoming_up_to(self, key: ConversationKey, sequence: int) -> Message | None:
        """The incoming message stored last at or before ``sequence`` of the
        conversation's log (not removed), or None."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return None
        row = self._db.query_one(INCOMING_UP_TO_SQL, (conversation_id, int(sequence)))
        return message_from_row(row) if row is not None else None

    def get_by_uuid(self, key: ConversationKey, message_uuid: str) -> Message | None:
        """The message of the conversation whose uuid (conversations-api.md) is
        ``message_uuid`` (a removed one too, as its tombstone), or None."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return None
        row = self._db.query_one(GET_BY_UUID_SQL, (conversation_id, message_uuid))
        return message_from_row(row) if row is not None else None

    def get_by_stanza_id(self, key: ConversationKey, stanza_id: str) -> Message | None:
        conversation_id = self._conversation_id(key)
        if conversation_id is None or not stanza_id:
            return None
        messages = self._messages(_TARGETS_BY_STANZA_ID_SQL, (stanza_id, conversation_id))
        return messages[0] if messages else None

    def latest(self, key: ConversationKey, limit: int) -> list[Message]:
        conversation_id = self._conversation_id(key)
        if conversation_id is None or limit <= 0:
            return []
        page = self._messages(LATEST_SQL, (conversation_id, limit))
        page.reverse()
        return page

    def before(self, key: ConversationKey, anchor: PageAnchor, limit: int) -> list[Message]:
        conversation_id = self._conversation_id(key)
        if conversation_id is None or limit <= 0:
            return []
        page = self._messages(
            BEFORE_SQL, (conversation_id, float(anchor.timestamp), anchor.id, limit)
        )
        page.reverse()
        return page

    def after(self, key: ConversationKey, anchor: PageAnchor, limit: int) -> list[Message]:
        conversation_id = self._conversation_id(key)
        if conversation_id is None or limit <= 0:
            return []
        return self._messages(
            AFTER_SQL, (conversation_id, float(anchor.timestamp), anchor.id, limit)
        )

    def count(self, key: ConversationKey) -> int:
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return 0
        return int(self._db.query_one(COUNT_SQL, (conversation_id,))[0])

    def unread_count(self, key: ConversationKey) -> int:
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return 0
        return int(self._db.query_one(UNREAD_COUNT_SQL, (conversation_id,))[0])

    def unread_counts(self, account: str | None = None) -> dict[ConversationKey, int]:
        if account is None:
            rows = self._db.query(UNREAD_COUNTS_SQL.format(where=""))
        else:
            rows = self._db.query(UNREAD_COUNTS_SQL.format(where="AND c.account = ?"), (account,))
        return {
            ConversationKey(account_, peer, ConversationKind(kind)): int(count)
            for account_, peer, kind, count in rows
        }

    def conversations(self, account: str | None = None) -> list[tuple[ConversationKey, float]]:
        if account is None:
            rows = self._db.query(CONVERSATIONS_SQL.format(where=""))
        else:
            rows = self._db.query(CONVERSATIONS_SQL.format(where="WHERE c.account = ?"), (account,))
        return [
            (ConversationKey(account_, peer, ConversationKind(kind)), newest)
            for account_, peer, kind, newest in rows
        ]

    def letters(
        self,
        account: str,
        *,
        direction: Direction | None = None,
        since: float = 0.0,
        limit: int = 100,
        skip: int = 0,
    ) -> list[Message]:
        """The one-to-one messages of ``account`` (not removed) stamped at or after
        ``since``, of ``direction`` (None: both), newest first, ``skip`` left out."""
        where = "" if direction is None else f" AND m.direction = {int(direction):d}"
        return self._messages(
            LETTERS_SQL.format(direction=where), (account, float(since), int(limit), int(skip))
        )

    def reactions(self, message_ids: Sequence[int]) -> dict[int, list[tuple[str, tuple[str, ...]]]]:
        """Everyone's reactions to each of these messages, as (sender, reactions), oldest
        first; messages without any are left out."""
        ids = list(dict.fromkeys(message_ids))
        found: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            sql = REACTIONS_SQL.format(marks=", ".join("?" * len(chunk)))
            for message_id, sender, reactions in self._db.query(sql, chunk):
                found.setdefault(message_id, []).append((sender, tuple(json.loads(reactions))))
        return found

    def versions(self, message_id: int) -> list[tuple[float, str]]:
        """The texts the message had before its corrections, oldest first, each with
        when it was replaced (the timestamp of the correction that replaced it). Built
        from the log's edit events: the first one learnt keeps the original text, and the
        corrections are ordered by their timestamps, whatever order they arrived in.
        Empty for a message never corrected, and for a removed one."""
        edits = self._db.query(EDITS_SQL, (message_id,))
        if not edits or any(not data for _at, data in edits):
            return []
        original = str(json.loads(edits[0][1])["previous"])
        ordered = sorted(
            (
                (float(at), index, str(json.loads(data)["text"]))
                for index, (at, data) in enumerate(edits)
            ),
        )
        texts = [original, *(text for _at, _index, text in ordered)]
        return [(at, texts[i]) for i, (at, _index, _text) in enumerate(ordered)]

    def conversation_info(self, key: ConversationKey) -> Conversation | None:
        """The conversation as the profile knows it, None when it has none."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return None
        row = self._db.query_one(_CONVERSATION_INFO_SQL, (conversation_id,))
        if row is None:
            return None
        uuid, title, created, updated, last_sequence, read_sequence = row
        return Conversation(
            key=key,
            uuid=uuid,
            title=title,
            created=created,
            updated=updated,
            last_sequence=last_sequence,
            read_sequence=read_sequence,
        )

    def events_after(self, key: ConversationKey, after: int, limit: int) -> list[ConversationEvent]:
        """The conversation's event log after sequence ``after``, in sequence order, at
        most ``limit`` entries."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None or limit <= 0:
            return []
        return [
            ConversationEvent(
                key=key,
                sequence=sequence,
                kind=_EVENT_KINDS[kind],
                message_uuid=muuid,
                author=author,
                timestamp=timestamp,
                data=data,
                message_id=message_id,
            )
            for sequence, kind, message_id, muuid, author, timestamp, data in self._db.query(
                EVENTS_AFTER_SQL, (conversation_id, after, limit)
            )
        ]

    def known_conversations(self, account: str) -> list[tuple[ConversationKey, str]]:
        """Every conversation of ``account`` stored, with or without messages, as (key,
        uuid), oldest first."""
        rows = self._db.query(_KNOWN_CONVERSATIONS_SQL, (account,))
        return [
            (ConversationKey(account, peer, ConversationKind(kind)), uuid)
            for peer, kind, uuid in rows
        ]

    def conversation_by_uuid(self, account: str, uuid: str) -> ConversationKey | None:
        """The conversation of ``account`` with the spec's ``uuid`` (None: not stored)."""
        row = self._db.query_one(_CONVERSATION_BY_UUID_SQL, (account, uuid))
        return None if row is None else ConversationKey(account, row[0], ConversationKind(row[1]))

    def last_membership(self, key: ConversationKey, author: str) -> EventKind | None:
        """The newest of ``author``'s created/join/leave events in the log (None: none)."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None:
            return None
        row = self._db.query_one(_LAST_MEMBERSHIP_SQL, (conversation_id, author))
        return None if row is None else _EVENT_KINDS[row[0]]

    async def ensure_conversation(self, key: ConversationKey, title: str | None = None) -> None:
        """Store the conversation if it is not (``title``: set it, stored or not)."""

        def ensure(conn: sqlite3.Connection) -> None:
            conversation_id = self._write_conversation_id(conn, key)
            if title is not None:
                conn.execute(
                    "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
                )

        await self._write(ensure)

    async def append_conversation_event(
        self, key: ConversationKey, kind: EventKind, author: str, timestamp: float, data: str = ""
    ) -> ConversationEvent:
        """Append a conversation-level event (created, edited, participants, join,
        leave) to the log, storing the conversation if it is not; returns it."""

        def append(conn: sqlite3.Connection) -> int:
            conversation_id = self._write_conversation_id(conn, key, at=timestamp)
            assert conversation_id is not None
            return _append_event(conn, conversation_id, kind, None, author, timestamp, data=data)

        sequence = await self._write(append)
        return ConversationEvent(key, sequence, kind, "", author, timestamp, data)

    def message_sequence(self, message_id: int) -> int | None:
        """The sequence of the event that stored the message (None: no such message)."""
        row = self._db.query_one(_MESSAGE_SEQUENCE_SQL, (message_id,))
        return None if row is None else int(row[0])

    def search(
        self,
        text: str,
        key: ConversationKey | None = None,
        limit: int = 50,
        *,
        since: float | None = None,
        until: float | None = None,
    ) -> list[SearchHit]:
        """Messages containing every word of ``text`` (the last one as a prefix), newest
        first, each with a snippet marking the matches with ``\\x02`` .. ``\\x03``;
        with ``since``/``until``, only those stamped in [since, until).

        "Newest" is by millisecond, then by order of storing: the FTS index is walked by
        its time-ordered key (see :func:`search_key_bucket`)."""
        if limit <= 0:
            return []
        expression = self._search_expression(text, key)
        if expression is None:
            return []
        if since is not None or until is not None:
            return self._search_span(expression, limit, since, until)
        return [
            SearchHit(message=message_from_row(row), snippet=row[_N_COLUMNS])
            for row in self._db.query(SEARCH_SQL, (expression, limit))
        ]

    def _search_expression(self, text: str, key: ConversationKey | None) -> str | None:
        """The FTS query for ``text`` (in ``key``'s conversation only, when given); None
        when nothing can match (no words, or no such conversation)."""
        conversation_id = None
        if key is not None:
            conversation_id = self._conversation_id(key)
            if conversation_id is None:
                return None
        return match_expression(text, conversation_id)

    def _search_span(
        self, expression: str, limit: int, since: float | None, until: float | None
    ) -> list[SearchHit]:
        # Bucket bounds are whole milliseconds: [since, until) in keys is [start, end).
        start = search_key_bucket(since) if since is not None else 0
        end = search_key_bucket(until) if until is not None else (1 << 63) - 1
        if end <= start:
            return []
        return [
            SearchHit(message=message_from_row(row), snippet=row[_N_COLUMNS])
            for row in self._db.query(SEARCH_SPAN_SQL, (expression, start, end, limit))
        ]

    def first_from(self, key: ConversationKey, timestamp: float) -> Message | None:
        """The first message of the conversation stamped at or after ``timestamp`` (None:
        none is), for "jump to a date"."""
        conversation_id = self._conversation_id(key)
        if conversation_id is None or not math.isfinite(timestamp):
            return None
        messages = self._messages(FIRST_FROM_SQL, (conversation_id, float(timestamp)))
        return messages[0] if messages else None


_UPSERT_CONTACT_SQL: Final = """
INSERT INTO roster (account, jid, name, groups, subscription, ask, approved)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, jid) DO UPDATE SET
    name = excluded.name, groups = excluded.groups, subscription = excluded.subscription,
    ask = excluded.ask, approved = excluded.approved
"""


def _contact_params(account: str, contact: Contact) -> tuple[Any, ...]:
    return (
        account,
        contact.jid,
        contact.name,
        json.dumps(list(contact.groups), ensure_ascii=False),
        str(contact.subscription),
        int(contact.ask),
        int(contact.approved),
    )


_UPSERT_BOOKMARK_SQL: Final = """
INSERT INTO bookmarks (account, room, name, nick, password, autojoin, extensions)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, room) DO UPDATE SET
    name = excluded.name, nick = excluded.nick, password = excluded.password,
    autojoin = excluded.autojoin, extensions = excluded.extensions
"""


def _bookmark_params(account: str, bookmark: Bookmark) -> tuple[Any, ...]:
    return (
        account,
        bookmark.room,
        bookmark.name,
        bookmark.nick,
        bookmark.password,
        int(bookmark.autojoin),
        bookmark.extensions,
    )
