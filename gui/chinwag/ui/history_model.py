"""The history of one conversation as a Qt list model: a window of rows over the store.

:class:`HistoryModel` owns which messages of a conversation are loaded, never the whole
history. It starts with the newest page and grows by smaller keyset pages on
``(timestamp, id)`` (``fetch_older`` at the top, ``fetch_newer`` at the bottom after a
jump into the past) and is trimmed back to ``max_rows`` from the side the user is not
looking at, so memory stays bounded however long the conversation is. It also owns
the search highlights of the conversation window (which loaded rows are hits, where in
their text the matches are), and what a row shows besides its text (:class:`Decor`):
the "edited" mark, the tombstone of a removed message, the quote of the message a reply
answers, the reactions and the "New messages" line at the read position. Painting is
:mod:`chinwag.ui.message_delegate`'s job; the window forwards core events to
:meth:`HistoryModel.add`, :meth:`HistoryModel.update` and
:meth:`HistoryModel.set_reactions`, each of which changes only the rows concerned.

The store is read when rows come in (a page, a new message), never while painting: the
reactions of a page in one read, and the messages its replies answer that are not loaded
already."""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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

from chinwag.core.mentions import mentions
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
    MessageState,
    PageAnchor,
    SearchHit,
)
from chinwag.core.ports import MessageStore
from chinwag.ui.day_separators import local_day
from chinwag.ui.nick_colors import nick_color

log = logging.getLogger(__name__)

#: Messages read on open (the newest page) and around a message jumped to.
PAGE_SIZE = 50
#: Messages read per page while scrolling, at either end. A page's rows are measured
#: (laid out) in the turn of the event loop that reads it, so this bounds that turn: 50
#: one-line rows took 11-22 ms of CPU (50-95 ms of loop block on a loaded machine), 25
#: take 6-8 ms. 25 rows are about a screen of one-line messages; a page that leaves the
#: view still near its end is followed by the next one in the next turn.
SCROLL_PAGE = 25
#: Rows kept at most; a few screens, like Telegram, so memory does not follow history.
MAX_ROWS = 6 * PAGE_SIZE
#: A screen reader is given this much of a message's text (a row shows as much; the rest
#: is one "Show all" away): a 65,536-character message is not read out, or copied, whole
#: with every change of focus.
SPOKEN_CHARS = 2000
#: A reply quotes this much of the first line of what it answers.
QUOTE_CHARS = 120
#: A screen reader hears this many kinds of reactions of a message, then how many more.
SPOKEN_REACTIONS = 10
#: Messages that replies answer, looked up in the store and kept (beyond the loaded rows).
_TARGET_CACHE = 1000

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
    EDITED_AT = enum.auto()  # float: when it was last edited (0.0: never)
    REMOVED = enum.auto()  # bool: retracted by its author (a tombstone, no text)
    QUOTE = enum.auto()  # Quote | None: what a reply answers
    REACTIONS = enum.auto()  # Reactions | None: everyone's reactions to it
    NEW_MARKER = enum.auto()  # bool: the "New messages" line is above this row
    SENDER_COLOR = enum.auto()  # QColor | None: the author's nick colour (rooms only)
    MENTION = enum.auto()  # bool: someone else's message naming us (rooms only)
    DECOR = enum.auto()  # Decor: all of the above at once, for the delegate


_ROLE_NAMES = {role: role.name.lower().encode() for role in Role}
_STATE_WORDS = {
    MessageState.QUEUED: "queued",
    MessageState.SENT: "sent",
    MessageState.DELIVERED: "delivered",
    MessageState.READ: "read",
    MessageState.FAILED: "failed",
    MessageState.HELD: "sending, its file is being uploaded",
}


def row_key(message: Message) -> RowKey:
    return (message.direction, message.uid)


@dataclass(frozen=True, slots=True)
class Quote:
    """What a reply shows of the message it answers: its author's name and the start of
    its first line. ``found`` is False when that message is not in the history (never
    received, or not yet); ``removed`` when its author removed it."""

    uid: str
    author: str
    text: str
    found: bool
    removed: bool = False

    @property
    def summary(self) -> str:
        """The quote in words (screen readers, tool tips)."""
        if not self.found:
            if self.text:
                return f"reply to {self.author}: {self.text} (message not found)"
            return f"reply to {self.author}: message not found"
        if self.removed:
            return f"reply to {self.author}: message removed"
        return f"reply to {self.author}: {self.text}"


@dataclass(frozen=True, slots=True)
class Chip:
    """One reaction to a message and who chose it (bare addresses, oldest first)."""

    emoji: str
    count: int
    mine: bool
    senders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reactions:
    """Everyone's reactions to one message, as chips (most chosen first; ties in the
    order they were first chosen), and the user's own (in the order chosen).
    ``signature`` tells two sets apart for the delegate's caches."""

    chips: tuple[Chip, ...]
    mine: tuple[str, ...]
    senders: int
    signature: int

    @classmethod
    def of(cls, everyone: Iterable[tuple[str, Sequence[str]]], own: str) -> Reactions | None:
        """The chips of ``everyone``'s reactions, (sender, reactions) oldest first, with
        ``own`` the user's address; None when nobody reacted."""
        senders_of: dict[str, list[str]] = {}
        mine: tuple[str, ...] = ()
        count = 0
        for sender, reactions in everyone:
            chosen = tuple(dict.fromkeys(r for r in reactions if r))
            if not chosen:
                continue
            count += 1
            if sender == own:
                mine = chosen
            for emoji in chosen:
                senders_of.setdefault(emoji, []).append(sender)
        if not senders_of:
            return None
        order = {emoji: n for n, emoji in enumerate(senders_of)}
        ranked = sorted(senders_of.items(), key=lambda item: (-len(item[1]), order[item[0]]))
        chips = tuple(
            Chip(emoji, len(senders), emoji in mine, tuple(senders)) for emoji, senders in ranked
        )
        signature = hash(tuple((c.emoji, c.count, c.mine) for c in chips))
        return cls(chips, mine, count, signature)

    @property
    def total(self) -> int:
        """How many reactions there are (a sender's each counted)."""
        return sum(chip.count for chip in self.chips)

    def summary(self, limit: int = SPOKEN_REACTIONS) -> str:
        """The reactions in words: "reactions: 👍 3 (yours), ❤️ 1" and how many more."""
        parts = [
            f"{c.emoji} {c.count}" + (" (yours)" if c.mine else "") for c in self.chips[:limit]
        ]
        rest = len(self.chips) - limit
        if rest > 0:
            parts.append(f"and {QLocale().toString(rest)} more")
        return "reactions: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Decor:
    """What a row shows besides its text and state; ``key`` is what its size depends on."""

    edited_at: float = 0.0
    removed: bool = False
    quote: Quote | None = None
    reactions: Reactions | None = None
    new_marker: bool = False
    #: The first message of a local day: a date separator is drawn above it.
    day_break: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        signature = self.reactions.signature if self.reactions is not None else 0
        return (
            self.edited_at,
            self.removed,
            self.quote,
            signature,
            self.new_marker,
            self.day_break,
        )


PLAIN = Decor()


def first_line(text: str, limit: int = QUOTE_CHARS) -> str:
    """The first line of ``text`` with something in it, at most ``limit`` characters
    (then an ellipsis)."""
    line = ""
    for part in _LINES.split(text[: 16 * limit]):
        if part.strip():
            line = part.strip()
            break
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"


_LINES = re.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")


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
        scroll_page: int | None = None,
        max_rows: int = MAX_ROWS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if max_rows < 2 * page_size:
            raise ValueError("max_rows must hold at least two pages")
        if scroll_page is None:
            scroll_page = min(SCROLL_PAGE, page_size)
        if not 0 < scroll_page <= page_size:
            raise ValueError("a scroll page must be at most a page")
        self._store = store
        self._key = key
        self._own_name = own_name
        self._peer_name = peer_name or key.peer
        #: A room's history: authors are occupants, named by nick.
        self._group = key.kind is ConversationKind.GROUPCHAT
        self._author_names: Callable[[str], str | None] | None = None
        self._page_size = page_size
        self._scroll_page = scroll_page
        self._max_rows = max_rows
        self._rows: list[Message] = []
        self._by_key: dict[RowKey, Message] = {}
        self._has_older = False
        self._at_live_end = True
        self._hits: dict[RowKey, MatchRanges] = {}
        self._current_hit: RowKey | None = None
        #: Reactions of the loaded rows that have any.
        self._reactions: dict[RowKey, Reactions] = {}
        #: Loaded replies by the id of what they answer.
        self._replies: dict[str, set[RowKey]] = {}
        #: Messages replies answer, looked up in the store (None: not there).
        self._targets: dict[str, Message | None] = {}
        #: The row above which "New messages" is drawn.
        self._marker: RowKey | None = None
        #: The local day of the message before the first row (None: it has none).
        self._prior_day: dt.date | None = None
        self.load_latest()

    # -- what is loaded -----------------------------------------------------------------

    @property
    def key(self) -> ConversationKey:
        return self._key

    @property
    def page_size(self) -> int:
        """Messages read on open and around a message jumped to."""
        return self._page_size

    @property
    def scroll_page(self) -> int:
        """Messages read per :meth:`fetch_older` or :meth:`fetch_newer`."""
        return self._scroll_page

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
        self._reset(
            [*older, message, *newer], at_live_end=len(newer) < after, has_older=len(older) == half
        )

    def _reset(
        self, rows: list[Message], *, at_live_end: bool, has_older: bool | None = None
    ) -> None:
        """Hold ``rows``; ``has_older`` None: a full page may have older ones. (Known
        before the day of the message before the first row is read: without older ones
        the first row starts a day, and a separator wrongly drawn there went as the next
        page came in above, moving what was shown.)"""
        self.beginResetModel()
        self._rows = rows
        self._by_key = {row_key(m): m for m in rows}
        self._has_older = len(rows) >= self._page_size if has_older is None else has_older
        self._at_live_end = at_live_end
        self._reactions.clear()
        self._replies.clear()
        self._targets.clear()
        self._take_in(rows)
        self._read_prior_day()
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
        page = self._store.before(self._key, _anchor(self._rows[0]), self._scroll_page)
        page = [m for m in page if row_key(m) not in self._by_key]
        if len(page) < self._scroll_page:
            self._has_older = False
        if not page:
            return 0
        was = self.starts_day(0)
        self._read_prior_day(page[0])
        self.beginInsertRows(QModelIndex(), 0, len(page) - 1)
        self._rows[0:0] = page
        self._by_key.update((row_key(m), m) for m in page)
        self._take_in(page)
        self.endInsertRows()
        self._days_changed(len(page), was)
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
        page = self._store.after(self._key, _anchor(self._rows[-1]), self._scroll_page)
        page = [m for m in page if row_key(m) not in self._by_key]
        if len(page) < self._scroll_page:
            self._at_live_end = True
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self._by_key.update((row_key(m), m) for m in page)
            self._take_in(page)
            self.endInsertRows()
            self.trim_oldest(self._max_rows)
        return len(page)

    def trim_oldest(self, keep: int) -> int:
        """Drop rows from the top until at most ``keep`` remain; returns how many went."""
        excess = len(self._rows) - keep
        if excess <= 0:
            return 0
        was = self.starts_day(excess)
        self._prior_day = local_day(self._rows[excess - 1].timestamp)
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        self._let_go(self._rows[:excess])
        del self._rows[:excess]
        self._has_older = True
        self.endRemoveRows()
        self._days_changed(0, was)
        return excess

    def trim_newest(self, keep: int) -> int:
        """Drop rows from the bottom until at most ``keep`` remain; returns how many went.
        New messages are then no longer appended until the bottom is fetched again."""
        excess = len(self._rows) - keep
        if excess <= 0:
            return 0
        first = len(self._rows) - excess
        self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
        self._let_go(self._rows[first:])
        del self._rows[first:]
        self._at_live_end = False
        self.endRemoveRows()
        return excess

    @property
    def max_rows(self) -> int:
        return self._max_rows

    def _take_in(self, messages: Sequence[Message], *, new: bool = False) -> None:
        """Rows that came in (already in ``_by_key``): read their reactions (one read;
        none for a message just stored, which has none yet) and the messages their
        replies answer that are not loaded."""
        ids = [] if new else [m.id for m in messages if m.id is not None]
        if ids:
            try:
                found = self._store.reactions(ids)
            except Exception:  # a read that fails must not take the history with it
                log.exception("reading the reactions of %d messages failed", len(ids))
                found = {}
            if found:
                by_id = {m.id: m for m in messages}
                for message_id, everyone in found.items():
                    message = by_id.get(message_id)
                    reactions = Reactions.of(everyone, self._key.account)
                    if message is not None and reactions is not None:
                        self._reactions[row_key(message)] = reactions
        for message in messages:
            if message.reply_to:
                self._replies.setdefault(message.reply_to, set()).add(row_key(message))
                if self._loaded_target(message) is None:
                    self._look_up(message.reply_to)

    def _let_go(self, messages: Sequence[Message]) -> None:
        """Rows about to be dropped: forget what is kept for them."""
        for message in messages:
            key = row_key(message)
            del self._by_key[key]
            self._reactions.pop(key, None)
            if message.reply_to:
                replies = self._replies.get(message.reply_to)
                if replies is not None:
                    replies.discard(key)
                    if not replies:
                        del self._replies[message.reply_to]

    def _look_up(self, uid: str) -> None:
        if uid in self._targets:
            return
        if len(self._targets) >= _TARGET_CACHE:
            self._targets.clear()
        try:
            key = self._key
            self._targets[uid] = self._store.get(key.account, key.peer, uid, key.kind)
        except Exception:
            log.exception("looking up the message %s a reply answers failed", uid)
            self._targets[uid] = None

    def _loaded_target(self, reply: Message) -> Message | None:
        uid, author = reply.reply_to, reply.reply_to_jid.partition("/")[0]
        if author:
            direction = Direction.OUTGOING if author == self._key.account else Direction.INCOMING
            return self._by_key.get((direction, uid))
        return self._by_key.get((Direction.INCOMING, uid)) or self._by_key.get(
            (Direction.OUTGOING, uid)
        )

    def target_of(self, reply: Message) -> Message | None:
        """The message ``reply`` answers, if it is in the history (loaded or not)."""
        if not reply.reply_to:
            return None
        return self._loaded_target(reply) or self._targets.get(reply.reply_to)

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
        was = self.starts_day(row)
        if row == 0:
            self._read_prior_day(message)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, message)
        self._by_key[key] = message
        self._take_in([message], new=True)
        self.endInsertRows()
        after = self._rows[row + 1] if row + 1 < len(self._rows) else None
        if after is None or row_key(after) not in self._replies.get(message.uid, ()):
            self._days_changed(row + 1, was)  # (a reply quoting it changes whole below)
        self._quoted_changed(message)
        return True

    def update(self, message: Message) -> bool:
        """A stored message changed (``MessageStateChanged``): refresh its row in place;
        returns True when it is loaded."""
        if message.key != self._key:
            return False
        if message.uid in self._targets:  # quoted by a loaded reply
            self._targets[message.uid] = message
        row = self.row_of(message)
        if row is None:
            self._quoted_changed(message)
            return False
        old = self._rows[row]
        self._rows[row] = message
        self._by_key[row_key(message)] = message
        roles = [
            Role.STATE,
            Role.ERROR,
            Role.MESSAGE,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ]
        if (old.body, old.edited_at, old.removed) != (
            message.body,
            message.edited_at,
            message.removed,
        ):  # edited or removed: the text and what is drawn with it
            self._hits.pop(row_key(message), None)  # the matches were in the old text
            roles += [
                Qt.ItemDataRole.DisplayRole,
                Role.BODY,
                Role.EDITED_AT,
                Role.REMOVED,
                Role.SEARCH_MATCH,
                Role.DECOR,
            ]
            self._quoted_changed(message)
        index = self.index(row)
        self.dataChanged.emit(index, index, roles)
        return True

    def remove(self, message: Message) -> bool:
        """A stored message no longer shows as a message of its own (``MessageFolded``:
        a correction kept as a message until the message it corrects came, and applied
        to it since): take its row out; returns True when it was loaded. (The message it
        was folded into has its own ``MessageEdited``.)"""
        if message.key != self._key:
            return False
        row = self.row_of(message)
        if row is None:
            return False
        key = row_key(message)
        was = self.starts_day(row + 1)  # (the day before row 0 stays the same)
        self.beginRemoveRows(QModelIndex(), row, row)
        self._let_go([self._rows[row]])
        del self._rows[row]
        self._hits.pop(key, None)
        if self._current_hit == key:
            self._current_hit = None
        self.endRemoveRows()
        self._days_changed(row, was)
        return True

    def _quoted_changed(self, message: Message) -> None:
        """``message`` came in or changed: the loaded replies quoting it show it anew."""
        replies = self._replies.get(message.uid)
        if replies:
            self._emit_rows_changed(
                list(replies), [Role.QUOTE, Role.DECOR, Qt.ItemDataRole.AccessibleTextRole]
            )

    def set_reactions(
        self, message: Message, everyone: Sequence[tuple[str, Sequence[str]]]
    ) -> bool:
        """Someone's reactions to ``message`` changed (``ReactionsChanged``): ``everyone``
        is everyone's now, (sender, reactions) oldest first. Returns True when the
        message is loaded (its row alone is changed)."""
        if message.key != self._key:
            return False
        key = row_key(message)
        if key not in self._by_key:
            return False
        reactions = Reactions.of(everyone, self._key.account)
        if reactions is None:
            self._reactions.pop(key, None)
        else:
            self._reactions[key] = reactions
        self._emit_rows_changed(
            [key], [Role.REACTIONS, Role.DECOR, Qt.ItemDataRole.AccessibleTextRole]
        )
        return True

    def reactions_of(self, message: Message | RowKey) -> Reactions | None:
        """The reactions to a loaded message (None: none, or not loaded)."""
        return self._reactions.get(message if isinstance(message, tuple) else row_key(message))

    # -- the read position --------------------------------------------------------------

    @property
    def read_marker(self) -> RowKey | None:
        """The message above which "New messages" is drawn (None: no line)."""
        return self._marker

    def set_read_marker(self, key: Message | RowKey | None) -> None:
        """Draw "New messages" above this message (None: nowhere)."""
        new = row_key(key) if isinstance(key, Message) else key
        if new == self._marker:
            return
        changed = [k for k in (self._marker, new) if k is not None]
        self._marker = new
        self._emit_rows_changed(
            changed, [Role.NEW_MARKER, Role.DECOR, Qt.ItemDataRole.AccessibleTextRole]
        )

    def set_names(self, own_name: str, peer_name: str) -> None:
        """The user's or the contact's display name changed (a roster rename)."""
        if (own_name, peer_name) == (self._own_name, self._peer_name):
            return
        self._own_name, self._peer_name = own_name, peer_name
        if self._rows:
            self.dataChanged.emit(
                self.index(0),
                self.index(len(self._rows) - 1),
                [Role.SENDER, Role.SENDER_COLOR, Role.MENTION, Qt.ItemDataRole.AccessibleTextRole],
            )

    # -- day separators (chinwag.ui.day_separators) -------------------------------------

    def starts_day(self, row: int) -> bool:
        """Whether the message at ``row`` is the first of its local day in the
        conversation (the one before it, loaded or not, is of another day)."""
        if not 0 <= row < len(self._rows):
            return False
        day = local_day(self._rows[row].timestamp)
        if row == 0:
            return self._prior_day != day
        return local_day(self._rows[row - 1].timestamp) != day

    def _read_prior_day(self, first: Message | None = None) -> None:
        """Learn the day of the message before ``first``, the first row (about to be):
        one indexed read when rows come in at the top, before the view hears of them
        (never while painting)."""
        if first is None:
            first = self._rows[0] if self._rows else None
        self._prior_day = None
        if first is None or not self._has_older:
            return
        try:
            before = self._store.before(self._key, _anchor(first), 1)
        except Exception:  # a read that fails must not take the history with it
            log.exception("reading the message before the first row failed")
            before = []
        if before:
            self._prior_day = local_day(before[-1].timestamp)

    def _days_changed(self, row: int, was: bool) -> None:
        """Rows were inserted or removed just before ``row``: the row now there has
        another message before it, so it may start or stop starting a day (``was``:
        whether it did); its row changes only if that changed."""
        if 0 <= row < len(self._rows) and self.starts_day(row) != was:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Role.DECOR])

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
        if role == Role.DECOR:
            return self.decor(message)
        if role == Role.EDITED_AT:
            return message.edited_at
        if role == Role.REMOVED:
            return message.removed
        if role == Role.QUOTE:
            return self.quote(message)
        if role == Role.REACTIONS:
            return self._reactions.get(row_key(message))
        if role == Role.NEW_MARKER:
            return self._marker == row_key(message)
        if role == Role.SENDER_COLOR:
            return nick_color(self.sender_name(message)) if self._group else None
        if role == Role.MENTION:
            return self.mentions_me(message)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._spoken(message)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tool_tip(message)
        return None

    def sender_name(self, message: Message) -> str:
        if message.outgoing:
            return self._own_name
        if self._group:  # a room's: the author's nick
            return message.sender_resource or "(the room)"
        return self._peer_name

    def mentions_me(self, message: Message) -> bool:
        """Someone else's room message that names us (by our nick there)."""
        return (
            self._group
            and not message.outgoing
            and not message.removed
            and mentions(message.body, self._own_name)
        )

    def set_author_names(self, names: Callable[[str], str | None]) -> None:
        """How a room's author (a real address or ``occupant-id:``) is named: its nick."""
        self._author_names = names

    def name_of(self, address: str) -> str:
        """The name shown for a bare address of this conversation (the user, the
        contact, or the address itself)."""
        if address == self._key.account:
            return self._own_name
        if address == self._key.peer:
            return self._peer_name
        if self._author_names is not None:
            return self._author_names(address) or address
        return address

    def quote(self, message: Message) -> Quote | None:
        """What the reply ``message`` shows of the message it answers (None: it is not a
        reply)."""
        if not message.reply_to:
            return None
        target = self.target_of(message)
        if target is None:
            author = message.reply_to_jid.partition("/")[0]
            name = self.name_of(author) if author else "a message"
            # The sender's own quote of it, where the reply carried one.
            return Quote(message.reply_to, name, first_line(message.reply_quote), found=False)
        name = self.sender_name(target)
        if target.removed:
            return Quote(target.uid, name, "", found=True, removed=True)
        return Quote(target.uid, name, first_line(target.body), found=True)

    def decor(self, message: Message) -> Decor:
        key = row_key(message)
        reactions = self._reactions.get(key)
        marker = self._marker == key
        row = self.row_of(message)
        day_break = row is not None and self.starts_day(row)
        if not (
            message.edited_at
            or message.removed
            or message.reply_to
            or reactions
            or marker
            or day_break
        ):
            return PLAIN
        return Decor(
            edited_at=0.0 if message.removed else message.edited_at,
            removed=message.removed,
            quote=None if message.removed else self.quote(message),
            reactions=None if message.removed else reactions,
            new_marker=marker,
            day_break=day_break,
        )

    def _spoken(self, message: Message) -> str:
        """What a screen reader says for a row: who, when, its state, whether it was
        edited or removed, what it replies to, the text, then its reactions."""
        when = QDateTime.fromSecsSinceEpoch(int(message.timestamp)).toString("d MMM HH:mm")
        state = _STATE_WORDS.get(message.state)
        parts = [self.sender_name(message), when]
        if self.mentions_me(message):
            parts.append("mentions you")
        if message.outgoing and state:
            parts.append(f"{state}: {message.error}" if message.error else state)
        marker = "New messages. " if self._marker == row_key(message) else ""
        if message.removed:
            return marker + ", ".join([*parts, "removed"]) + ": this message was removed"
        if message.edited_at:
            parts.append("edited")
        quote = self.quote(message)
        if quote is not None:
            parts.append(quote.summary)
        body = message.body
        if len(body) > SPOKEN_CHARS:  # as much as the row shows; the rest is "Show all"
            total = QLocale().toString(len(body))
            body = f"{body[:SPOKEN_CHARS]}… (cut; {total} characters in all)"
        reactions = self._reactions.get(row_key(message))
        after = f"; {reactions.summary()}" if reactions is not None else ""
        return marker + ", ".join(parts) + f": {body}{after}"

    def _tool_tip(self, message: Message) -> str:
        when = long_time(message.timestamp)
        if message.removed:
            when += "\nRemoved by its author"
        elif message.edited_at:
            when += f"\nEdited {long_time(message.edited_at)}"
        if message.outgoing and message.state is MessageState.HELD:
            return f"{when}\nSending: its file is being uploaded"
        if message.outgoing and message.state is MessageState.FAILED:
            return f"{when}\nNot sent: {message.error or 'unknown error'}"
        state = _STATE_WORDS.get(message.state)
        return f"{when}\n{state.capitalize()}" if message.outgoing and state else when


def long_time(timestamp: float) -> str:
    """A moment in full: "Tuesday 14 November 2023, 22:13:20"."""
    return QDateTime.fromSecsSinceEpoch(int(timestamp)).toString("dddd d MMMM yyyy, HH:mm:ss")


def _anchor(message: Message) -> PageAnchor:
    assert message.id is not None, "rows come from the store"
    return PageAnchor(message.timestamp, message.id)


def loaded_messages(model: HistoryModel) -> list[Message]:
    """Every loaded row, oldest first (for tests and the automation API)."""
    return [model.message(row) for row in range(model.rowCount())]


__all__ = [
    "MAX_ROWS",
    "PAGE_SIZE",
    "PLAIN",
    "QUOTE_CHARS",
    "SCROLL_PAGE",
    "Chip",
    "Decor",
    "HistoryModel",
    "MatchRanges",
    "Quote",
    "Reactions",
    "Role",
    "RowKey",
    "first_line",
    "loaded_messages",
    "long_time",
    "match_ranges",
    "row_key",
]
