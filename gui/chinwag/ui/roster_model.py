"""The contact list as item models.

Owns :class:`RosterModel`, a two-level tree (roster group -> contact) over the contacts of
every enabled account, kept in step with core events incrementally, and
:class:`RosterFilterModel`, the proxy the view shows: offline contacts hidden or shown,
sorted by name or by status, narrowed by a filter text. :class:`RosterRole` names the
data roles both expose; :class:`SortMode` the two orders.

A contact's unread count is the store's: the contact's messages after our read position
in the conversation's log. It is read again when one of their messages is stored,
changes state or is removed, and when our read position moves
(:class:`~chinwag.core.events.ReadPositionChanged`: we read here, or on another device).

Why it is built the way it is (measured with ``bench/bench_roster.py``, 5,000 contacts):
every time Qt asks Python something (``index()``, ``flags()``, ``lessThan()``,
``filterAcceptsRow()``) it costs a few microseconds, and Qt asks per row or per
comparison. So:

* the rows of each group are kept *in order* here (bisect on cached sort keys), and the
  proxy does not sort: a proxy sort calls ``index()`` twice and ``lessThan()`` once per
  comparison, 30,000 comparisons for this roster;
* a change that only repaints a row (a new status message, away instead of busy when
  sorting by name) is reported once per event-loop iteration, as one ``dataChanged`` per
  run of neighbouring rows; rows of newly added contacts likewise, one insert per group;
* a change that can show, hide or move a row (online <-> offline, unread <-> read, any
  presence change when sorting by status) is held back and reported in one batch at most
  every :data:`SETTLE_MS`, with one ``layoutChanged`` for all the rows it moves: each
  such batch costs the view a full relayout of the list (about 3 calls into Python per
  visible row), so a presence flood must not cost one per stanza (a list that jumps at
  every stanza could not be read anyway);
* the proxy decides a group's visibility itself, in plain Python over the group's cached
  entries, instead of Qt's recursive filtering (which calls ``index()`` and
  ``filterAcceptsRow()`` for every child of a hidden group);
* every lookup by ``(account, jid)`` is a dict lookup; a row knows its position through
  its group's ``pos`` dict. A whole roster arriving is one insert per group; the model is
  reset only on ``RosterReceived`` when the roster differs from it in more than
  :data:`RESET_THRESHOLD` contacts (which happens only if the roster changed without a
  per-contact event).
"""

from __future__ import annotations

import bisect
import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)

from chinwag.core.events import (
    BlockChanged,
    ContactNicknameChanged,
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    MessageAdded,
    MessageRemoved,
    MessageStateChanged,
    ReadPositionChanged,
    RosterReceived,
)
from chinwag.core.models import (
    SHOW_RANK,
    Contact,
    ConversationKey,
    ConversationKind,
    Direction,
    Presence,
    Subscription,
)
from chinwag.core.roster import contact_name
from chinwag.core.service import ChinwagCore
from chinwag.core.status import Status
from chinwag.ui.bridge import (
    AccountEvent,
    ConversationChange,
    EventBridge,
    MessageEvent,
    RosterEvent,
)
from chinwag.ui.filter_proxy import TextFilterProxy
from chinwag.ui.icons import icon, status_icon

log = logging.getLogger(__name__)

#: Where contacts without a roster group are listed.
DEFAULT_GROUP = "Contacts"
#: A ``RosterReceived`` that differs from the model in more contacts than this resets the
#: model instead of patching it row by row (cheaper for the proxy and the view).
RESET_THRESHOLD = 500
#: Changes that show, hide or move rows are applied at most this often, in one batch.
SETTLE_MS = 150
#: A batch with more rows than this is one whole-model ``layoutChanged`` (one proxy
#: rebuild and one relayout) rather than a ``dataChanged`` per run of rows.
SETTLE_LAYOUT_ROWS = 400
#: New contacts added per event-loop iteration: a first sign-in brings the whole roster
#: at once, and the list shows it over a few iterations instead of in one long block.
INSERT_CHUNK = 1000
#: Dirty rows closer than this go in one ``dataChanged`` range: fewer signals, while the
#: proxy and the view re-check only a few clean rows in between.
_RUN_GAP = 4

Index = QModelIndex | QPersistentModelIndex
ContactKey = tuple[str, str]  # (account, bare jid)
_ROOT = QModelIndex()
# internalId of a group index; a contact's index carries its group's id (>= 1) instead,
# so parent() is a dict lookup and no Python object hides behind an index.
_GROUP_ID = 0
# Built once: combining Qt flags in Python costs more than the rest of flags().
_GROUP_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_CONTACT_FLAGS = _GROUP_FLAGS | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags
# PySide needs the overload named to emit the layout signals with parents and a hint
# (its stubs do not know signals can be indexed by signature: hence the type ignores).
_LAYOUT_SIGNATURE = "QList<QPersistentModelIndex>,QAbstractItemModel::LayoutChangeHint"


_SUBSCRIPTION_TEXT = {
    Subscription.BOTH: "both ways",
    Subscription.TO: "you see their status; they do not see yours",
    Subscription.FROM: "they see your status; you do not see theirs",
    Subscription.NONE: "none",
}


def subscription_text(contact: Contact) -> str:
    """The presence subscription (RFC 6121) in words, with a request still pending."""
    text = _SUBSCRIPTION_TEXT.get(contact.subscription, str(contact.subscription))
    if contact.ask:
        text += " (your request is pending)"
    return text


def client_name(caps_node: str) -> str:
    """A client's name from its XEP-0115 node ("https://gajim.org#ver" -> "gajim.org")."""
    node = caps_node.partition("#")[0].strip()
    for prefix in ("https://", "http://"):
        node = node.removeprefix(prefix)
    return node.removeprefix("www.").rstrip("/")


class RosterRole(enum.IntEnum):
    """Data roles of :class:`RosterModel` (and so of :class:`RosterFilterModel`)."""

    NAME = Qt.ItemDataRole.UserRole + 1  # display name of a contact, or the group's name
    JID = enum.auto()  # bare address (contacts)
    ACCOUNT = enum.auto()  # the account the contact belongs to
    STATUS = enum.auto()  # int value of Status.from_show of the aggregate presence
    STATUS_MESSAGE = enum.auto()  # the presence status text (or a subscription note)
    UNREAD = enum.auto()  # unread messages (a group: the sum over its contacts)
    GROUP = enum.auto()  # the group this row is listed under
    IS_GROUP = enum.auto()  # True for group rows
    ONLINE_COUNT = enum.auto()  # groups: contacts not offline
    TOTAL_COUNT = enum.auto()  # groups: contacts
    BLOCKED = enum.auto()  # contacts: blocked (XEP-0191)


class SortMode(enum.Enum):
    """How contacts are ordered within a group (groups are always by name)."""

    NAME = "name"  # by display name (then account, then address)
    STATUS = "status"  # most available first, then by name


# Which roles a kind of change touches.
_PRESENCE_ROLES = (
    RosterRole.STATUS,
    RosterRole.STATUS_MESSAGE,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
)
_CONTACT_ROLES = (
    Qt.ItemDataRole.DisplayRole,
    RosterRole.NAME,
    RosterRole.STATUS_MESSAGE,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
)
_BLOCK_ROLES = (
    RosterRole.BLOCKED,
    RosterRole.STATUS_MESSAGE,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
)
_UNREAD_ROLES = (
    RosterRole.UNREAD,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
)
_GROUP_ROLES = [
    int(RosterRole.ONLINE_COUNT),
    int(RosterRole.TOTAL_COUNT),
    int(RosterRole.UNREAD),
    int(Qt.ItemDataRole.ToolTipRole),
    int(Qt.ItemDataRole.AccessibleTextRole),
]


@dataclass(slots=True, eq=False)
class _Entry:
    """One contact of one account, with everything the list shows, sorts and filters by."""

    contact: Contact
    presence: Presence
    unread: int
    rank: int  # position of its account (primary first), the last tie-breaker
    blocked: bool = False
    groups: tuple[str, ...] = ()
    status: Status = Status.OFFLINE
    online: bool = False
    nickname: str = ""  # the one the contact publishes (XEP-0172)
    name: str = ""  # what names it: the user's name for it, else its nickname, else jid
    haystack: str = ""  # what the filter text is searched in
    name_key: tuple[str, int, str] = ("", 0, "")
    status_key: tuple[int, str, int, str] = (0, "", 0, "")

    def refresh(self) -> None:
        """Recompute what derives from the contact and its presence."""
        contact = self.contact
        self.groups = tuple(dict.fromkeys(contact.groups)) or (DEFAULT_GROUP,)
        self.status = Status.from_show(self.presence.show)
        self.online = self.status is not Status.OFFLINE
        self.name = contact_name(contact.name, self.nickname, contact.jid)
        folded = self.name.casefold()
        self.haystack = f"{folded}\n{contact.jid.casefold()}"
        self.name_key = (folded, self.rank, contact.jid)
        self.status_key = (-SHOW_RANK[self.presence.show], folded, self.rank, contact.jid)

    @property
    def status_message(self) -> str:
        if self.blocked:
            return "Blocked"
        if self.presence.status:
            return self.presence.status
        if self.contact.ask:
            return "Waiting for authorization"
        return ""


@dataclass(slots=True, eq=False)
class _Group:
    gid: int
    name: str
    row: int
    keys: list[ContactKey] = field(default_factory=list)  # in the current sort order
    pos: dict[ContactKey, int] = field(default_factory=dict)
    online: int = 0

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.name.casefold(), self.name)

    def renumber(self, start: int = 0) -> None:
        keys, pos = self.keys, self.pos
        for i in range(start, len(keys)):
            pos[keys[i]] = i


def _runs(rows: Iterable[int], gap: int = 0) -> list[tuple[int, int]]:
    """Sorted ``rows`` as (first, last) runs, joining runs at most ``gap`` rows apart."""
    out: list[tuple[int, int]] = []
    for row in sorted(rows):
        if out and row - out[-1][1] <= gap + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


class RosterModel(QAbstractItemModel):
    """Roster groups -> contacts of every enabled account (primary first), each level in
    order: groups by name, contacts by :attr:`sort_mode`.

    A contact without a group is listed under :data:`DEFAULT_GROUP`; a contact in two
    groups is listed under both. Empty groups are not listed. One column.

    Data reads are always current; the signals for presence, unread and newly added
    contacts come once per event-loop iteration (call :meth:`flush` to have them now)."""

    def __init__(
        self, core: ChinwagCore, bridge: EventBridge, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._mode = SortMode.NAME
        self._entries: dict[ContactKey, _Entry] = {}
        self._groups: list[_Group] = []
        self._by_name: dict[str, _Group] = {}
        self._by_gid: dict[int, _Group] = {}
        self._next_gid = 1
        self._ranks: dict[str, int] = {}
        # Work coalesced per event-loop iteration (see flush()).
        self._pending: dict[ContactKey, None] = {}  # contacts to add, in arrival order
        self._resync: set[str] = set()  # accounts whose whole roster arrived
        self._dirty: dict[ContactKey, set[int]] = {}  # rows to report, with their roles
        self._dirty_groups: set[str] = set()
        self._unread_dirty: set[ContactKey] = set()
        self._unsorted: set[str] = set()  # groups whose order may be stale
        self._settling: dict[ContactKey, set[int]] = {}  # rows that may show, hide or move
        #: Set by the proxy: whether presence and unread counts can hide a row.
        self.presence_hides_rows = False
        self._flush_timer = self._timer(0, self._flush_coalesced)
        self._settle_timer = self._timer(SETTLE_MS, self._settle)
        self._ranks = self._enabled_ranks()
        self.beginResetModel()
        self._load()
        self.endResetModel()
        bridge.roster_changed.connect(self._on_roster_event)
        bridge.messages_changed.connect(self._on_message_event)
        bridge.conversations_changed.connect(self._on_conversation_event)
        bridge.accounts_changed.connect(self._on_accounts_changed)
        bridge.blocking_changed.connect(self._on_block_changed)

    def _timer(self, interval: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(interval)
        timer.timeout.connect(slot)
        return timer

    # -- public API ------------------------------------------------------------------------

    @property
    def sort_mode(self) -> SortMode:
        return self._mode

    def set_sort_mode(self, mode: SortMode) -> None:
        """Order the contacts of every group by name or by status (one layout change)."""
        if mode is not self._mode:
            self._mode = mode
            self._reorder([g.name for g in self._groups])

    def index_of(self, account: str, jid: str) -> list[QModelIndex]:
        """Every row listing the contact (one per group it is in); O(groups of it)."""
        key = (account, jid)
        entry = self._entries.get(key)
        if entry is None:
            return []
        out = []
        for name in entry.groups:
            group = self._by_name[name]
            out.append(self.createIndex(group.pos[key], 0, group.gid))
        return out

    def group_index(self, name: str) -> QModelIndex:
        group = self._by_name.get(name)
        return self.createIndex(group.row, 0, _GROUP_ID) if group else QModelIndex()

    def group_names(self) -> list[str]:
        return [g.name for g in self._groups]

    def contact(self, index: Index) -> Contact | None:
        """The contact a row lists, or None for a group row."""
        entry = self._entry(index)
        return entry.contact if entry else None

    def flush(self) -> None:
        """Do now what is waiting: add new contacts' rows, read changed unread counts,
        report changed rows and re-sort what presence put out of order. The event loop
        does all this by itself; tests and benchmarks call it so as not to wait."""
        self._flush_coalesced()
        while self._pending:
            self._flush_coalesced()
        self._settle()

    def _flush_coalesced(self) -> None:
        self._flush_timer.stop()
        self._flush_inserts()
        if not self._pending:  # a roster compares complete only once all of it is in
            accounts, self._resync = self._resync, set()
            for account in accounts:
                self.resync(account)
        self._flush_unread()
        dirty, self._dirty = self._dirty, {}
        groups, self._dirty_groups = self._dirty_groups, set()
        self._emit_changes(dirty, groups)

    def _settle(self) -> None:
        """The held-back batch: one re-sort, then the rows that may show or hide."""
        self._settle_timer.stop()
        names, self._unsorted = self._unsorted, set()
        settling, self._settling = self._settling, {}
        everything = len(settling) > SETTLE_LAYOUT_ROWS
        self._reorder(names, everything=everything)
        if not everything:  # a whole-model layout change already told everyone
            entries = self._entries
            groups = {g for key in settling if key in entries for g in entries[key].groups}
            self._emit_changes(settling, groups)

    # -- for RosterFilterModel: fast paths without QVariant round trips ------------------

    def _entry(self, index: Index) -> _Entry | None:
        gid = index.internalId()
        if gid == _GROUP_ID or not index.isValid():
            return None
        group = self._by_gid.get(gid)
        if group is None or not 0 <= index.row() < len(group.keys):
            return None
        return self._entries.get(group.keys[index.row()])

    # -- QAbstractItemModel ----------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = _ROOT) -> QModelIndex:
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row < len(self._groups):
                return self.createIndex(row, 0, _GROUP_ID)
            return QModelIndex()
        if parent.internalId() != _GROUP_ID or parent.column() != 0:
            return QModelIndex()
        group = self._groups[parent.row()]
        if row < len(group.keys):
            return self.createIndex(row, 0, group.gid)
        return QModelIndex()

    def parent(self, child: Index) -> QModelIndex:  # type: ignore[override]
        gid = child.internalId()
        if gid == _GROUP_ID or not child.isValid():
            return QModelIndex()
        group = self._by_gid.get(gid)
        return self.createIndex(group.row, 0, _GROUP_ID) if group else QModelIndex()

    def rowCount(self, parent: Index = _ROOT) -> int:
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() != _GROUP_ID or parent.column() != 0:
            return 0
        return len(self._groups[parent.row()].keys)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 1

    def hasChildren(self, parent: Index = _ROOT) -> bool:
        return self.rowCount(parent) > 0

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return _NO_FLAGS
        return _GROUP_FLAGS if index.internalId() == _GROUP_ID else _CONTACT_FLAGS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        gid = index.internalId()
        if gid == _GROUP_ID:
            return self._group_data(self._groups[index.row()], role)
        group = self._by_gid.get(gid)
        if group is None or index.row() >= len(group.keys):
            return None
        return self._contact_data(self._entries[group.keys[index.row()]], group, role)

    def _contact_data(self, entry: _Entry, group: _Group, role: int) -> Any:
        contact = entry.contact
        if role in (Qt.ItemDataRole.DisplayRole, RosterRole.NAME):
            return entry.name
        if role == RosterRole.STATUS:
            return int(entry.status)
        if role == RosterRole.STATUS_MESSAGE:
            return entry.status_message
        if role == RosterRole.UNREAD:
            return entry.unread
        if role == RosterRole.IS_GROUP:
            return False
        if role == RosterRole.JID:
            return contact.jid
        if role == RosterRole.ACCOUNT:
            return contact.account
        if role == RosterRole.GROUP:
            return group.name
        if role == RosterRole.BLOCKED:
            return entry.blocked
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("block") if entry.blocked else status_icon(entry.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            parts = [entry.name, entry.status.label]
            if entry.status_message:
                parts.append(entry.status_message)
            if entry.unread:
                parts.append(_unread_text(entry.unread))
            return ", ".join(parts)
        return None

    def _tooltip(self, entry: _Entry) -> str:
        """Who it is (name, address, the nickname it gives itself when another name shows),
        how it appears (status, message, each resource online and its client), the
        subscription, what waits unread, and the account when there are several."""
        contact = entry.contact
        lines = [entry.name]
        if entry.name != contact.jid:
            lines.append(contact.jid)
        if entry.nickname and entry.nickname != entry.name:
            lines.append(f"Calls themselves: {entry.nickname}")
        status = entry.status.label
        message = "Blocked" if entry.blocked else entry.presence.status  # (ask: below)
        if message:
            status = f"{status}: {message}"
        lines.append(status)
        resources = sorted(
            self._core.roster.resources(contact.account, contact.jid),
            key=lambda p: (-p.priority, p.resource),
        )
        for presence in resources:
            line = f"  {presence.resource or '(no resource)'}: "
            line += Status.from_show(presence.show).label
            client = client_name(presence.caps_node)
            if client:
                line += f", {client}"
            lines.append(line)
        lines.append(f"Subscription: {subscription_text(contact)}")
        if entry.unread:
            lines.append(_unread_text(entry.unread))
        if len(self._ranks) > 1:
            lines.append(f"Account: {contact.account}")
        return "\n".join(lines)

    def _group_data(self, group: _Group, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, RosterRole.NAME, RosterRole.GROUP):
            return group.name
        if role == RosterRole.IS_GROUP:
            return True
        if role == RosterRole.ONLINE_COUNT:
            return group.online
        if role == RosterRole.TOTAL_COUNT:
            return len(group.keys)
        if role == RosterRole.UNREAD:
            entries = self._entries
            return sum(entries[k].unread for k in group.keys)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{group.name}, {group.online} of {len(group.keys)} online"
        return None

    # -- building --------------------------------------------------------------------------

    def _enabled_ranks(self) -> dict[str, int]:
        enabled = [a.jid for a in self._core.accounts.accounts if a.enabled]
        return {jid: rank for rank, jid in enumerate(enabled)}

    def _sort_key(self, key: ContactKey) -> tuple[Any, ...]:
        entry = self._entries[key]
        return entry.status_key if self._mode is SortMode.STATUS else entry.name_key

    def _new_entry(self, contact: Contact, rank: int, unread: int | None = None) -> _Entry:
        key = (contact.account, contact.jid)
        entry = _Entry(
            contact,
            self._core.roster.presence(contact.account, contact.jid),
            self._read_unread(key) if unread is None else unread,
            rank,
            self._is_blocked(key),
            nickname=self._core.roster.nickname(contact.account, contact.jid),
        )
        entry.refresh()
        return entry

    def _account_entries(self, account: str, rank: int) -> list[_Entry]:
        # One unread query per conversation that has history, not one per contact.
        unread = self._unread_for_account(account)
        return [
            self._new_entry(c, rank, unread.get((account, c.jid), 0))
            for c in self._core.roster.contacts(account)
        ]

    def _load(self) -> None:
        """Fill the model from the core (inside a reset)."""
        self._entries.clear()
        self._groups.clear()
        self._by_name.clear()
        self._by_gid.clear()
        self._pending.clear()
        self._dirty.clear()
        self._dirty_groups.clear()
        self._unread_dirty.clear()
        self._unsorted.clear()
        self._settling.clear()
        self._resync.clear()
        by_group: dict[str, list[ContactKey]] = {}
        for account, rank in self._ranks.items():
            for entry in self._account_entries(account, rank):
                key = (account, entry.contact.jid)
                self._entries[key] = entry
                for name in entry.groups:
                    by_group.setdefault(name, []).append(key)
        for name in sorted(by_group, key=lambda n: (n.casefold(), n)):
            group = _Group(self._next_gid, name, len(self._groups))
            self._next_gid += 1
            group.keys = sorted(by_group[name], key=self._sort_key)
            group.renumber()
            group.online = sum(self._entries[k].online for k in group.keys)
            self._groups.append(group)
            self._by_name[name] = group
            self._by_gid[group.gid] = group

    def _unread_for_account(self, account: str) -> dict[ContactKey, int]:
        try:
            counts = {
                (key.account, key.peer): unread
                for key, unread in self._core.store.unread_counts(account).items()
                if key.kind is ConversationKind.CHAT
            }
        except Exception:
            # The list must show even when history cannot be read; counts come back with
            # the next message event.
            log.warning("cannot read unread counts of %s", account, exc_info=True)
            return {}
        return counts

    def _is_blocked(self, key: ContactKey) -> bool:
        blocking = getattr(self._core, "blocking", None)
        return bool(blocking is not None and blocking.is_blocked(*key))

    def _read_unread(self, key: ContactKey) -> int:
        try:
            return self._core.store.unread_count(ConversationKey(key[0], key[1]))
        except Exception:
            log.warning("cannot read the unread count of %s", key, exc_info=True)
            return 0

    # -- coalesced work ----------------------------------------------------------------------

    def _schedule(self) -> None:
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _mark(
        self, key: ContactKey, entry: _Entry, roles: Sequence[int], *, settle: bool = False
    ) -> None:
        """Report the contact's rows changed, and its groups (their counts and, through
        the proxy, their visibility follow their contacts). ``settle``: the change may
        show, hide or move the rows, so it goes in the next held-back batch."""
        if settle:
            self._settling.setdefault(key, set()).update(roles)
            self._start_settling()
        else:
            self._dirty.setdefault(key, set()).update(roles)
            self._dirty_groups.update(entry.groups)
            self._schedule()

    def _mark_unsorted(self, names: Iterable[str]) -> None:
        self._unsorted.update(names)
        self._start_settling()

    def _start_settling(self) -> None:
        if not self._settle_timer.isActive():
            self._settle_timer.start()

    def _flush_inserts(self) -> None:
        if not self._pending:
            return
        roster = self._core.roster
        contacts = []
        for key in self._pending:
            contact = roster.contact(*key)
            if key[0] in self._ranks and contact is not None and key not in self._entries:
                contacts.append(contact)
        if len(contacts) > INSERT_CHUNK:
            contacts = self._whole_groups(contacts)
            for contact in contacts:
                del self._pending[(contact.account, contact.jid)]
            self._schedule()  # the rest in the next iteration
        else:  # all of it; keys left out were removed meanwhile or have no account now
            self._pending.clear()
        # One unread query per conversation with history, not one per new contact (a
        # first sign-in adds the whole roster).
        unread: dict[ContactKey, int] = {}
        for account in {c.account for c in contacts}:
            unread.update(self._unread_for_account(account))
        entries = [
            self._new_entry(c, self._ranks[c.account], unread.get((c.account, c.jid), 0))
            for c in contacts
        ]
        self._insert(entries)

    @staticmethod
    def _whole_groups(contacts: list[Contact]) -> list[Contact]:
        """About :data:`INSERT_CHUNK` of ``contacts``, whole groups at a time: a group
        filled over two iterations would take the second part row by row."""
        by_group: dict[str, list[Contact]] = {}
        for contact in contacts:
            by_group.setdefault(contact.groups[0] if contact.groups else DEFAULT_GROUP, []).append(
                contact
            )
        chosen: list[Contact] = []
        for members in by_group.values():
            if chosen and len(chosen) + len(members) > INSERT_CHUNK:
                break
            chosen += members
        return chosen

    def _flush_unread(self) -> None:
        if not self._unread_dirty:
            return
        keys, self._unread_dirty = self._unread_dirty, set()
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                continue
            unread = self._read_unread(key)
            if unread != entry.unread:
                # From none to some or back may show an offline contact, or hide it.
                shows = self.presence_hides_rows and bool(unread) != bool(entry.unread)
                entry.unread = unread
                self._mark(key, entry, _UNREAD_ROLES, settle=shows)

    def _emit_changes(self, dirty: dict[ContactKey, set[int]], groups: set[str]) -> None:
        by_group: dict[str, tuple[list[int], set[int]]] = {}
        for key, roles in dirty.items():
            entry = self._entries.get(key)
            if entry is None:
                continue
            for name in entry.groups:
                rows, role_set = by_group.setdefault(name, ([], set()))
                rows.append(self._by_name[name].pos[key])
                role_set |= roles
        # Contacts first, then their groups: the proxy decides a group's visibility from
        # its contacts, and must see them current.
        for name, (rows, role_set) in by_group.items():
            gid = self._by_name[name].gid
            role_list = [int(r) for r in role_set]
            for first, last in _runs(rows, _RUN_GAP):
                self.dataChanged.emit(
                    self.createIndex(first, 0, gid), self.createIndex(last, 0, gid), role_list
                )
        # One signal per group row, never a range: QTreeView walks every visible row
        # between the two ends of a range, and between two groups lie their contacts.
        for name in groups:
            group = self._by_name.get(name)
            if group is not None:
                index = self.createIndex(group.row, 0, _GROUP_ID)
                self.dataChanged.emit(index, index, _GROUP_ROLES)

    def _reorder(self, names: Iterable[str], *, everything: bool = False) -> None:
        """Re-sort the contacts of the groups ``names``: one layout change for all of
        them, or (``everything``) one for the whole model even if no row moves."""
        changed: list[tuple[_Group, list[ContactKey]]] = []
        for name in names:
            group = self._by_name.get(name)
            if group is None:
                continue
            ordered = sorted(group.keys, key=self._sort_key)
            if ordered != group.keys:
                changed.append((group, ordered))
        if not changed and not everything:
            return
        parents = [
            QPersistentModelIndex(self.createIndex(g.row, 0, _GROUP_ID))
            for g, _ in ([] if everything else changed)
        ]
        hint = QAbstractItemModel.LayoutChangeHint.VerticalSortHint
        self.layoutAboutToBeChanged[_LAYOUT_SIGNATURE].emit(parents, hint)  # type: ignore[index]
        moved = {g.gid for g, _ in changed}
        old_indexes = [p for p in self.persistentIndexList() if p.internalId() in moved]
        old_keys = [self._by_gid[p.internalId()].keys[p.row()] for p in old_indexes]
        for group, ordered in changed:
            group.keys = ordered
            group.renumber()
        new_indexes = [
            self.createIndex(self._by_gid[p.internalId()].pos[k], 0, p.internalId())
            for p, k in zip(old_indexes, old_keys, strict=True)
        ]
        self.changePersistentIndexList(old_indexes, new_indexes)
        self.layoutChanged[_LAYOUT_SIGNATURE].emit(parents, hint)  # type: ignore[index]

    # -- structural changes ----------------------------------------------------------------

    def _insert(self, entries: Sequence[_Entry]) -> None:
        """Add new contacts at their place in order: one insert per run of new rows."""
        if not entries:
            return
        per_group: dict[str, list[ContactKey]] = {}
        for entry in entries:
            key = (entry.contact.account, entry.contact.jid)
            self._entries[key] = entry
            for name in entry.groups:
                per_group.setdefault(name, []).append(key)
        for name, keys in per_group.items():
            group = self._group_for_insert(name)
            parent = self.createIndex(group.row, 0, _GROUP_ID)
            sort_key = self._sort_key
            existing = [sort_key(k) for k in group.keys]
            # Runs of new rows that land at the same place, applied bottom-up so that the
            # places computed on the old list stay right.
            runs: dict[int, list[ContactKey]] = {}
            for key in sorted(keys, key=sort_key):
                runs.setdefault(bisect.bisect_right(existing, sort_key(key)), []).append(key)
            for at in sorted(runs, reverse=True):
                run = runs[at]
                self.beginInsertRows(parent, at, at + len(run) - 1)
                group.keys[at:at] = run
                group.online += sum(self._entries[k].online for k in run)
                group.renumber(at)
                self.endInsertRows()
            self._dirty_groups.add(name)
        self._schedule()

    def _group_for_insert(self, name: str) -> _Group:
        group = self._by_name.get(name)
        if group is not None:
            return group
        group = _Group(self._next_gid, name, 0)
        self._next_gid += 1
        at = bisect.bisect_right([g.sort_key for g in self._groups], group.sort_key)
        group.row = at
        self.beginInsertRows(QModelIndex(), at, at)
        self._groups.insert(at, group)
        for later in self._groups[at + 1 :]:
            later.row += 1
        self._by_name[name] = group
        self._by_gid[group.gid] = group
        self.endInsertRows()
        return group

    def _remove(self, keys: set[ContactKey]) -> None:
        """Remove contacts: one removal per run of neighbouring rows, then empty groups."""
        for key in keys:
            self._pending.pop(key, None)
        keys = {k for k in keys if k in self._entries}
        if not keys:
            return
        touched: set[str] = set()
        for key in keys:
            touched.update(self._entries[key].groups)
        for name in touched:
            group = self._by_name[name]
            rows = [group.pos[k] for k in keys if k in group.pos]
            parent = self.createIndex(group.row, 0, _GROUP_ID)
            for first, last in reversed(_runs(rows)):
                self.beginRemoveRows(parent, first, last)
                for key in group.keys[first : last + 1]:
                    del group.pos[key]
                    group.online -= self._entries[key].online
                del group.keys[first : last + 1]
                self.endRemoveRows()
            group.renumber(min(rows))
        for key in keys:
            del self._entries[key]
            self._dirty.pop(key, None)
            self._settling.pop(key, None)
            self._unread_dirty.discard(key)
        self._drop_empty_groups(touched)

    def _drop_empty_groups(self, names: Iterable[str]) -> None:
        for name in names:
            group = self._by_name.get(name)
            if group is None:
                continue
            if group.keys:
                self._dirty_groups.add(name)
                self._schedule()
                continue
            row = group.row
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._groups[row]
            for later in self._groups[row:]:
                later.row -= 1
            del self._by_name[name]
            del self._by_gid[group.gid]
            self._dirty_groups.discard(name)
            self._unsorted.discard(name)
            self.endRemoveRows()

    def _update(self, entry: _Entry, contact: Contact) -> None:
        """A known contact changed: repaint, re-sort, or move it between groups."""
        key = (contact.account, contact.jid)
        old_groups, old_sort = entry.groups, self._sort_key(key)
        entry.contact = contact
        entry.refresh()
        new_groups = entry.groups
        if set(old_groups) != set(new_groups):
            leaving = [g for g in old_groups if g not in new_groups]
            entering = [g for g in new_groups if g not in old_groups]
            if len(leaving) == 1 and len(entering) == 1:
                self._move(key, entry, leaving[0], entering[0])
            else:
                self._move_many(key, entry, leaving, entering)
        if self._sort_key(key) != old_sort:  # renamed: its place may have changed
            self._mark_unsorted(new_groups)
        self._mark(key, entry, _CONTACT_ROLES)

    def _insert_at(self, group: _Group, key: ContactKey) -> int:
        sort_key = self._sort_key
        return bisect.bisect_right(group.keys, sort_key(key), key=sort_key)

    def _move(self, key: ContactKey, entry: _Entry, source: str, target: str) -> None:
        """One row from group ``source`` to group ``target`` (a move keeps the selection)."""
        dest = self._group_for_insert(target)
        src = self._by_name[source]
        row = src.pos[key]
        at = self._insert_at(dest, key)
        src_parent = self.createIndex(src.row, 0, _GROUP_ID)
        dest_parent = self.createIndex(dest.row, 0, _GROUP_ID)
        if not self.beginMoveRows(src_parent, row, row, dest_parent, at):
            return  # cannot happen between two different groups; be safe anyway
        del src.keys[row]
        del src.pos[key]
        src.renumber(row)
        src.online -= entry.online
        dest.keys.insert(at, key)
        dest.renumber(at)
        dest.online += entry.online
        self.endMoveRows()
        self._drop_empty_groups((source, target))

    def _move_many(
        self, key: ContactKey, entry: _Entry, leaving: Sequence[str], entering: Sequence[str]
    ) -> None:
        for name in entering:
            group = self._group_for_insert(name)
            at = self._insert_at(group, key)
            self.beginInsertRows(self.createIndex(group.row, 0, _GROUP_ID), at, at)
            group.keys.insert(at, key)
            group.renumber(at)
            group.online += entry.online
            self.endInsertRows()
        for name in leaving:
            group = self._by_name[name]
            row = group.pos[key]
            self.beginRemoveRows(self.createIndex(group.row, 0, _GROUP_ID), row, row)
            del group.keys[row]
            del group.pos[key]
            group.renumber(row)
            group.online -= entry.online
            self.endRemoveRows()
        self._drop_empty_groups((*leaving, *entering))

    def _reset(self) -> None:
        self._flush_timer.stop()
        self._settle_timer.stop()
        self._settling.clear()
        self.beginResetModel()
        self._load()
        self.endResetModel()

    # -- events ------------------------------------------------------------------------------

    def _on_roster_event(self, event: RosterEvent) -> None:
        match event:
            case ContactPresenceChanged():
                self._on_presence(event)
            case ContactUpdated():
                self._on_contact_updated(event)
            case ContactNicknameChanged():
                self._on_nickname(event)
            case ContactRemoved():
                self._on_contact_removed(event)
            case RosterReceived():
                self._on_roster_received(event)
            case _:  # a group made or renamed: rows follow their contacts' ContactUpdated
                pass

    def _on_message_event(self, event: MessageEvent) -> None:
        if isinstance(event, MessageAdded | MessageStateChanged | MessageRemoved):
            self._on_message(event)  # (edits and reactions change no count)

    def _on_conversation_event(self, event: ConversationChange) -> None:
        # Unread counts are the contact's messages after our read position: it moved (we
        # read here, or on another device: our displayed marker came as a carbon).
        key = event.key
        if (
            isinstance(event, ReadPositionChanged)
            and event.participant == key.account
            and key.kind is ConversationKind.CHAT
        ):
            self._recount((key.account, key.peer))

    def _on_presence(self, event: ContactPresenceChanged) -> None:
        key = (event.account, event.jid)
        entry = self._entries.get(key)
        if entry is None:
            return  # unknown, or a pending new contact: it is read fresh when added
        was_online, old_sort = entry.online, entry.status_key
        entry.presence = event.presence
        entry.refresh()
        settle = False
        if entry.online != was_online:
            delta = 1 if entry.online else -1
            for name in entry.groups:
                self._by_name[name].online += delta
            settle = self.presence_hides_rows
        if self._mode is SortMode.STATUS and entry.status_key != old_sort:
            self._mark_unsorted(entry.groups)
            settle = True
        self._mark(key, entry, _PRESENCE_ROLES, settle=settle)

    def _on_contact_updated(self, event: ContactUpdated) -> None:
        contact = event.contact
        if contact.account not in self._ranks:
            return
        key = (contact.account, contact.jid)
        entry = self._entries.get(key)
        if entry is None:
            # Coalesced: a whole roster arriving is one insert per group, not thousands.
            self._pending[key] = None
            self._schedule()
        elif entry.contact != contact:
            self._update(entry, contact)

    def _on_nickname(self, event: ContactNicknameChanged) -> None:
        entry = self._entries.get((event.account, event.jid))
        if entry is None or entry.nickname == event.nickname:
            return  # (a contact added later reads it when its entry is made)
        entry.nickname = event.nickname
        self._update(entry, entry.contact)

    def _on_block_changed(self, event: BlockChanged) -> None:
        key = (event.account, event.jid)
        entry = self._entries.get(key)
        if entry is not None and entry.blocked != event.blocked:
            entry.blocked = event.blocked
            self._mark(key, entry, _BLOCK_ROLES)

    def _on_contact_removed(self, event: ContactRemoved) -> None:
        self._remove({(event.account, event.jid)})

    def _on_message(self, event: MessageAdded | MessageStateChanged | MessageRemoved) -> None:
        message = event.message
        # Only incoming chat messages count as unread (a removed one no longer does); an
        # outgoing one moving from sent to delivered changes nothing here.
        if message.kind is not ConversationKind.CHAT or message.direction is Direction.OUTGOING:
            return
        self._recount((message.account, message.peer))

    def _recount(self, key: ContactKey) -> None:
        """Read the contact's unread count again (once per event-loop iteration)."""
        if key in self._entries:
            self._unread_dirty.add(key)
            self._schedule()

    def _on_roster_received(self, event: RosterReceived) -> None:
        # Next iteration, with the contacts it brought: the stanza's own handling and the
        # list's work do not add up to one long block.
        self._resync.add(event.account)
        self._schedule()

    def resync(self, account: str) -> None:
        """Bring one account's rows in line with the roster service: usually nothing to do,
        since ContactUpdated/ContactRemoved came first; a reset only for big differences."""
        rank = self._ranks.get(account)
        if rank is None:
            return
        self._flush_inserts()
        roster = self._core.roster
        fresh = {c.jid: c for c in roster.contacts(account)}
        known = {jid for (acc, jid) in self._entries if acc == account}
        gone = known - fresh.keys()
        new = [c for jid, c in fresh.items() if jid not in known]
        changed = [
            c
            for jid, c in fresh.items()
            if jid in known and self._entries[(account, jid)].contact != c
        ]
        if len(gone) + len(new) + len(changed) > RESET_THRESHOLD:
            self._reset()
            return
        self._remove({(account, jid) for jid in gone})
        self._insert([self._new_entry(c, rank) for c in new])
        for contact in changed:
            self._update(self._entries[(account, contact.jid)], contact)
        for jid in known - gone:
            entry = self._entries[(account, jid)]
            presence = roster.presence(account, jid)
            if presence != entry.presence:
                self._on_presence(ContactPresenceChanged(account, jid, presence, entry.presence))

    def _on_accounts_changed(self, event: AccountEvent) -> None:
        ranks = self._enabled_ranks()
        if ranks == self._ranks:
            return
        old, self._ranks = self._ranks, ranks
        gone = old.keys() - ranks.keys()
        if gone:
            self._remove({k for k in self._entries if k[0] in gone})
        reordered = False
        for key, entry in self._entries.items():
            rank = ranks[key[0]]
            if entry.rank != rank:  # the account order changed: it is the last tie-breaker
                entry.rank = rank
                entry.refresh()
                reordered = True
        if reordered:
            self._mark_unsorted(self._by_name)
        for account in ranks.keys() - old.keys():
            self._insert(self._account_entries(account, ranks[account]))


def _unread_text(count: int) -> str:
    return "1 unread message" if count == 1 else f"{count} unread messages"


class RosterFilterModel(TextFilterProxy):
    """What the contact list shows of a :class:`RosterModel`.

    Offline contacts hidden or shown (an offline contact with unread messages stays
    visible), sorted by name or by status (most available first), and narrowed by a
    filter text matched case-insensitively against the name and the address. A group is
    listed while any of its contacts is (recursive filtering, decided here in one pass
    over the group's cached entries instead of Qt's per-child recursion).

    The order itself is kept by the source model (see the module docstring): this proxy
    never sorts, so Qt never calls back per comparison."""

    def __init__(self, source: RosterModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._src = source
        # The source's containers, mutated in place by it (never rebound): the filter
        # runs once per row per keystroke, so it reads them without a method call.
        self._groups = source._groups
        self._entries = source._entries
        self._hide_offline = False
        self._root_id: int | None = None
        # internalId of our top-level indexes is Qt's pointer to the root mapping; it can
        # only change when the mappings are rebuilt, which these signals announce.
        for signal in (
            self.layoutAboutToBeChanged,
            self.layoutChanged,
            self.modelAboutToBeReset,
            self.modelReset,
        ):
            signal.connect(self._forget_root)
        self.setDynamicSortFilter(True)  # re-filter rows when their data changes
        self.setSourceModel(source)
        # Connected after setSourceModel, so it runs after Qt's own handler has dropped
        # every mapping: rebuild them now, in this loop iteration, and leave the view's
        # relayout (the next iteration) with only its own work. Same total, but neither
        # half blocks the loop as long as both together.
        source.layoutChanged.connect(self._rebuild_mappings)

    # -- public API ------------------------------------------------------------------------

    @property
    def show_offline(self) -> bool:
        return not self._hide_offline

    def set_show_offline(self, show: bool) -> None:
        if show == self._hide_offline:
            self._src.flush()  # rows held back under the old setting go out first
            self._src.presence_hides_rows = not show
            self.beginFilterChange()
            self._hide_offline = not show
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def sort_mode(self) -> SortMode:
        return self._src.sort_mode

    def set_sort_mode(self, mode: SortMode) -> None:
        self._src.set_sort_mode(mode)

    @property
    def filtering(self) -> bool:
        """True when some contacts may be hidden (filter text, or offline hidden)."""
        return bool(self._needle) or self._hide_offline

    # -- QSortFilterProxyModel -------------------------------------------------------------

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        needle, hide_offline = self._needle, self._hide_offline
        group_row = source_parent.row()  # -1 for the root: source_row is a group
        if group_row >= 0:
            entry = self._entries[self._groups[group_row].keys[source_row]]
            if hide_offline and not entry.online and not entry.unread:
                return False
            return not needle or needle in entry.haystack
        if not needle and not hide_offline:
            return True
        entries = self._entries
        for key in self._groups[source_row].keys:
            entry = entries[key]
            if (not hide_offline or entry.online or entry.unread) and (
                not needle or needle in entry.haystack
            ):
                return True
        return False

    def flags(self, index: Index) -> Qt.ItemFlag:
        # QTreeView asks twice per row at every relayout, and the base class would first
        # map to the source: a second call into Python. Our indexes carry Qt's pointer to
        # their parent's mapping as internalId (0 only for an invalid index), and every
        # top-level index shares the root mapping's: one comparison tells a group.
        iid = index.internalId()
        root = self._root_id
        if root is None:
            first = self.index(0, 0)
            root = first.internalId()
            if first.isValid():
                self._root_id = root
        if iid == root and iid:
            return _GROUP_FLAGS
        return _CONTACT_FLAGS if iid else _NO_FLAGS

    def _forget_root(self) -> None:
        self._root_id = None

    def _rebuild_mappings(self) -> None:
        for row in range(self.rowCount()):
            self.rowCount(self.index(row, 0))
