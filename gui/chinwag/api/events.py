"""The API's events (``DMessengerEvents`` and the ``Messages1`` signals of
automation-api.md), decided once from the core's events and handed to every front that
listens, in plain values: contacts and groups as keys, messages as plain parts.

Which event fires, with which ``hr``, and when (a sign-in that failed is ``OnSignin``
with its error, a sign-out after being online is ``OnSignout``, a contact moved by a group
rename stays in the same group, ...) is decided here; a front only renders what it is
told (D-Bus: :mod:`chinwag.automation.signals`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from chinwag.api.codes import S_OK, hr_of
from chinwag.api.errors import hr_for
from chinwag.api.messages import Parts, message_parts, received_parts
from chinwag.core.events import (
    AccountAdded,
    AccountChanged,
    AccountRemoved,
    BlockChanged,
    ConnectionStateChanged,
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    Event,
    GroupCreated,
    GroupRenamed,
    MessageStateChanged,
    OccupantChanged,
    OwnPresenceChanged,
    ReceivedLogged,
    RosterReceived,
    StorageFailed,
    StorageRecovered,
)
from chinwag.core.models import ConnectionState, Direction, MessageState
from chinwag.core.roster import contact_name

if TYPE_CHECKING:
    from chinwag.api.service import Api, ContactKey, GroupKey
    from chinwag.core.models import ConversationKey

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """What a front is told. ``hr`` is a signed HRESULT (0: S_OK)."""

    def signin(self, hr: int) -> None: ...
    def signout(self) -> None: ...
    def my_status_change(self, hr: int, status: int) -> None: ...
    def contact_status_change(self, contact: ContactKey, status: int) -> None: ...
    def contact_list_add(self, hr: int, contact: ContactKey) -> None: ...
    def contact_list_remove(self, hr: int, contact: ContactKey) -> None: ...
    def contact_friendly_name_change(self, hr: int, contact: ContactKey, previous: str) -> None: ...
    def my_friendly_name_change(self, hr: int, previous: str) -> None: ...
    def contact_block_change(self, hr: int, contact: ContactKey, blocked: bool) -> None: ...
    def group_added(self, hr: int, group: GroupKey) -> None: ...
    def group_removed(self, hr: int, group: GroupKey) -> None: ...
    def group_renamed(self, hr: int, old: GroupKey, new: GroupKey) -> None:
        """``OnGroupNameChanged``: the group ``old`` is now named ``new`` (same group)."""

    def contact_added_to_group(self, hr: int, group: GroupKey, contact: ContactKey) -> None: ...
    def contact_removed_from_group(self, hr: int, group: GroupKey, contact: ContactKey) -> None: ...
    def account_added(self, account: str) -> None: ...
    def account_removed(self, account: str) -> None: ...
    def message_sent(self, content: Parts, flags: int, token: str) -> None: ...
    def message_received(self, message: Parts) -> None: ...
    def storage_changed(self, problem: str) -> None: ...
    def room_contact_added(self, room: ContactKey, contact: ContactKey) -> None:
        """``OnIMWindowContactAdded`` for a room's window: ``contact`` came in."""

    def room_contact_removed(self, room: ContactKey, contact: ContactKey) -> None:
        """``OnIMWindowContactRemoved`` for a room's window: ``contact`` left it."""

    def conversation_event(self, key: ConversationKey, event: dict[str, Any]) -> None:
        """A Conversations API event (:mod:`chinwag.api.conversation_events`) of the
        conversation ``key``."""

    def user_event(self, event: dict[str, Any]) -> None:
        """A Conversations API user event (``OnSetStatus``, ``OnEditUser``,
        ``OnSubscribe``, ``OnUnsubscribe``)."""


class ApiEvents:
    """Listens to the core's bus; tells every sink (see :meth:`listen`)."""

    def __init__(self, api: Api) -> None:
        self._api = api
        core = api.core
        self._sinks: list[EventSink] = []
        #: Per account: "signing" (a sign-in is under way), "retrying", "online", or "off".
        self._phase: dict[str, str] = {}
        self._status: dict[str, int] = {}
        self._nick: dict[str, str] = {}
        self._groups: dict[str, set[str]] = {}
        self._members: dict[ContactKey, tuple[str, ...]] = {}
        #: Why the history cannot be written now ("" while it can).
        self.storage_problem = ""
        for config in core.accounts.accounts:
            self._remember_account(config.jid)
        handlers: dict[type[Event], Any] = {
            ConnectionStateChanged: self._on_state,
            OwnPresenceChanged: self._on_own_presence,
            ContactPresenceChanged: self._on_presence,
            ContactUpdated: self._on_contact_updated,
            ContactRemoved: self._on_contact_removed,
            RosterReceived: self._on_roster,
            GroupCreated: self._on_group_created,
            GroupRenamed: self._on_group_renamed,
            BlockChanged: self._on_block,
            AccountAdded: self._on_account_added,
            AccountRemoved: self._on_account_removed,
            AccountChanged: self._on_account_changed,
            ReceivedLogged: self._on_received,
            MessageStateChanged: self._on_message_state,
            StorageFailed: self._on_storage,
            StorageRecovered: self._on_storage,
            OccupantChanged: self._on_occupant,
        }
        self._unsubscribe = [core.bus.subscribe(t, self._guard(h)) for t, h in handlers.items()]

    def listen(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def unlisten(self, sink: EventSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._sinks = []

    def tell(self, name: str, *args: Any) -> None:
        """Tell every sink ``name(*args)`` (for the API's other parts: the
        conversations' events)."""
        self._tell(name, *args)

    def _tell(self, name: str, *args: Any) -> None:
        for sink in list(self._sinks):
            try:
                getattr(sink, name)(*args)
            except Exception:  # one broken front must not silence the others
                log.exception("the %s event failed in %r", name, sink)

    @staticmethod
    def _guard(handler: Any) -> Any:
        def run(event: Event) -> None:
            try:
                handler(event)
            except Exception:  # a broken event must not break the core's other listeners
                log.exception("automation event for %r failed", event)

        return run

    def _remember_account(self, account: str) -> None:
        core = self._api.core
        config = core.accounts.find(account)
        self._nick[account] = config.nickname if config else ""
        self._status[account] = self._api.account_status(account)
        self._groups[account] = set(core.roster.groups(account))
        for contact in core.roster.contacts(account):
            self._members[(account, contact.jid)] = contact.groups

    # -- rooms ------------------------------------------------------------------------

    def _on_occupant(self, event: OccupantChanged) -> None:
        """Someone with a real address came into a room or left it (not a nick change,
        not ourselves; an anonymous occupant is no contact)."""
        if event.renamed:
            return
        room = self._api.core.rooms.room(event.account, event.room)
        own = room.nick if room is not None else ""
        key = (event.account, event.room)
        if event.nick == own:
            return
        if event.previous is None and event.occupant is not None and event.occupant.jid:
            self._tell("room_contact_added", key, (event.account, event.occupant.jid))
        elif event.occupant is None and event.previous is not None and event.previous.jid:
            self._tell("room_contact_removed", key, (event.account, event.previous.jid))

    # -- outcomes of requests the API started -----------------------------------------

    def contact_list_add(self, hr: int, contact: ContactKey) -> None:
        self._tell("contact_list_add", hr, contact)

    def contact_list_remove(self, hr: int, contact: ContactKey) -> None:
        self._tell("contact_list_remove", hr, contact)

    # -- accounts and own status ------------------------------------------------------

    def _on_state(self, event: ConnectionStateChanged) -> None:
        account, state = event.account, event.state
        phase = self._phase.get(account, "off")
        if state is ConnectionState.CONNECTING:
            self._phase[account] = "signing"
        elif state is ConnectionState.ONLINE:
            if phase != "online":
                self._tell("signin", S_OK)
            self._phase[account] = "online"
        elif state is ConnectionState.RECONNECTING:
            if phase == "signing" and event.error is not None:
                self._tell("signin", hr_for(event.error))
                self._phase[account] = "retrying"
        elif state is ConnectionState.FAILED:
            if phase in ("signing", "retrying"):
                self._tell("signin", hr_for(event.error))
            elif phase == "online":
                self._tell("signout")
            self._phase[account] = "off"
        elif state is ConnectionState.OFFLINE:
            if phase == "online":
                self._tell("signout")
            elif phase in ("signing", "retrying"):  # signed out before it signed in
                self._tell("signin", hr_of("Disconnected"))
            self._phase[account] = "off"
        self._own_status(account)

    def _on_own_presence(self, event: OwnPresenceChanged) -> None:
        self._own_status(event.account)

    def _own_status(self, account: str) -> None:
        status = self._api.account_status(account)
        if self._status.get(account) == status:
            return
        self._status[account] = status
        if account == self._api.core.primary:
            self._tell("my_status_change", S_OK, status)
        self._tell("contact_status_change", (account, account), status)

    def _on_account_added(self, event: AccountAdded) -> None:
        self._tell("account_added", event.account)
        self._remember_account(event.account)

    def _on_account_removed(self, event: AccountRemoved) -> None:
        self._tell("account_removed", event.account)
        self._phase.pop(event.account, None)
        self._status.pop(event.account, None)

    def _on_account_changed(self, event: AccountChanged) -> None:
        config = self._api.core.accounts.find(event.account)
        if config is None:
            return
        previous = self._nick.get(event.account, "")
        if config.nickname != previous:
            self._nick[event.account] = config.nickname
            if event.account == self._api.core.primary:
                self._tell("my_friendly_name_change", S_OK, previous or event.account)

    # -- contacts and groups ----------------------------------------------------------

    def _on_presence(self, event: ContactPresenceChanged) -> None:
        key = (event.account, event.jid)
        self._tell("contact_status_change", key, self._api.contacts.status(key))

    def _on_contact_updated(self, event: ContactUpdated) -> None:
        contact, previous = event.contact, event.previous
        key = (contact.account, contact.jid)
        if previous is None:
            self._tell("contact_list_add", S_OK, key)
        else:
            nickname = self._api.core.roster.nickname(*key)
            was = contact_name(previous.name, nickname, contact.jid)
            if was != contact_name(contact.name, nickname, contact.jid):
                self._tell("contact_friendly_name_change", S_OK, key, was)
        before = self._members.get(key, ())
        self._members[key] = contact.groups
        self._membership(key, before, contact.groups)

    def _on_contact_removed(self, event: ContactRemoved) -> None:
        key = (event.account, event.jid)
        before = self._members.pop(key, ())
        self._membership(key, before, ())
        self._tell("contact_list_remove", S_OK, key)

    def _membership(
        self, contact: ContactKey, before: tuple[str, ...], after: tuple[str, ...]
    ) -> None:
        account = contact[0]
        renaming = self._api.renaming
        gone = [g for g in before if g not in after]
        new = [g for g in after if g not in before]
        for old_name in list(gone):
            for new_name in list(new):
                if renaming.get((account, old_name)) == new_name:
                    gone.remove(old_name)  # moved by a rename: the same group
                    new.remove(new_name)
        self._sync_groups(account)
        for name in gone:
            self._tell("contact_removed_from_group", S_OK, (account, name), contact)
        for name in new:
            group = self._api.group_key(account, name)
            self._tell("contact_added_to_group", S_OK, group, contact)

    def _sync_groups(self, account: str) -> None:
        renaming = self._api.renaming
        listed = set(self._api.core.roster.groups(account))
        # A group being renamed keeps its identity; its old name is not a group of its
        # own while the members move.
        for acc, old in [k for k in renaming if k[0] == account]:
            if old not in listed:
                del renaming[(acc, old)]
        now = listed - {old for acc, old in renaming if acc == account}
        before = self._groups.get(account, set())
        self._groups[account] = now
        for name in sorted(now - before):
            self._tell("group_added", S_OK, self._api.group_key(account, name))
        for name in sorted(before - now):
            self._tell("group_removed", S_OK, (account, name))

    def _on_roster(self, event: RosterReceived) -> None:
        self._sync_groups(event.account)

    def _on_group_created(self, event: GroupCreated) -> None:
        self._sync_groups(event.account)

    def _on_group_renamed(self, event: GroupRenamed) -> None:
        account = event.account
        self._groups.setdefault(account, set()).discard(event.old)
        self._groups[account].add(event.new)
        self._api.renaming[(account, event.old)] = event.new
        self._tell("group_renamed", S_OK, (account, event.old), (account, event.new))

    def _on_block(self, event: BlockChanged) -> None:
        key = (event.account, event.jid)
        self._tell("contact_block_change", S_OK, key, event.blocked)

    # -- messages ---------------------------------------------------------------------

    def _on_received(self, event: ReceivedLogged) -> None:
        for entry in event.entries:
            self._tell("message_received", received_parts(entry))

    def _on_storage(self, event: StorageFailed | StorageRecovered) -> None:
        problem = event.reason if isinstance(event, StorageFailed) else ""
        if problem != self.storage_problem:
            self.storage_problem = problem
            self._tell("storage_changed", problem)

    def _on_message_state(self, event: MessageStateChanged) -> None:
        message = event.message
        if message.direction is Direction.OUTGOING and message.state is MessageState.SENT:
            self._tell("message_sent", message_parts(message), message.flags, message.uid)
