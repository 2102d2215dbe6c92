"""The group chats of the contact list as an item model.

Owns :class:`RoomsModel`, one row per room of every enabled account that is bookmarked,
or that we are in or entering, sorted by name; :class:`RoomsFilterModel`, the proxy the
view shows (narrowed by the contact list's filter text); and :class:`RoomRole`, the data
roles both expose.

A row's unread count is the store's (the others' messages after our read position in the
room's log). Its mentions are counted here: a room message stored after our read position
whose text names our nick in that room (:func:`chinwag.core.mentions.mentions`); they are
forgotten once our read position passes them (we read here or on another device), or
when the message is removed.

Nothing here redraws per event: a room with a flood of messages, or thousands of people
coming in, only marks what changed; the rows are brought up to date at most once every
:data:`FLUSH_MS` (:meth:`RoomsModel.flush` does it now). People coming and going are not
shown here at all, so their events cost nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)

from chinwag.core.events import (
    ConnectionStateChanged,
    MessageAdded,
    MessageEdited,
    MessageRemoved,
    OwnNickChanged,
    ReadPositionChanged,
    RoomJoined,
    RoomLeft,
)
from chinwag.core.mentions import mentions
from chinwag.core.models import (
    ConnectionState,
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
    RoomState,
)
from chinwag.core.service import ChinwagCore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.filter_proxy import TextFilterProxy

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
#: (account, room address)
RoomKey = tuple[str, str]

#: The longest the rows lag behind the events (a flood is one update per this).
FLUSH_MS = 50
#: How many unread messages of a room are read back for mentions when it is listed.
MENTION_SCAN = 500


class RoomRole(enum.IntEnum):
    """Data roles of :class:`RoomsModel` (DisplayRole is the name)."""

    ACCOUNT = Qt.ItemDataRole.UserRole + 1
    JID = enum.auto()
    STATE = enum.auto()  # a RowState
    STATE_TEXT = enum.auto()  # the state in words ("joined", "could not join: ...")
    REASON = enum.auto()  # why not joined ("" : none known)
    UNREAD = enum.auto()
    MENTIONS = enum.auto()  # unread messages naming our nick
    BOOKMARKED = enum.auto()
    AUTOJOIN = enum.auto()


class RowState(enum.StrEnum):
    JOINED = "joined"
    JOINING = "joining"
    NOT_JOINED = "not joined"
    FAILED = "failed"


@dataclass(slots=True)
class _Row:
    account: str
    room: str
    name: str
    state: RowState
    reason: str = ""
    unread: int = 0
    bookmarked: bool = False
    autojoin: bool = False

    @property
    def key(self) -> RoomKey:
        return (self.account, self.room)

    @property
    def order(self) -> tuple[str, str, str]:
        return (self.name.casefold(), self.room, self.account)


@dataclass(slots=True)
class _Mentions:
    """What is known of a room's mentions: our read position, and the unread messages
    naming us (uid -> sequence)."""

    read: int
    unread: dict[str, int] = field(default_factory=dict)


def local_part(room: str) -> str:
    return room.partition("@")[0] or room


def default_nick(core: ChinwagCore, account: str) -> str:
    """The nick to enter a room with when nothing says another: the account's nickname,
    else its address's local part (as the room core does)."""
    config = core.accounts.find(account)
    return (config.nickname if config is not None else "") or account.partition("@")[0]


def state_text(state: RowState, reason: str) -> str:
    if state is RowState.FAILED:
        return f"could not join: {reason}" if reason else "could not join"
    if state is RowState.JOINING:
        return "joining…"
    if state is RowState.NOT_JOINED and reason:
        return f"not joined: {reason}"
    return str(state.value)


class RoomsModel(QAbstractListModel):
    """The rooms of every enabled account (see the module), sorted by name."""

    def __init__(
        self, core: ChinwagCore, bridge: EventBridge, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._rows: list[_Row] = []
        self._by_key: dict[RoomKey, _Row] = {}
        self._mentions: dict[RoomKey, _Mentions] = {}
        self._rebuild_wanted = False
        self._unread_dirty: set[RoomKey] = set()
        self._changed: set[RoomKey] = set()  # mention counts that moved
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)
        self._rebuild()
        bridge.rooms_changed.connect(self._on_room_event)
        bridge.bookmarks_changed.connect(self._on_structure_event)
        bridge.accounts_changed.connect(self._on_structure_event)
        bridge.connection_changed.connect(self._on_connection_event)
        bridge.messages_changed.connect(self._on_message_event)
        bridge.conversations_changed.connect(self._on_conversation_event)

    # -- reading -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name
        if role == RoomRole.ACCOUNT:
            return row.account
        if role == RoomRole.JID:
            return row.room
        if role == RoomRole.STATE:
            return row.state
        if role == RoomRole.STATE_TEXT:
            return state_text(row.state, row.reason)
        if role == RoomRole.REASON:
            return row.reason
        if role == RoomRole.UNREAD:
            return row.unread
        if role == RoomRole.MENTIONS:
            return self.mention_count(row.account, row.room)
        if role == RoomRole.BOOKMARKED:
            return row.bookmarked
        if role == RoomRole.AUTOJOIN:
            return row.autojoin
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._spoken(row)
        return None

    def mention_count(self, account: str, room: str) -> int:
        known = self._mentions.get((account, room))
        return len(known.unread) if known is not None else 0

    def row_of(self, account: str, room: str) -> int:
        """The row of the room, or -1."""
        row = self._by_key.get((account, room))
        return self._rows.index(row) if row is not None else -1

    def keys(self) -> list[RoomKey]:
        return [r.key for r in self._rows]

    def _several_accounts(self) -> bool:
        return len({r.account for r in self._rows}) > 1

    def _tooltip(self, row: _Row) -> str:
        lines = [row.room, state_text(row.state, row.reason)]
        if self._several_accounts():
            lines.append(f"Account: {row.account}")
        if row.unread:
            lines.append(_unread_text(row.unread, self.mention_count(row.account, row.room)))
        if row.autojoin:
            lines.append("Joined automatically on sign-in")
        return "\n".join(lines)

    def _spoken(self, row: _Row) -> str:
        parts = [row.name, state_text(row.state, row.reason)]
        if row.unread:
            parts.append(_unread_text(row.unread, self.mention_count(row.account, row.room)))
        return ", ".join(parts)

    # -- events ------------------------------------------------------------------------

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _on_room_event(self, event: object) -> None:
        # Only our own state in a room shows here; people coming and going do not.
        if isinstance(event, RoomJoined | RoomLeft | OwnNickChanged):
            self._rebuild_wanted = True
            self._schedule()

    def _on_structure_event(self, _event: object) -> None:
        self._rebuild_wanted = True
        self._schedule()

    def _on_connection_event(self, event: object) -> None:
        # Signed out, no room has us (the core enters them again on sign-in).
        if isinstance(event, ConnectionStateChanged):
            self._on_structure_event(event)

    def _on_message_event(self, event: object) -> None:
        if not isinstance(event, MessageAdded | MessageEdited | MessageRemoved):
            # A state change moves no unread count of a room (the count is by position).
            return
        message: Message = event.message
        if message.kind is not ConversationKind.GROUPCHAT:
            return
        key = (message.account, message.peer)
        if message.direction is Direction.INCOMING and key in self._by_key:
            self._unread_dirty.add(key)
            self._schedule()
        if isinstance(event, MessageRemoved):
            self._forget_mention(key, message.uid)
        elif message.direction is Direction.INCOMING:
            self._check_mention(key, message)

    def _on_conversation_event(self, event: object) -> None:
        if not isinstance(event, ReadPositionChanged):
            return
        conv = event.key
        if conv.kind is not ConversationKind.GROUPCHAT or event.participant != conv.account:
            return  # someone else's read position
        key = (conv.account, conv.peer)
        known = self._mentions.get(key)
        if known is not None:
            known.read = max(known.read, event.sequence)
            before = len(known.unread)
            known.unread = {u: s for u, s in known.unread.items() if s > known.read}
            if len(known.unread) != before:
                self._changed.add(key)
        if key in self._by_key:
            self._unread_dirty.add(key)
            self._schedule()

    # -- mentions ----------------------------------------------------------------------

    def _nick(self, account: str, room: str) -> str:
        found = self._core.rooms.room(account, room)
        if found is not None and found.nick:
            return found.nick
        bookmark = self._core.bookmarks.get(account, room)
        if bookmark is not None and bookmark.nick:
            return bookmark.nick
        return default_nick(self._core, account)

    def _known(self, key: RoomKey) -> _Mentions:
        known = self._mentions.get(key)
        if known is None:
            read = 0
            try:
                info = self._core.store.conversation_info(
                    ConversationKey(key[0], key[1], ConversationKind.GROUPCHAT)
                )
                read = info.read_sequence if info is not None else 0
            except Exception:
                log.warning("cannot read the read position of %s", key, exc_info=True)
            known = self._mentions[key] = _Mentions(read)
        return known

    def _check_mention(self, key: RoomKey, message: Message) -> None:
        if key not in self._by_key and key not in self._mentions:
            return  # a room not listed (yet): read back when it is
        known = self._known(key)
        if message.sequence and message.sequence <= known.read:
            return
        named = mentions(message.body, self._nick(*key))
        if named and message.uid not in known.unread:
            known.unread[message.uid] = message.sequence or known.read + 1
            self._changed.add(key)
            self._schedule()
        elif not named and message.uid in known.unread:  # an edit took it away
            del known.unread[message.uid]
            self._changed.add(key)
            self._schedule()

    def _forget_mention(self, key: RoomKey, uid: str) -> None:
        known = self._mentions.get(key)
        if known is not None and known.unread.pop(uid, None) is not None:
            self._changed.add(key)
            self._schedule()

    def _scan_mentions(self, key: RoomKey, unread: int) -> None:
        """A room newly listed: the mentions among its unread messages."""
        known = self._known(key)
        if not unread:
            return
        nick = self._nick(*key)
        conv = ConversationKey(key[0], key[1], ConversationKind.GROUPCHAT)
        try:
            latest = self._core.store.latest(conv, min(unread, MENTION_SCAN))
        except Exception:
            log.warning("cannot read the unread messages of %s", key, exc_info=True)
            return
        for message in latest:
            if (
                message.direction is Direction.INCOMING
                and message.sequence > known.read
                and mentions(message.body, nick)
            ):
                known.unread[message.uid] = message.sequence

    # -- bringing the rows up to date --------------------------------------------------

    def flush(self) -> None:
        """Bring the rows up to date now (the timer does it by itself)."""
        self._timer.stop()
        if self._rebuild_wanted:
            self._rebuild_wanted = False
            self._rebuild()
        dirty, self._unread_dirty = self._unread_dirty, set()
        changed, self._changed = self._changed, set()
        for key in dirty:
            row = self._by_key.get(key)
            if row is None:
                continue
            unread = self._read_unread(key)
            if unread != row.unread:
                row.unread = unread
                changed.add(key)
        for key in changed:
            row = self._by_key.get(key)
            if row is not None:
                index = self.index(self._rows.index(row))
                self.dataChanged.emit(index, index)

    def _read_unread(self, key: RoomKey) -> int:
        try:
            return self._core.store.unread_count(
                ConversationKey(key[0], key[1], ConversationKind.GROUPCHAT)
            )
        except Exception:
            log.warning("cannot read the unread count of %s", key, exc_info=True)
            return 0

    def _wanted(self) -> list[_Row]:
        core = self._core
        rows: list[_Row] = []
        for config in core.accounts.accounts:
            if not config.enabled:
                continue
            account = config.jid
            online = core.state(account) is ConnectionState.ONLINE
            bookmarks = {b.room: b for b in core.bookmarks.list(account)}
            rooms = {r.jid: r for r in core.rooms.rooms(account)}
            listed = set(bookmarks) | {
                jid for jid, r in rooms.items() if r.state in (RoomState.JOINED, RoomState.JOINING)
            }
            if not listed:
                continue
            try:
                counts = core.store.unread_counts(account)
            except Exception:
                log.warning("cannot read unread counts of %s", account, exc_info=True)
                counts = {}
            for jid in listed:
                bookmark = bookmarks.get(jid)
                found = rooms.get(jid)
                if found is None or found.state is RoomState.LEFT:
                    state = RowState.NOT_JOINED
                elif not online and found.state is not RoomState.FAILED:
                    state = RowState.NOT_JOINED  # (entered again once signed in)
                else:
                    state = {
                        RoomState.JOINED: RowState.JOINED,
                        RoomState.JOINING: RowState.JOINING,
                        RoomState.FAILED: RowState.FAILED,
                    }[found.state]
                rows.append(
                    _Row(
                        account=account,
                        room=jid,
                        name=(bookmark.name if bookmark is not None else "") or local_part(jid),
                        state=state,
                        reason=found.reason if found is not None else "",
                        unread=counts.get(
                            ConversationKey(account, jid, ConversationKind.GROUPCHAT), 0
                        ),
                        bookmarked=bookmark is not None,
                        autojoin=bookmark is not None and bookmark.autojoin,
                    )
                )
        rows.sort(key=lambda r: r.order)
        return rows

    def _rebuild(self) -> None:
        """Rows as the core has them now: removed, inserted and changed in place, so the
        view keeps its current row and scroll position."""
        wanted = self._wanted()
        fresh = {r.key: r for r in wanted}
        # Out: rooms no longer listed, and rows whose place moved (a new name).
        for position in range(len(self._rows) - 1, -1, -1):
            row = self._rows[position]
            new = fresh.get(row.key)
            if new is None or new.order != row.order:
                self.beginRemoveRows(QModelIndex(), position, position)
                del self._rows[position]
                del self._by_key[row.key]
                self.endRemoveRows()
        # In, in order: what is left is in the same order as the wanted rows.
        for position, new in enumerate(wanted):
            current = self._rows[position] if position < len(self._rows) else None
            if current is not None and current.key == new.key:
                if current != new:
                    self._rows[position] = self._by_key[new.key] = new
                    index = self.index(position)
                    self.dataChanged.emit(index, index)
            else:
                if new.key not in self._mentions:
                    self._scan_mentions(new.key, new.unread)
                self.beginInsertRows(QModelIndex(), position, position)
                self._rows.insert(position, new)
                self._by_key[new.key] = new
                self.endInsertRows()
        # Mentions of rooms no longer listed are read again if they come back.
        for key in [k for k in self._mentions if k not in self._by_key]:
            del self._mentions[key]


def _unread_text(count: int, mentioned: int) -> str:
    text = f"{count} unread message{'s' if count != 1 else ''}"
    if mentioned:
        text += f", {mentioned} mentioning you"
    return text


class RoomsFilterModel(TextFilterProxy):
    """The rooms whose name or address holds the filter text (any case)."""

    def __init__(self, source: RoomsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        needle = self._needle
        if not needle:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        name = str(index.data() or "").casefold()
        jid = str(index.data(RoomRole.JID) or "").casefold()
        return needle in name or needle in jid
