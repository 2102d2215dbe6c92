"""The API's events as D-Bus signals (DMessengerEvents on Messenger1, and MessageSent /
MessageReceived / StorageChanged on Messages1): which event fires when is
:class:`chinwag.api.events.ApiEvents`'s to decide; here keys become object paths and
plain values variants. The conversation windows' own events (created, destroyed) come
from the window registry, since their handles are D-Bus objects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chinwag.automation.adapter import DBusApi
from chinwag.core.models import ConversationKind

if TYPE_CHECKING:
    from chinwag.api.messages import Parts
    from chinwag.api.ports import ConversationView
    from chinwag.api.service import ContactKey, GroupKey
    from chinwag.core.models import ConversationKey

log = logging.getLogger(__name__)


class SignalEmitter:
    """An :class:`~chinwag.api.events.EventSink` that emits the D-Bus signals."""

    def __init__(self, dbus: DBusApi) -> None:
        self._d = dbus
        self._m = dbus.messenger
        self._messages = dbus.messages
        dbus.api.events.listen(self)

    def close(self) -> None:
        self._d.api.events.unlisten(self)

    # -- windows -------------------------------------------------------------------------

    def window_created(self, view: ConversationView) -> None:
        handle = self._d.windows.for_view(view)
        self._m.OnIMWindowCreated(handle.path)
        self._contacts_added(handle.path, view)

    def window_replaced(self, old: ConversationView, new: ConversationView) -> None:
        """A one-to-one window went on as a room's: the same handle, and whoever is in
        the room now is added to it."""
        handle = self._d.windows.replaced(old, new)
        if handle is not None:
            self._contacts_added(handle.path, new)

    def _contacts_added(self, path: str, view: ConversationView) -> None:
        contacts = view.participants() if view.kind is ConversationKind.GROUPCHAT else [view.peer]
        for jid in contacts:
            self._m.OnIMWindowContactAdded(self._d.contact_path((view.account, jid)), path)

    def room_contact_added(self, room: ContactKey, contact: ContactKey) -> None:
        handle = self._d.windows.for_room(*room)
        if handle is not None:
            self._m.OnIMWindowContactAdded(self._d.contact_path(contact), handle.path)

    def room_contact_removed(self, room: ContactKey, contact: ContactKey) -> None:
        handle = self._d.windows.for_room(*room)
        if handle is not None:
            self._m.OnIMWindowContactRemoved(self._d.contact_path(contact), handle.path)

    def window_destroyed(self, view: ConversationView) -> None:
        handle = self._d.windows.destroyed(view)
        if handle is not None:
            self._m.OnIMWindowDestroyed(handle.path)

    # -- EventSink -----------------------------------------------------------------------

    def signin(self, hr: int) -> None:
        self._m.OnSignin(hr)

    def signout(self) -> None:
        self._m.OnSignout()

    def my_status_change(self, hr: int, status: int) -> None:
        self._m.OnMyStatusChange(hr, status)

    def contact_status_change(self, contact: ContactKey, status: int) -> None:
        self._m.OnContactStatusChange(self._d.contact_path(contact), status)

    def contact_list_add(self, hr: int, contact: ContactKey) -> None:
        self._m.OnContactListAdd(hr, self._d.contact_path(contact))

    def contact_list_remove(self, hr: int, contact: ContactKey) -> None:
        self._m.OnContactListRemove(hr, self._d.contact_path(contact))

    def contact_friendly_name_change(self, hr: int, contact: ContactKey, previous: str) -> None:
        self._m.OnContactFriendlyNameChange(hr, self._d.contact_path(contact), previous)

    def my_friendly_name_change(self, hr: int, previous: str) -> None:
        self._m.OnMyFriendlyNameChange(hr, previous)

    def contact_block_change(self, hr: int, contact: ContactKey, blocked: bool) -> None:
        self._m.OnContactBlockChange(hr, self._d.contact_path(contact), blocked)

    def group_added(self, hr: int, group: GroupKey) -> None:
        self._m.OnGroupAdded(hr, self._d.group_path(group))

    def group_removed(self, hr: int, group: GroupKey) -> None:
        path = self._d.groups.known(group)
        if path is not None:  # no object was ever made for it: nobody can hold it
            self._m.OnGroupRemoved(hr, path)

    def group_renamed(self, hr: int, old: GroupKey, new: GroupKey) -> None:
        groups = self._d.groups
        groups.rekey(old, new)
        path = groups.known(new)
        if path is not None:
            groups.interfaces[path].key = new  # type: ignore[attr-defined]
            self._m.OnGroupNameChanged(hr, path)

    def contact_added_to_group(self, hr: int, group: GroupKey, contact: ContactKey) -> None:
        self._m.OnContactAddedToGroup(hr, self._d.group_path(group), self._d.contact_path(contact))

    def contact_removed_from_group(self, hr: int, group: GroupKey, contact: ContactKey) -> None:
        path = self._d.groups.known(group)
        if path is not None:
            self._m.OnContactRemovedFromGroup(hr, path, self._d.contact_path(contact))

    def account_added(self, account: str) -> None:
        self._d.accounts.path(account)

    def account_removed(self, account: str) -> None:
        self._d.accounts.forget(account)

    def message_sent(self, content: Parts, flags: int, token: str) -> None:
        self._messages.MessageSent(self._d.dbus_parts(content), flags, token)

    def message_received(self, message: Parts) -> None:
        self._messages.MessageReceived(self._d.encoded_message(message))

    def storage_changed(self, problem: str) -> None:
        self._messages.StorageChanged(problem)

    def conversation_event(self, key: ConversationKey, event: dict[str, Any]) -> None:
        self._d.conversations_interface.emit_conversation_event(key, event)

    def user_event(self, event: dict[str, Any]) -> None:
        self._d.conversations_interface.emit_user_event(event)
