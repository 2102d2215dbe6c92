"""The history of one conversation as a Qt list model: a window of rows over the store.

:class:`HistoryModel` owns which messages of a conversation are loaded, never the whole
history. It starts with the newest page and grows by keyset pages on ``(timestamp, id)``
(``fetch_older`` at the top, ``fetch_newer`` at the bottom after a jump into the past)
and is trimmed back to ``max_rows`` from the side the user is not looking at, so memory
stays bounded however long the conversation is. It also owns the search highlights of
the conversation window (which loaded rows are hits, where in their text the matches
are). Painting is :mod:`chinwag.ui.message_delegate`'s job; the window forwards core
events to :meth:`HistoryModel.add` and :meth:`HistoryModel.update`."""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QDateTime,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from chinwag.core.models import (
    ConversationKey,
    Direction,
    Message,
    MessageState,
    PageAnchor,
    SearchHit,
)
from chinwag.core.ports import MessageStore

#: Messages read per page: the newest page on open, then one page per scroll to an end.
PAGE_SIZE = 50
#: Rows kept at most; a few screens, like Telegram, so memory does not follow history.
MAX_ROWS = 6 * PAGE_SIZE
#: A screen reader is given this much of a message's text (a row shows as much; the rest
#: is one "Show all" away): a 65,536-character message is not read out, or copied, whole
#: with every change of focus.
SPOKEN_CHARS = 2000

_Index = QModelIndex | QPersistentModelIndex
#: Identifies a message within its conversation (an incoming and an outgoing message
#: may share a uid: the store keys them by (conversation, direction, uid) too).
RowKey = tuple[Direction, str]
#: Where the search matches are in a message body: (start, length) pairs.
MatchRanges = tuple[tuple[int, int], ...]

_SEARCH_MARK = re.compile("\x02(.*?)\x03", re.DOTALL)


class Role(enum.IntEnum):
    """The roles :class:`HistoryModel` answers besides Qt's display and tool tip roles."""

    BODY = Qt.ItemDataRole.UserRole + 1  # str: the text exactly as stored (never HTML)
    SENDER = enum.auto()  # str: display name of the author
    TIMESTAMP = enum.auto()  # float: Unix seconds
    DIRECTION = enum.auto()  # Direction
    STATE = enum.auto()  # MessageState
    ERROR = enum.auto()  # str: why it failed ("" unless FAILED)
    UID = enum.auto()  # str
    SEARCH_MATCH = enum.auto()  # MatchRanges: empty unless the row is a search hit
    CURRENT_MATCH = enum.auto()  # bool: the hit the search bar is on
    MESSAGE = enum.auto()  # Message: the whole stored message


_ROLE_NAMES = {role: role.name.lower().encode() for role in Role}
_STATE_WORDS = {
    MessageState.QUEUED: "queued",
    MessageState.SENT: "sent",
    MessageState.DELIVERED: "delivered",
    MessageState.READ: "read",
    MessageState.FAILED: "failed",
}


def row_key(message: Message) -> RowKey:
    return (message.direction, message.uid)


def _sort_key(message: Message) -> tuple[float, int]:
    return (message.timestamp, message.id or 0)


def match_ranges(body: str, snippet: str) -> MatchRanges:
    """Where the words the store marked in ``snippet`` (``\\x02``..``\\x03``) occur in
    ``body``. The snippet is cut to a few words around the matches, so the marked words
    are looked up again in the whole body, case-insensitively."""
    terms = {term for term in _SEARCH_MARK.findall(snippet) if term.strip()}
    if not terms:
        return ()
    pattern = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return tuple((m.start(), m.end() - m.start()) for m in re.finditer(pattern, body, re.I))


class HistoryModel(QAbstractListModel):
    """A bounded, keyset-paged window of one conversation's messages, oldest first.

    Rows are :class:`Message` objects sorted by ``(timestamp, id)``, the store's paging
    order. A row is found by its (direction, uid) through a dict and a binary search on
    that order, never by scanning the rows."""

    def __init__(
        self,
        store: MessageStore,
        key: ConversationKey,
        *,
        own_name: str = "Me",
        peer_name: str = "",
        page_size: int = PAGE_SIZE,
        max_rows: int = MAX_ROWS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if max_rows < 2 * page_size:
            raise ValueError("max_rows must hold at least two pages")
        self._store = store
        self._key = key
        self._own_name = own_name
        self._peer_name = peer_name or key.peer
        self._page_size = page_size
        self._max_rows = max_rows
        self._rows: list[Message] = []
        self._by_key: dict[RowKey, Message] = {}
        self._has_older = False
        self._at_live_end = True
        self._hits: dict[RowKey, MatchRanges] = {}
        self._current_hit: RowKey | None = None
        self.load_latest()

    # -- what is loaded -----------------------------------------------------------------

    @property
    def key(self) -> ConversationKey:
        return self._key

    @property
    def page_size(self) -> int:
        return self._page_size

    @property
    def has_older(self) -> bool:
        """True while older messages may exist in the store than the first row."""
        return self._has_older

    @property
    def at_live_end(self) -> bool:
        """True when the last row is the newest message of the conversation, so new
        messages are appended; False after a jump into the past or a trim at the bottom."""
        return self._at_live_end

    def message(self, row: int) -> Message:
        return self._rows[row]

    def row_of(self, message: Message | RowKey) -> int | None:
        """The row showing ``message`` (or a (direction, uid) key), None if not loaded."""
        key = message if isinstance(message, tuple) else row_key(message)
        loaded = self._by_key.get(key)
        if loaded is None:
            return None
        row = bisect.bisect_left(self._rows, _sort_key(loaded), key=_sort_key)
        # Equal (timestamp, id) cannot happen for stored messages; stay safe anyway.
        while row < len(self._rows) and self._rows[row] is not loaded:
            row += 1
        return row if row < len(self._rows) else None

    def index_of(self, message: Message | RowKey) -> QModelIndex:
        row = self.row_of(message)
        return QModelIndex() if row is None else self.index(row)

    # -- paging -------------------------------------------------------------------------

    def load_latest(self) -> None:
        """Show the newest page (on open, and for "jump to latest" after a trim)."""
        self._reset(self._store.latest(self._key, self._page_size), at_live_end=True)

    def load_around(self, message: Message) -> None:
        """Show the messages around ``message`` (a search hit far back in history)."""
        if message.id is None:
            raise ValueError("the message is not stored")
        anchor = PageAnchor(message.timestamp, message.id)
        half = self._page_size // 2
        after = self._page_size - half - 1
        older = self._store.before(self._key, anchor, half)
        newer = self._store.after(self._key, anchor, after)
        self._reset([*older, message, *newer], at_live_end=len(newer) < after)
        self._has_older = len(older) == half

    def _reset(self, rows: list[Message], *, at_live_end: bool) -> None:
        self.beginResetModel()
        self._rows = rows
        self._by_key = {row_key(m): m for m in rows}
        self._has_older = len(rows) >= self._page_size
        self._at_live_end = at_live_end
        self.endResetModel()

    def fetch_older(self) -> int:
        """Prepend the page before the first row; returns how many rows came in.

        When that makes the window too long, the newest rows are dropped (the user is
        looking at the top)."""
        if not self._has_older:
            return 0
        if not self._rows:
            self.load_latest()
            return len(self._rows)
        page = self._store.before(self._key, _anchor(self._rows[0]), self._page_size)
        page = [m for m in page if row_key(m) not in self._by_key]
        if len(page) < self._page_size:
            self._has_older = False
        if not page:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(page) - 1)
        self._rows[0:0] = page
        self._by_key.update((row_key(m), m) for m in page)
        self.endInsertRows()
        self.trim_newest(self._max_rows)
        return len(page)

    def fetch_newer(self) -> int:
        """Append the page after the last row (only when not at the live end); returns
        how many rows came in. Drops the oldest rows when the window gets too long."""
        if self._at_live_end:
            return 0
        if not self._rows:
            self.load_latest()
            return len(self._rows)
        page = self._store.after(self._key, _anchor(self._rows[-1]), self._page_size)
        page = [m for m in page if row_key(m) not in self._by_key]
        if len(page) < self._page_size:
            self._at_live_end = True
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self._by_key.update((row_key(m), m) for m in page)
            self.endInsertRows()
            self.trim_oldest(self._max_rows)
        return len(page)

    def trim_oldest(self, keep: int) -> int:
        """Drop rows from the top until at most ``keep`` remain; returns how many went."""
        excess = len(self._rows) - keep
        if excess <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        for message in self._rows[:excess]:
            del self._by_key[row_key(message)]
        del self._rows[:excess]
        self._has_older = True
        self.endRemoveRows()
        return excess

    def trim_newest(self, keep: int) -> int:
        """Drop rows from the bottom until at most ``keep`` remain; returns how many went.
        New messages are then no longer appended until the bottom is fetched again."""
        excess = len(self._rows) - keep
        if excess <= 0:
            return 0
        first = len(self._rows) - excess
        self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
        for message in self._rows[first:]:
            del self._by_key[row_key(message)]
        del self._rows[first:]
        self._at_live_end = False
        self.endRemoveRows()
        return excess

    @property
    def max_rows(self) -> int:
        return self._max_rows

    # -- live changes -------------------------------------------------------------------

    def add(self, message: Message) -> bool:
        """A message was stored (``MessageAdded``): insert it in order if it falls inside
        the loaded window; returns True when a row was inserted.

        Messages outside the window (an archive catch-up older than the first row, or
        anything new while the bottom is not loaded) are left to paging."""
        if message.key != self._key:
            return False
        key = row_key(message)
        if key in self._by_key:  # read by a page between the commit and the event
            self.update(message)
            return False
        row = bisect.bisect_right(self._rows, _sort_key(message), key=_sort_key)
        if row == 0 and self._rows and self._has_older:
            return False
        if row == len(self._rows) and not self._at_live_end:
            return False
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, message)
        self._by_key[key] = message
        self.endInsertRows()
        return True

    def update(self, message: Message) -> bool:
        """A stored message changed (``MessageStateChanged``): refresh its row in place;
        returns True when it is loaded."""
        if message.key != self._key:
            return False
        row = self.row_of(message)
        if row is None:
            return False
        self._rows[row] = message
        self._by_key[row_key(message)] = message
        index = self.index(row)
        self.dataChanged.emit(
            index,
            index,
            [
                Role.STATE,
                Role.ERROR,
                Role.MESSAGE,
                Qt.ItemDataRole.ToolTipRole,
                Qt.ItemDataRole.AccessibleTextRole,
            ],
        )
        return True

    def set_names(self, own_name: str, peer_name: str) -> None:
        """The user's or the contact's display name changed (a roster rename)."""
        if (own_name, peer_name) == (self._own_name, self._peer_name):
            return
        self._own_name, self._peer_name = own_name, peer_name
        if self._rows:
            self.dataChanged.emit(
                self.index(0),
                self.index(len(self._rows) - 1),
                [Role.SENDER, Qt.ItemDataRole.AccessibleTextRole],
            )

    # -- search highlights --------------------------------------------------------------

    def set_search(self, hits: Iterable[SearchHit]) -> None:
        """Highlight these hits of a search in this conversation (empty: none)."""
        changed = set(self._hits) | ({self._current_hit} if self._current_hit else set())
        self._hits = {}
        for hit in hits:
            if hit.message.key == self._key:
                ranges = match_ranges(hit.message.body, hit.snippet)
                self._hits[row_key(hit.message)] = ranges or ((0, 0),)
        self._current_hit = None
        self._emit_rows_changed(changed | set(self._hits), [Role.SEARCH_MATCH, Role.CURRENT_MATCH])

    def set_current_hit(self, message: Message | None) -> None:
        """The hit the search bar is on (drawn more strongly), or None."""
        new = None if message is None else row_key(message)
        if new == self._current_hit:
            return
        changed = {k for k in (self._current_hit, new) if k is not None}
        self._current_hit = new
        self._emit_rows_changed(changed, [Role.CURRENT_MATCH])

    def _emit_rows_changed(self, keys: Iterable[RowKey], roles: Sequence[int]) -> None:
        for key in keys:
            row = self.row_of(key)
            if row is not None:
                index = self.index(row)
                self.dataChanged.emit(index, index, list(roles))

    # -- QAbstractItemModel -------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names.update({int(role): QByteArray(name) for role, name in _ROLE_NAMES.items()})
        return names

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        message = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Role.BODY):
            return message.body
        if role == Role.SENDER:
            return self.sender_name(message)
        if role == Role.TIMESTAMP:
            return message.timestamp
        if role == Role.DIRECTION:
            return message.direction
        if role == Role.STATE:
            return message.state
        if role == Role.ERROR:
            return message.error
        if role == Role.UID:
            return message.uid
        if role == Role.SEARCH_MATCH:
            return self._hits.get(row_key(message), ())
        if role == Role.CURRENT_MATCH:
            return self._current_hit == row_key(message)
        if role == Role.MESSAGE:
            return message
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._spoken(message)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tool_tip(message)
        return None

    def sender_name(self, message: Message) -> str:
        return self._own_name if message.outgoing else self._peer_name

    def _spoken(self, message: Message) -> str:
        """What a screen reader says for a row: who, when, its state, then the text."""
        when = QDateTime.fromSecsSinceEpoch(int(message.timestamp)).toString("d MMM HH:mm")
        state = _STATE_WORDS.get(message.state)
        parts = [self.sender_name(message), when]
        if message.outgoing and state:
            parts.append(f"{state}: {message.error}" if message.error else state)
        body = message.body
        if len(body) > SPOKEN_CHARS:  # as much as the row shows; the rest is "Show all"
            total = QLocale().toString(len(body))
            body = f"{body[:SPOKEN_CHARS]}… (cut; {total} characters in all)"
        return ", ".join(parts) + f": {body}"

    def _tool_tip(self, message: Message) -> str:
        when = QDateTime.fromSecsSinceEpoch(int(message.timestamp)).toString(
            "dddd d MMMM yyyy, HH:mm:ss"
        )
        if message.outgoing and message.state is MessageState.FAILED:
            return f"{when}\nNot sent: {message.error or 'unknown error'}"
        state = _STATE_WORDS.get(message.state)
        return f"{when}\n{state.capitalize()}" if message.outgoing and state else when


def _anchor(message: Message) -> PageAnchor:
    assert message.id is not None, "rows come from the store"
    return PageAnchor(message.timestamp, message.id)


def loaded_messages(model: HistoryModel) -> list[Message]:
    """Every loaded row, oldest first (for tests and the automation API)."""
    return [model.message(row) for row in range(model.rowCount())]


__all__ = [
    "MAX_ROWS",
    "PAGE_SIZE",
    "HistoryModel",
    "MatchRanges",
    "Role",
    "RowKey",
    "loaded_messages",
    "match_ranges",
    "row_key",
]
