"""Roster and presence (RFC 6121): contacts, groups, subscriptions in both directions,
and each contact's presence over all its resources.

The roster is cached in storage so the contact list shows before sign-in; presence is
live only and goes to offline when the connection drops."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from chinwag.core import jid as jids
from chinwag.core.errors import (
    BadGroupName,
    ContactNotFound,
    GroupExists,
    NoSuchGroup,
    NotConnected,
    NotGroupMember,
)
from chinwag.core.events import (
    ContactNicknameChanged,
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    EventBus,
    GroupCreated,
    GroupRenamed,
    RosterReceived,
    SubscriptionAnswered,
    SubscriptionRequestCleared,
    SubscriptionRequested,
)
from chinwag.core.models import SHOW_RANK, Contact, Presence, Subscription
from chinwag.core.ports import MessageStore, XmppConnection
from chinwag.core.tasks import BackgroundTasks

log = logging.getLogger(__name__)
OFFLINE = Presence()


#: The longest group name accepted (a name is stored in every member's roster item).
MAX_GROUP_NAME = 1023


def contact_name(name: str, nickname: str, jid: str) -> str:
    """The one rule of what names a contact wherever it is shown or told (the contact
    list, dialogs, notifications, the automation API): the name the user gave it, else
    the nickname it publishes (XEP-0172), else its address."""
    return name or nickname or jid


def check_group_name(name: str) -> str:
    """``name`` without surrounding blanks; :class:`BadGroupName` if it cannot be one."""
    name = name.strip()
    if not name:
        raise BadGroupName("a group name cannot be empty")
    if len(name) > MAX_GROUP_NAME:
        raise BadGroupName(f"a group name is at most {MAX_GROUP_NAME} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\ufffe\uffff" for ch in name):
        raise BadGroupName("a group name cannot contain control characters")
    return name


def aggregate(resources: Iterable[Presence]) -> Presence:
    """The presence that represents a contact: its highest-priority available resource,
    the most available one on a tie (RFC 6121 section 8.5.2 leaves this to clients)."""
    best: Presence | None = None
    for p in resources:
        if not p.available:
            continue
        if best is None or (p.priority, SHOW_RANK[p.show]) > (best.priority, SHOW_RANK[best.show]):
            best = p
    return best or OFFLINE


class RosterService:
    """Contacts and presence of every account."""

    def __init__(
        self,
        store: MessageStore,
        bus: EventBus,
        connection: Callable[[str], XmppConnection | None],
    ) -> None:
        self._store = store
        self._bus = bus
        self._connection = connection
        self._contacts: dict[str, dict[str, Contact]] = {}
        self._versions: dict[str, str] = {}
        self._resources: dict[str, dict[str, dict[str, Presence]]] = {}
        self._presence: dict[str, dict[str, Presence]] = {}
        #: account -> contact -> the nickname it publishes (XEP-0172), as last pushed.
        self._nicknames: dict[str, dict[str, str]] = {}
        self._requests: dict[str, dict[str, str]] = {}
        #: Groups made empty (CreateGroup) that no contact is in yet, per account.
        self._made_groups: dict[str, set[str]] = {}
        self._tasks = BackgroundTasks("roster write")

    # -- reading ------------------------------------------------------------------------

    def load_cached(self, account: str) -> None:
        """Show the roster saved last time, before the server sends a fresh one."""
        contacts, version = self._store.load_roster(account)
        self._contacts[account] = {c.jid: c for c in contacts}
        self._versions[account] = version

    def contacts(self, account: str) -> list[Contact]:
        return list(self._contacts.get(account, {}).values())

    def contact(self, account: str, jid: str) -> Contact | None:
        return self._contacts.get(account, {}).get(jid)

    def groups(self, account: str) -> list[str]:
        """The account's roster groups, including empty ones made with
        :meth:`create_group` during this run."""
        used = {g for c in self.contacts(account) for g in c.groups}
        return sorted(used | self._made_groups.get(account, set()))

    def members(self, account: str, group: str) -> list[Contact]:
        return [c for c in self.contacts(account) if group in c.groups]

    def version(self, account: str) -> str:
        return self._versions.get(account, "")

    def presence(self, account: str, jid: str) -> Presence:
        return self._presence.get(account, {}).get(jid, OFFLINE)

    def resources(self, account: str, jid: str) -> list[Presence]:
        return list(self._resources.get(account, {}).get(jid, {}).values())

    def nickname(self, account: str, jid: str) -> str:
        """The nickname ``jid`` publishes for themselves (XEP-0172), "" when none known."""
        return self._nicknames.get(account, {}).get(jid, "")

    def display_name(self, account: str, jid: str) -> str:
        """What names a contact: the name the user gave it, else the nickname it
        publishes, else its address."""
        contact = self.contact(account, jid)
        return contact_name(contact.name if contact else "", self.nickname(account, jid), jid)

    def pending_requests(self, account: str) -> dict[str, str]:
        """Addresses asking to see our presence, with the nickname they gave."""
        return dict(self._requests.get(account, {}))

    # -- changing (needs a connection) --------------------------------------------------

    def _conn(self, account: str) -> XmppConnection:
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
        return conn

    async def add_contact(
        self, account: str, jid: str, name: str = "", groups: Sequence[str] = ()
    ) -> None:
        """Add to the roster and ask to see the contact's presence."""
        jid = jids.bare(jid)
        conn = self._conn(account)
        await conn.roster_set(jid, name, list(groups))
        conn.send_subscription(jid, "subscribe")

    async def remove_contact(self, account: str, jid: str) -> None:
        await self._conn(account).roster_remove(jids.bare(jid))

    async def update_contact(
        self,
        account: str,
        jid: str,
        *,
        name: str | None = None,
        groups: Sequence[str] | None = None,
    ) -> None:
        """Rename or move between groups."""
        jid = jids.bare(jid)
        current = self.contact(account, jid) or Contact(account, jid)
        await self._conn(account).roster_set(
            jid,
            current.name if name is None else name,
            list(current.groups if groups is None else groups),
        )

    # -- groups (a group exists in XMPP only through its members) ----------------------

    def create_group(self, account: str, name: str) -> str:
        """Make an empty group; it stays for this run, and on the server once a contact
        is put in it. Returns the name as stored (surrounding blanks removed)."""
        name = check_group_name(name)
        if name in self.groups(account):
            raise GroupExists(f"there is already a group named {name!r}")
        self._made_groups.setdefault(account, set()).add(name)
        self._bus.publish(GroupCreated(account, name))
        return name

    async def rename_group(self, account: str, old: str, new: str) -> None:
        """Move every member of ``old`` to ``new`` on the server."""
        new = check_group_name(new)
        if old not in self.groups(account):
            raise NoSuchGroup(f"there is no group named {old!r}")
        if new == old:
            return
        if new in self.groups(account):
            raise GroupExists(f"there is already a group named {new!r}")
        members = self.members(account, old)
        if members:
            self._conn(account)  # NotConnected before anything changes
        made = self._made_groups.setdefault(account, set())
        made.discard(old)
        made.add(new)  # keeps the group while its members move, and if it has none
        self._bus.publish(GroupRenamed(account, old, new))
        for contact in members:
            groups = tuple(new if g == old else g for g in contact.groups)
            await self.update_contact(account, contact.jid, groups=groups)

    async def add_to_group(self, account: str, jid: str, group: str) -> bool:
        """Put a contact of the list in ``group`` (False: it already was)."""
        group = check_group_name(group)
        contact = self._listed(account, jid)
        if group in contact.groups:
            return False
        await self.update_contact(account, contact.jid, groups=(*contact.groups, group))
        return True

    async def remove_from_group(self, account: str, jid: str, group: str) -> None:
        contact = self._listed(account, jid)
        if group not in self.groups(account):
            raise NoSuchGroup(f"there is no group named {group!r}")
        if group not in contact.groups:
            raise NotGroupMember(f"{contact.jid} is not in the group {group!r}")
        # A group emptied on purpose stays until the end of the run, as one just made.
        if len(self.members(account, group)) == 1:
            self._made_groups.setdefault(account, set()).add(group)
        groups = tuple(g for g in contact.groups if g != group)
        await self.update_contact(account, contact.jid, groups=groups)

    def _listed(self, account: str, jid: str) -> Contact:
        contact = self.contact(account, jids.bare(jid))
        if contact is None:
            raise ContactNotFound(f"{jid} is not in the contact list")
        return contact

    async def subscribe(self, account: str, jid: str) -> None:
        """Ask to see the contact's presence (RFC 6121 3.1), adding it to the roster
        first if it is not there; pending until the contact approves."""
        jid = jids.bare(jid)
        conn = self._conn(account)
        if self.contact(account, jid) is None:
            await conn.roster_set(jid, "", [])
        conn.send_subscription(jid, "subscribe")

    def unsubscribe(self, account: str, jid: str) -> None:
        """Stop seeing the contact's presence, or withdraw our pending request (RFC 6121
        3.3); the contact stays in the roster."""
        self._conn(account).send_subscription(jids.bare(jid), "unsubscribe")

    def approve(self, account: str, jid: str) -> None:
        """Accept a subscription request, and ask back if we do not see them yet."""
        jid = jids.bare(jid)
        conn = self._conn(account)
        conn.send_subscription(jid, "subscribed")
        self._clear_request(account, jid)
        contact = self.contact(account, jid)
        sees_them = contact is not None and (
            contact.ask or contact.subscription in (Subscription.TO, Subscription.BOTH)
        )
        if not sees_them:
            conn.send_subscription(jid, "subscribe")

    def deny(self, account: str, jid: str) -> None:
        jid = jids.bare(jid)
        self._conn(account).send_subscription(jid, "unsubscribed")
        self._clear_request(account, jid)

    # -- what the connection reports ----------------------------------------------------

    def on_roster(
        self, account: str, contacts: Sequence[Contact] | None, version: str, full: bool
    ) -> None:
        current = self._contacts.setdefault(account, {})
        if contacts is None:  # the cached roster is current
            self._bus.publish(RosterReceived(account))
            return
        if full:
            fresh = {c.jid: c for c in contacts}
            for gone in set(current) - set(fresh):
                del current[gone]
                self._bus.publish(ContactRemoved(account, gone))
            for contact in contacts:
                previous = current.get(contact.jid)
                current[contact.jid] = contact
                if previous != contact:
                    self._bus.publish(ContactUpdated(contact, previous))
            self._versions[account] = version
            self._tasks.spawn(self._store.save_roster(account, contacts, version))
            self._bus.publish(RosterReceived(account))
            return
        for contact in contacts:
            if contact.subscription is Subscription.REMOVE:
                if current.pop(contact.jid, None) is not None:
                    self._bus.publish(ContactRemoved(account, contact.jid))
                self._tasks.spawn(self._store.remove_contact(account, contact.jid))
            else:
                previous = current.get(contact.jid)
                current[contact.jid] = contact
                self._bus.publish(ContactUpdated(contact, previous))
                self._tasks.spawn(self._store.upsert_contact(contact))
        if version:
            self._versions[account] = version

    def on_presence(self, account: str, jid: str, presence: Presence) -> None:
        resources = self._resources.setdefault(account, {}).setdefault(jid, {})
        if presence.available:
            resources[presence.resource] = presence
        else:
            resources.pop(presence.resource, None)
            if not presence.resource:
                resources.clear()
        self._update_aggregate(account, jid, presence if not resources else None)

    def _update_aggregate(self, account: str, jid: str, offline: Presence | None) -> None:
        resources = self._resources.get(account, {}).get(jid, {})
        now = aggregate(resources.values()) if resources else (offline or OFFLINE)
        if not now.available:
            # keep the last status message of an unavailable presence, as clients show it
            now = replace(OFFLINE, status=(offline.status if offline else ""))
        table = self._presence.setdefault(account, {})
        previous = table.get(jid, OFFLINE)
        if now == previous:
            return
        table[jid] = now
        self._bus.publish(ContactPresenceChanged(account, jid, now, previous))

    def on_offline(self, account: str) -> None:
        """Our connection dropped: nobody is known to be online any more."""
        for jid in list(self._resources.get(account, {})):
            self._resources[account][jid].clear()
            self._update_aggregate(account, jid, None)

    def on_nickname(self, account: str, jid: str, nickname: str) -> None:
        """``jid`` published (or took away: "") its nickname."""
        nickname = nickname.strip()
        known = self._nicknames.setdefault(account, {})
        if known.get(jid, "") == nickname:
            return
        if nickname:
            known[jid] = nickname
        else:
            known.pop(jid, None)
        self._bus.publish(ContactNicknameChanged(account, jid, nickname))

    def on_subscription(self, account: str, jid: str, kind: str, nick: str) -> None:
        if kind == "subscribe":
            self._requests.setdefault(account, {})[jid] = nick
            self._bus.publish(SubscriptionRequested(account, jid, nick))
        elif kind in ("subscribed", "unsubscribed"):
            self._bus.publish(SubscriptionAnswered(account, jid, kind == "subscribed"))
        elif kind == "unsubscribe":
            self._clear_request(account, jid)

    def _clear_request(self, account: str, jid: str) -> None:
        if self._requests.get(account, {}).pop(jid, None) is not None:
            self._bus.publish(SubscriptionRequestCleared(account, jid))

    async def drain(self) -> None:
        await self._tasks.drain()
