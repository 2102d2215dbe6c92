"""Users as the Conversations API sees them (conversations-api.md section 1): IM ids,
user data in PEP, the online flag, presence subscriptions and the notification choice.

* IM ids: a stable local integer per bare address, given by storage once and never to
  another address of the profile.
* User data: ``custom_data`` in the PEP node :data:`CUSTOM_DATA` (XEP-0163, readable by
  the account's presence subscribers), ``private_custom_data`` and the notification
  choice in private PEP storage (XEP-0223). Each is a JSON object's text, at most
  :data:`MAX_CUSTOM_DATA` bytes; "{}" is none (its node is deleted). The account's own
  are read at each new sign-in and kept here; the changes made by its other clients and
  by contacts arrive as pushes. :class:`UserEdited` is published once per change.
* Online: available, or extended away (never unavailable: that would leave every room).
* Subscriptions: RFC 6121 through the roster service; :class:`SubscriptionsChanged` when
  a contact approves (or one ends), not when we ask."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, NotConnected, UserDataInvalid
from chinwag.core.events import (
    ConnectionStateChanged,
    ContactRemoved,
    ContactUpdated,
    Event,
    EventBus,
    MessageAdded,
    MessageEdited,
    NotificationsChanged,
    OnlineSet,
    SubscriptionsChanged,
    UserEdited,
)
from chinwag.core.models import (
    ConnectionState,
    Contact,
    Direction,
    Message,
    Origin,
    Subscription,
)
from chinwag.core.ports import MessageStore, XmppConnection
from chinwag.core.status import Status
from chinwag.core.tasks import BackgroundTasks

if TYPE_CHECKING:
    from chinwag.core.roster import RosterService
    from chinwag.core.session import AccountSession

log = logging.getLogger(__name__)

#: The PEP nodes (XEP-0163) of the user data; their items are XEP-0335 JSON containers.
CUSTOM_DATA = "urn:xmpp:chinwag:custom-data:0"
PRIVATE_CUSTOM_DATA = "urn:xmpp:chinwag:private-custom-data:0"
NOTIFICATIONS = "urn:xmpp:chinwag:notifications:0"
#: XEP-0172 User Nickname (read only).
NICK = "http://jabber.org/protocol/nick"
#: Custom data is at most 5 kB: 5,000 bytes of UTF-8.
MAX_CUSTOM_DATA = 5000
EMPTY = "{}"
#: The events ``ManageNotifications`` may choose, and the choice of a new account (the
#: desktop notifications Chinwag raised before: new messages).
NOTIFICATION_EVENTS = ("SendMessage", "EditMessage")
DEFAULT_NOTIFICATIONS = ("SendMessage",)
_SEES = (Subscription.TO, Subscription.BOTH)


def check_custom_data(text: str, what: str = "custom data") -> str:
    """``text`` as kept: a JSON object in compact form ("{}" for an empty one); raises
    :class:`UserDataInvalid` when it is no JSON object or too long."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UserDataInvalid(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UserDataInvalid(f"{what} is a JSON object, not {type(value).__name__}")
    if not value:
        return EMPTY
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(compact.encode()) > MAX_CUSTOM_DATA:
        raise UserDataInvalid(f"{what} is at most {MAX_CUSTOM_DATA} bytes")
    return compact


def _stored(text: str | None) -> str:
    """What a node's item holds, as :func:`check_custom_data` keeps it ("{}" when it is
    none, or unreadable: another client's mistake must not break ours)."""
    if text is None:
        return EMPTY
    try:
        return check_custom_data(text)
    except UserDataInvalid as exc:
        log.info("user data left out: %s", exc.message)
        return EMPTY


def _notifications(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_NOTIFICATIONS
    try:
        value = json.loads(text)
        events = value["events"]
    except (ValueError, TypeError, KeyError):
        log.info("notification choice unreadable: the default is used")
        return DEFAULT_NOTIFICATIONS
    if not isinstance(events, list):
        return DEFAULT_NOTIFICATIONS
    return tuple(e for e in NOTIFICATION_EVENTS if e in events)


@dataclass(frozen=True, slots=True)
class Notice:
    """What a desktop notification tells: ``message`` (as it is now) arrived, or was
    corrected by its author (``edited``: its text is the newest)."""

    message: Message
    edited: bool = False


def notice_for(event: Event, chosen: Callable[[str], Collection[str]]) -> Notice | None:
    """The notification ``event`` asks for, given each account's chosen events
    (``chosen(account)``, as :meth:`UserService.notifications` gives them), or None.

    A new incoming message, as it arrives (not the archive's), notifies when
    "SendMessage" is chosen; a live correction of an incoming message when "EditMessage"
    is. Whether its window is in front, or a room's message names us, is the caller's."""
    if isinstance(event, MessageAdded):
        message, edited, event_name = event.message, False, "SendMessage"
        if message.origin is Origin.ARCHIVE:
            return None
    elif isinstance(event, MessageEdited):
        message, edited, event_name = event.message, True, "EditMessage"
        if not event.live or message.removed:
            return None
    else:
        return None
    if message.direction is not Direction.INCOMING:
        return None
    if event_name not in chosen(message.account):
        return None
    return Notice(message, edited)


class UserService:
    """IM ids, user data, online flag, subscriptions and notifications of every account."""

    def __init__(
        self,
        store: MessageStore,
        bus: EventBus,
        connection: Callable[[str], XmppConnection | None],
        roster: RosterService,
        sessions: Mapping[str, AccountSession],
    ) -> None:
        self._store = store
        self._bus = bus
        self._connection = connection
        self._roster = roster
        self._sessions = sessions
        #: account -> node -> its item's text as kept (our own data, read at sign-in).
        self._own: dict[str, dict[str, str]] = {}
        #: account -> contact -> its public custom data, as last read or pushed.
        self._others: dict[str, dict[str, str]] = {}
        #: account -> the contacts whose presence we see (for SubscriptionsChanged).
        self._seeing: dict[str, set[str]] = {}
        self._tasks = BackgroundTasks("user data read")
        #: Each account's reading of its own nodes after a sign-in (cancelled when the
        #: session ends).
        self._reads: dict[str, asyncio.Task[None]] = {}
        bus.subscribe(ConnectionStateChanged, self._on_state)
        bus.subscribe(ContactUpdated, self._on_contact)
        bus.subscribe(ContactRemoved, self._on_removed)

    # -- IM ids -------------------------------------------------------------------------

    async def im_id(self, address: str) -> int:
        """The IM id of ``address`` (any form: its bare address counts), given now if it
        has none; raises :class:`InvalidAddress`."""
        return await self._store.im_id(jids.bare(address))

    def known_im_id(self, address: str) -> int | None:
        return self._store.find_im_id(address)

    def address_of(self, im_id: int) -> str | None:
        return self._store.im_address(im_id)

    def known(self, account: str, address: str) -> bool:
        """Whether ``address`` is someone this profile knows: the account itself, a
        roster contact, or anyone given an IM id (a participant met, a user looked up)."""
        return (
            address == account
            or self._roster.contact(account, address) is not None
            or self._store.find_im_id(address) is not None
        )

    # -- user data ----------------------------------------------------------------------

    def _conn(self, account: str) -> XmppConnection:
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
        return conn

    async def custom_data(self, account: str, user: str) -> str:
        """The public custom data of ``user`` ("{}": none, or we may not read it): the
        account's own as kept, anyone else's read from their node (the last one read
        or pushed when we are not signed in)."""
        if user == account:
            return self._own_value(account, CUSTOM_DATA)
        conn = self._connection(account)
        if conn is None:
            return self._others.get(account, {}).get(user, EMPTY)
        try:
            text = await conn.fetch_user_data(user, CUSTOM_DATA)
        except ChinwagError as exc:
            log.info("%s: custom data of %s not read: %s", account, user, exc.message)
            return self._others.get(account, {}).get(user, EMPTY)
        value = _stored(text)
        self._others.setdefault(account, {})[user] = value
        return value

    def private_custom_data(self, account: str) -> str:
        return self._own_value(account, PRIVATE_CUSTOM_DATA)

    def notifications(self, account: str) -> tuple[str, ...]:
        """The events that raise desktop notifications for ``account``."""
        return _notifications(self._own.get(account, {}).get(NOTIFICATIONS))

    def _own_value(self, account: str, node: str) -> str:
        return _stored(self._own.get(account, {}).get(node))

    async def nickname(self, account: str, user: str) -> str:
        """The nickname ``user`` gives themselves (XEP-0172), "" when none or unread."""
        conn = self._connection(account)
        if conn is None:
            return ""
        try:
            return (await conn.fetch_user_data(user, NICK) or "").strip()
        except ChinwagError as exc:
            log.info("%s: nickname of %s not read: %s", account, user, exc.message)
            return ""

    async def edit(
        self, account: str, custom_data: str | None = None, private_custom_data: str | None = None
    ) -> None:
        """Change the account's user data (None: unchanged; "{}": removed), checking both
        before changing either; publishes :class:`UserEdited` once done. Raises
        :class:`UserDataInvalid`, :class:`NotConnected`, RequestRefused."""
        changes: dict[str, str] = {}
        if custom_data is not None:
            changes[CUSTOM_DATA] = check_custom_data(custom_data, "custom_data")
        if private_custom_data is not None:
            changes[PRIVATE_CUSTOM_DATA] = check_custom_data(
                private_custom_data, "private_custom_data"
            )
        conn = self._conn(account)
        own = self._own.setdefault(account, {})
        for node, value in changes.items():
            before = own.get(node)
            own[node] = value  # the push of our own change is no other change
            try:
                if value == EMPTY:
                    await conn.delete_user_data(node)
                else:
                    await conn.publish_user_data(node, value)
            except BaseException:
                if own.get(node) == value:
                    if before is None:
                        own.pop(node, None)
                    else:
                        own[node] = before
                raise
        self._announce_own(account)

    async def set_notifications(self, account: str, events: Sequence[str]) -> None:
        """Choose the events that raise desktop notifications (each one of
        :data:`NOTIFICATION_EVENTS`), for every client of the account."""
        unknown = [e for e in events if e not in NOTIFICATION_EVENTS]
        if unknown:
            raise UserDataInvalid(f"no notification event {unknown[0]!r}")
        chosen = tuple(e for e in NOTIFICATION_EVENTS if e in events)
        text = json.dumps({"events": list(chosen)}, separators=(",", ":"))
        conn = self._conn(account)
        own = self._own.setdefault(account, {})
        before = own.get(NOTIFICATIONS)
        own[NOTIFICATIONS] = text  # the push of our own change is no other change
        try:
            await conn.publish_user_data(NOTIFICATIONS, text)
        except BaseException:
            if own.get(NOTIFICATIONS) == text:
                if before is None:
                    own.pop(NOTIFICATIONS, None)
                else:
                    own[NOTIFICATIONS] = before
            raise
        self._bus.publish(NotificationsChanged(account, chosen))

    def _announce_own(self, account: str) -> None:
        self._bus.publish(
            UserEdited(
                account,
                account,
                self._own_value(account, CUSTOM_DATA),
                self._own_value(account, PRIVATE_CUSTOM_DATA),
            )
        )

    def on_push(self, account: str, user: str, node: str, data: str | None) -> None:
        """A user data node changed on the server (see
        :meth:`~chinwag.core.ports.ConnectionListener.on_user_data`)."""
        if node == NICK:  # a contact's own nickname (XEP-0172): it may name them
            if user != account:
                self._roster.on_nickname(account, user, data or "")
            return
        if user == account:
            own = self._own.setdefault(account, {})
            if node == NOTIFICATIONS:
                before = self.notifications(account)
                own[node] = data if data is not None else json.dumps({"events": []})
                if self.notifications(account) != before:
                    self._bus.publish(NotificationsChanged(account, self.notifications(account)))
                return
            value = _stored(data)
            if own.get(node, EMPTY) == value:
                return
            own[node] = value
            self._announce_own(account)
            return
        if node != CUSTOM_DATA:
            return
        others = self._others.setdefault(account, {})
        value = _stored(data)
        if others.get(user) == value:
            return
        others[user] = value
        self._bus.publish(UserEdited(account, user, value))

    def _on_state(self, event: ConnectionStateChanged) -> None:
        if event.state is ConnectionState.ONLINE and not event.resumed:
            conn = self._connection(event.account)
            if conn is not None:
                self._stop_reading(event.account)
                self._reads[event.account] = self._tasks.spawn(self._read_own(event.account, conn))
        elif event.state is not ConnectionState.ONLINE:
            self._stop_reading(event.account)  # (that session's answers will not come)

    def _stop_reading(self, account: str) -> None:
        task = self._reads.pop(account, None)
        if task is not None:
            task.cancel()

    async def _read_own(self, account: str, conn: XmppConnection) -> None:
        """Read the account's own nodes again after a new sign-in."""
        for node in (CUSTOM_DATA, PRIVATE_CUSTOM_DATA, NOTIFICATIONS):
            try:
                text = await conn.fetch_user_data(account, node)
            except ChinwagError as exc:
                log.warning("%s: could not read %s: %s", account, node, exc.message)
                continue
            if text is None and node == NOTIFICATIONS:
                self._own.setdefault(account, {}).pop(node, None)
                continue
            self.on_push(account, account, node, text)

    # -- online -------------------------------------------------------------------------

    def set_online(self, account: str, online: bool) -> None:
        """Available, or extended away (``xa``: Out to lunch) keeping the status message;
        sent now (raises :class:`NotConnected` when not signed in)."""
        session = self._sessions.get(account)
        if session is None or self._connection(account) is None:
            raise NotConnected(f"{account} is not signed in")
        session.set_status(Status.ONLINE if online else Status.OUT_TO_LUNCH, session.status)
        self._bus.publish(OnlineSet(account, online))

    # -- subscriptions ------------------------------------------------------------------

    def subscriptions(self, account: str) -> list[str]:
        """The contacts whose presence we see (they approved), by address."""
        return sorted(c.jid for c in self._roster.contacts(account) if c.subscription in _SEES)

    async def subscribe(self, account: str, users: Sequence[str]) -> None:
        """Ask to see each one's presence (those we see already are left alone)."""
        self._conn(account)
        for user in users:
            contact = self._roster.contact(account, user)
            if contact is not None and contact.subscription in _SEES:
                continue
            await self._roster.subscribe(account, user)

    def unsubscribe(self, account: str, users: Sequence[str]) -> None:
        """Stop seeing each one's presence, or withdraw the request still pending."""
        self._conn(account)
        for user in users:
            contact = self._roster.contact(account, user)
            if contact is not None and (contact.subscription in _SEES or contact.ask):
                self._roster.unsubscribe(account, user)

    def unsubscribe_all(self, account: str) -> None:
        users = [c.jid for c in self._roster.contacts(account) if c.subscription in _SEES or c.ask]
        self.unsubscribe(account, users)

    def load(self, account: str) -> None:
        """Start from the roster as cached (whom we saw at the end of the last run)."""
        self._seeing[account] = set(self.subscriptions(account))

    def _on_contact(self, event: ContactUpdated) -> None:
        contact: Contact = event.contact
        seeing = self._seeing.setdefault(contact.account, set())
        sees = contact.subscription in _SEES
        if sees == (contact.jid in seeing):
            return
        if sees:
            seeing.add(contact.jid)
        else:
            seeing.discard(contact.jid)
        self._bus.publish(SubscriptionsChanged(contact.account, (contact.jid,), sees))

    def _on_removed(self, event: ContactRemoved) -> None:
        seeing = self._seeing.get(event.account, set())
        if event.jid in seeing:
            seeing.discard(event.jid)
            self._bus.publish(SubscriptionsChanged(event.account, (event.jid,), False))

    async def drain(self) -> None:
        """Wait for the writes under way (at shutdown); reads of the server stop."""
        for account in list(self._reads):
            self._stop_reading(account)
        await self._tasks.drain()
