"""Core events -> the automation API's signals (DMessengerEvents on Messenger1, and
MessageSent / MessageReceived on Messages1): the one module that turns core events into
D-Bus signals (architecture, lesson 3)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from dbus_next import Variant

from chinwag.automation import names
from chinwag.automation.api import AutomationApi, hr_for, message_parts
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
    MessageAdded,
    MessageStateChanged,
    OwnPresenceChanged,
    RosterReceived,
    StorageFailed,
    StorageRecovered,
)
from chinwag.core.models import ConnectionState, Direction, Message, MessageState, Origin

if TYPE_CHECKING:
    from chinwag.automation.ports import ConversationView

log = logging.getLogger(__name__)

#: Outgoing state -> (report flag that asks for it, Telepathy delivery-status).
_REPORTS = {
    MessageState.SENT: (names.REPORT_DELIVERY, names.DeliveryStatus.ACCEPTED),
    MessageState.DELIVERED: (names.REPORT_DELIVERY, names.DeliveryStatus.DELIVERED),
    MessageState.READ: (names.REPORT_READ, names.DeliveryStatus.READ),
}


#: How many delivered-and-not-yet-read tokens are remembered (see _on_message_state).
_DELIVERED_KEPT = 50_000


class SignalEmitter:
    """Listens to the core bus and the window registry; emits the API's signals."""

    def __init__(self, api: AutomationApi) -> None:
        self._api = api
        self._m = api.messenger
        core = api.core
        #: Per account: "signing" (a sign-in is under way), "online", or "off".
        self._phase: dict[str, str] = {}
        self._status: dict[str, int] = {}
        self._nick: dict[str, str] = {}
        self._groups: dict[str, set[str]] = {}
        self._members: dict[tuple[str, str], tuple[str, ...]] = {}
        #: Tokens whose Delivered report went out (a read marker can overtake the
        #: receipt in storage; then Delivered is reported with Read). Bounded.
        self._delivered: OrderedDict[str, None] = OrderedDict()
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
            MessageAdded: self._on_message_added,
            MessageStateChanged: self._on_message_state,
            StorageFailed: self._on_storage,
            StorageRecovered: self._on_storage,
        }
        self._unsubscribe = [core.bus.subscribe(t, self._guard(h)) for t, h in handlers.items()]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    @staticmethod
    def _guard(handler: Any) -> Any:
        def run(event: Event) -> None:
            try:
                handler(event)
            except Exception:  # a broken signal must not break the core's other listeners
                log.exception("automation signal for %r failed", event)

        return run

    def _remember_account(self, account: str) -> None:
        core = self._api.core
        config = core.accounts.find(account)
        self._nick[account] = config.nickname if config else ""
        self._status[account] = self._api.account_status(account)
        self._groups[account] = set(core.roster.groups(account))
        for contact in core.roster.contacts(account):
            self._members[(account, contact.jid)] = contact.groups

    # -- windows -------------------------------------------------------------------------

    def window_created(self, view: ConversationView) -> None:
        handle = self._api.windows.for_view(view)
        self._m.OnIMWindowCreated(handle.path)
        self._m.OnIMWindowContactAdded(
            self._api.contact_path(handle.account, handle.peer), handle.path
        )

    def window_destroyed(self, view: ConversationView) -> None:
        handle = self._api.windows.destroyed(view)
        if handle is not None:
            self._m.OnIMWindowDestroyed(handle.path)

    # -- accounts and own status ---------------------------------------------------------

    def _on_state(self, event: ConnectionStateChanged) -> None:
        account, state = event.account, event.state
        phase = self._phase.get(account, "off")
        if state is ConnectionState.CONNECTING:
            self._phase[account] = "signing"
        elif state is ConnectionState.ONLINE:
            if phase != "online":
                self._m.OnSignin(names.S_OK)
            self._phase[account] = "online"
        elif state is ConnectionState.RECONNECTING:
            if phase == "signing" and event.error is not None:
                self._m.OnSignin(hr_for(event.error))
                self._phase[account] = "retrying"
        elif state is ConnectionState.FAILED:
            if phase in ("signing", "retrying"):
                self._m.OnSignin(hr_for(event.error))
            elif phase == "online":
                self._m.OnSignout()
            self._phase[account] = "off"
        elif state is ConnectionState.OFFLINE:
            if phase == "online":
                self._m.OnSignout()
            elif phase in ("signing", "retrying"):  # signed out before it signed in
                self._m.OnSignin(names.hr_of("Disconnected"))
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
            self._m.OnMyStatusChange(names.S_OK, status)
        self._m.OnContactStatusChange(self._api.contact_path(account, account), status)

    def _on_account_added(self, event: AccountAdded) -> None:
        self._api.accounts.path(event.account)
        self._remember_account(event.account)

    def _on_account_removed(self, event: AccountRemoved) -> None:
        self._api.accounts.forget(event.account)
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
                self._m.OnMyFriendlyNameChange(names.S_OK, previous or event.account)

    # -- contacts and groups -------------------------------------------------------------

    def _on_presence(self, event: ContactPresenceChanged) -> None:
        path = self._api.contact_path(event.account, event.jid)
        target = self._api.contacts.interfaces[path]._target  # type: ignore[attr-defined]
        self._m.OnContactStatusChange(path, target.status())

    def _on_contact_updated(self, event: ContactUpdated) -> None:
        contact, previous = event.contact, event.previous
        account = contact.account
        path = self._api.contact_path(account, contact.jid)
        if previous is None:
            self._m.OnContactListAdd(names.S_OK, path)
        elif previous.display_name != contact.display_name:
            self._m.OnContactFriendlyNameChange(names.S_OK, path, previous.display_name)
        before = self._members.get((account, contact.jid), ())
        self._members[(account, contact.jid)] = contact.groups
        self._membership(account, path, before, contact.groups)

    def _on_contact_removed(self, event: ContactRemoved) -> None:
        path = self._api.contact_path(event.account, event.jid)
        before = self._members.pop((event.account, event.jid), ())
        self._membership(event.account, path, before, ())
        self._m.OnContactListRemove(names.S_OK, path)

    def _membership(
        self, account: str, contact: str, before: tuple[str, ...], after: tuple[str, ...]
    ) -> None:
        gone = [g for g in before if g not in after]
        new = [g for g in after if g not in before]
        for old_name in list(gone):
            for new_name in list(new):
                if self._api.renaming.get((account, old_name)) == new_name:
                    gone.remove(old_name)  # moved by a rename: the same group object
                    new.remove(new_name)
        self._sync_groups(account)
        for name in gone:
            path = self._api.groups.known((account, name))
            if path is not None:
                self._m.OnContactRemovedFromGroup(names.S_OK, path, contact)
        for name in new:
            self._m.OnContactAddedToGroup(names.S_OK, self._api.group_path(account, name), contact)

    def _sync_groups(self, account: str) -> None:
        listed = set(self._api.core.roster.groups(account))
        # A group being renamed keeps its object; its old name is not a group of its own
        # while the members move.
        for acc, old in [k for k in self._api.renaming if k[0] == account]:
            if old not in listed:
                del self._api.renaming[(acc, old)]
        now = listed - {old for acc, old in self._api.renaming if acc == account}
        before = self._groups.get(account, set())
        self._groups[account] = now
        for name in sorted(now - before):
            self._m.OnGroupAdded(names.S_OK, self._api.group_path(account, name))
        for name in sorted(before - now):
            path = self._api.groups.known((account, name))
            if path is not None:
                self._m.OnGroupRemoved(names.S_OK, path)

    def _on_roster(self, event: RosterReceived) -> None:
        self._sync_groups(event.account)

    def _on_group_created(self, event: GroupCreated) -> None:
        self._sync_groups(event.account)

    def _on_group_renamed(self, event: GroupRenamed) -> None:
        account = event.account
        self._api.groups.rekey((account, event.old), (account, event.new))
        path = self._api.groups.known((account, event.new))
        self._groups.setdefault(account, set()).discard(event.old)
        self._groups[account].add(event.new)
        self._api.renaming[(account, event.old)] = event.new
        if path is not None:
            self._api.groups.interfaces[path]._target.renamed(event.new)  # type: ignore[attr-defined]
            self._m.OnGroupNameChanged(names.S_OK, path)

    def _on_block(self, event: BlockChanged) -> None:
        path = self._api.contact_path(event.account, event.jid)
        self._m.OnContactBlockChange(names.S_OK, path, event.blocked)

    # -- messages ------------------------------------------------------------------------

    def _on_message_added(self, event: MessageAdded) -> None:
        message = event.message
        if message.direction is not Direction.INCOMING:
            return
        extra = {
            "message-sender-id": Variant("s", message.peer),
            "message-received": Variant("x", int(time.time())),
            "account": Variant("o", self._api.accounts.path(message.account)),
        }
        if message.origin is Origin.ARCHIVE:
            extra["scrollback"] = Variant("b", True)
        self._api.messages.MessageReceived(message_parts(message, extra))

    def _on_storage(self, event: StorageFailed | StorageRecovered) -> None:
        problem = event.reason if isinstance(event, StorageFailed) else ""
        if problem != self._api.storage_problem:
            self._api.storage_problem = problem
            self._api.messages.StorageChanged(problem)

    def _on_message_state(self, event: MessageStateChanged) -> None:
        message = event.message
        if message.direction is not Direction.OUTGOING:
            return
        if message.state is MessageState.SENT:
            self._api.messages.MessageSent(message_parts(message), message.flags, message.uid)
        if message.state is MessageState.FAILED:
            self._report(message, names.DeliveryStatus.PERMANENTLY_FAILED, message.error)
            return
        if message.state is MessageState.DELIVERED:
            self._delivered[message.uid] = None
            while len(self._delivered) > _DELIVERED_KEPT:
                self._delivered.popitem(last=False)
        elif message.state is MessageState.READ:
            reported = message.uid in self._delivered
            self._delivered.pop(message.uid, None)
            # Read implies delivered: report it if the receipt's own state was overtaken.
            if not reported and message.flags & names.REPORT_DELIVERY:
                self._report(message, names.DeliveryStatus.DELIVERED)
        wanted = _REPORTS.get(message.state)
        if wanted is not None and message.flags & wanted[0]:
            self._report(message, wanted[1])

    def _report(self, message: Message, status: names.DeliveryStatus, error: str = "") -> None:
        header = {
            "message-token": Variant("s", f"{message.uid}.report.{int(status)}"),
            "message-type": Variant("u", names.MESSAGE_TYPE_DELIVERY_REPORT),
            "message-sender-id": Variant("s", message.peer),
            "message-received": Variant("x", int(time.time())),
            "account": Variant("o", self._api.accounts.path(message.account)),
            "delivery-status": Variant("u", int(status)),
            "delivery-token": Variant("s", message.uid),
        }
        if error or status in (
            names.DeliveryStatus.PERMANENTLY_FAILED,
            names.DeliveryStatus.TEMPORARILY_FAILED,
        ):
            header["delivery-error-message"] = Variant("s", error or "not delivered")
        self._api.messages.MessageReceived([header])
