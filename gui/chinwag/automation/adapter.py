"""The D-Bus side of the automation API: object paths for the API's keys, variants for its
plain values, and ``im.chinwag.Error.*`` for its errors. The behaviour is
:class:`chinwag.api.service.Api`'s; :mod:`chinwag.automation.interfaces` calls it through
this, one or two lines a member.

Paths: accounts, contacts and groups get a number the first time they are named and keep
it for the run (:class:`~chinwag.automation.objects.Numbered`); conversation windows get a
handle with the lifetime of spec section 5 (:class:`~chinwag.automation.objects.WindowHandles`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dbus_next import Variant

from chinwag.api.codes import S_FALSE, S_OK, Code
from chinwag.api.errors import ApiError, invalid
from chinwag.api.service import Api, ContactArg, ContactKey, GroupKey
from chinwag.automation import names
from chinwag.automation.bus import current_call
from chinwag.automation.conversations import ConversationHandles, Conversations
from chinwag.automation.interfaces import (
    Account,
    Contact,
    ConversationWindow,
    Group,
    Messages,
    Messenger,
    Window,
)
from chinwag.automation.objects import Numbered, WindowHandle, WindowHandles
from chinwag.automation.wire import EncodedBody, PartsEncoder

if TYPE_CHECKING:
    from dbus_next.aio import MessageBus
    from dbus_next.service import ServiceInterface

    from chinwag.api.messages import Parts
    from chinwag.api.ports import ConversationView

log = logging.getLogger(__name__)

#: The D-Bus type of each key a message part may carry (spec section 6): a value
#: built for a received message, or checked in one sent.
PART_SIGNATURES: dict[str, str] = {
    "message-token": "s",
    "message-type": "u",
    "message-sent": "x",
    "message-received": "x",
    "message-sender-id": "s",
    "message-sequence": "x",
    "account": "o",
    "scrollback": "b",
    "delivery-status": "u",
    "delivery-token": "s",
    "delivery-error-message": "s",
    "content-type": "s",
    "content": "s",
    "alternative": "s",
}


_ENCODER = PartsEncoder(PART_SIGNATURES)


class Mistyped:
    """A part value of the wrong D-Bus type: no plain value the API accepts for its key."""

    def __init__(self, variant: Variant) -> None:
        self.signature = variant.signature

    def __repr__(self) -> str:
        return f"<a {self.signature!r} value>"


class DBusApi:
    """The API as one D-Bus client sees it: objects, paths and variants."""

    def __init__(self, api: Api, bus: MessageBus) -> None:
        self.api = api
        self.bus = bus
        self.messenger = Messenger(self)
        self.messages = Messages(self)
        self.main_window = Window(MainWindowTarget(self))
        self.accounts = Numbered(bus, names.ACCOUNT_PATH, lambda jid: Account(self, jid))
        self.contacts = Numbered(bus, names.CONTACT_PATH, lambda key: Contact(self, key))
        self.groups = Numbered(bus, names.GROUP_PATH, lambda key: Group(self, key))
        self.windows = WindowHandles(bus, self._window_interfaces)
        self.conversations_interface = Conversations(self)
        self.conversations = ConversationHandles(bus, self)

    def _window_interfaces(self, handle: WindowHandle) -> list[ServiceInterface]:
        target = ConversationTarget(self, handle)
        return [Window(target), ConversationWindow(self, handle)]

    def export(self) -> None:
        self.bus.export(names.MESSENGER_PATH, self.messenger)
        self.bus.export(names.MESSENGER_PATH, self.messages)
        self.bus.export(names.MESSENGER_PATH, self.conversations_interface)
        self.bus.export(names.MAIN_WINDOW_PATH, self.main_window)
        for account in self.api.messenger.account_list():
            self.accounts.path(account)

    # -- D-Bus values -> the API's ---------------------------------------------------

    def contact_arg(self, contact: Any) -> ContactArg:
        """A ``v contact``: ``s`` a sign-in name, ``o`` a contact object."""
        if not isinstance(contact, Variant):
            raise invalid("a contact is a variant")
        if contact.signature == "s":
            return str(contact.value)
        if contact.signature == "o":
            key: ContactKey | None = self.contacts.key(contact.value)
            if key is None:
                raise invalid(f"{contact.value} is not a contact object")
            return key
        raise invalid(
            f"a contact is a sign-in name (s) or a contact path (o), not {contact.signature!r}"
        )

    def contact_on(self, contact: Any, account: str) -> ContactArg:
        """A ``v contact`` that must be of ``account`` (a member of its object)."""
        arg = self.contact_arg(contact)
        if not isinstance(arg, str) and arg[0] != account:
            raise invalid(f"{contact.value} is a contact of another account")
        return arg

    def service_id(self, service_id: str) -> str:
        """GetContact's ``service_id``: '' (primary), an account path or sign-in name."""
        key: str | None = self.accounts.key(service_id)
        return key if key is not None and self.api.core.accounts.find(key) else service_id

    def account_path_arg(self, path: str, error: Code) -> str | None:
        """An ``o account`` of Messages1: ``/`` = the primary account (None), else an
        account object (``error`` when it is not one)."""
        if path == "/":
            return None
        key: str | None = self.accounts.key(path)
        if key is None or self.api.core.accounts.find(key) is None:
            raise ApiError(error, f"{path} is not an account")
        return key

    @staticmethod
    def plain_parts(parts: list[dict[str, Variant]]) -> Parts:
        """Message parts with their variants unwrapped; a value of the wrong type for a
        known key becomes :class:`Mistyped`, which the API refuses."""
        plain: Parts = []
        for part in parts:
            out: dict[str, Any] = {}
            for key, variant in part.items():
                wanted = PART_SIGNATURES.get(key)
                if wanted is not None and variant.signature != wanted:
                    out[key] = Mistyped(variant)
                else:
                    out[key] = variant.value
            plain.append(out)
        return plain

    # -- the API's values -> D-Bus ---------------------------------------------------

    def contact_path(self, key: ContactKey) -> str:
        return self.contacts.path(key)

    def group_path(self, key: GroupKey) -> str:
        return self.groups.path(self.api.group_key(*key))

    def _with_paths(self, parts: Parts) -> Parts:
        header = parts[0]
        account = header.get("account")
        if account is None:
            return parts
        if self.api.core.accounts.find(account) is not None:
            path = self.accounts.path(account)
        else:  # removed meanwhile: its object is gone, and must not come back
            path = self.accounts.known(account) or "/"
        return [{**header, "account": path}, *parts[1:]]

    def encoded_message(self, parts: Parts) -> EncodedBody:
        """A message as the ``aa{sv}`` body of MessageReceived, marshalled."""
        return EncodedBody("aa{sv}", _ENCODER.message(self._with_paths(parts)))

    def encoded_messages(self, messages: list[Parts]) -> EncodedBody:
        """Messages as the ``aaa{sv}`` answer of GetReceived, marshalled."""
        return EncodedBody("aaa{sv}", _ENCODER.messages(map(self._with_paths, messages)))

    def dbus_parts(self, parts: Parts) -> list[dict[str, Variant]]:
        """Plain message parts as ``aa{sv}`` (the account as its object path)."""
        out: list[dict[str, Variant]] = []
        for part in parts:
            converted: dict[str, Variant] = {}
            for key, value in part.items():
                plain = self.accounts.path(value) if key == "account" else value
                converted[key] = Variant(PART_SIGNATURES[key], plain)
            out.append(converted)
        return out

    # -- windows ---------------------------------------------------------------------

    async def instant_message(self, contact: Any) -> list[Any]:
        hr, view = await self.api.messenger.instant_message(self.contact_arg(contact))
        return await self.window_path(hr, view)

    async def window_path(self, hr: int, view: ConversationView) -> list[Any]:
        """(hr, the window's handle path) of a window just opened, handed to the caller."""
        try:
            handle = self.windows.for_view(view)
        except Exception as exc:
            log.exception("InstantMessage: no handle for the window")
            raise ApiError(Code.FAIL, "could not get window handle") from exc
        path = self.windows.hand_out(handle)
        return [S_FALSE if hr == S_FALSE or handle.closed else hr, path]

    def caller(self) -> str | None:
        call = current_call.get()
        return call.sender if call is not None else None


class MainWindowTarget:
    """Window1 of the main window."""

    def __init__(self, dbus: DBusApi) -> None:
        self._windows = dbus.api.windows

    def show(self) -> int:
        return self._windows.main_show()

    def close(self) -> int:
        return self._windows.main_close()

    def set_geometry(self, left: int, top: int, width: int, height: int) -> int:
        return self._windows.main_set_geometry(left, top, width, height)

    def release(self) -> int:
        return S_OK  # the main window lives as long as the app

    def is_closed(self) -> bool:
        return self._windows.main_is_closed()

    def hwnd(self) -> int:
        return self._windows.main_hwnd()

    def frame(self) -> tuple[int, int, int, int]:
        return self._windows.main_frame()


class ConversationTarget:
    """Window1 of one conversation-window handle (open or closed)."""

    def __init__(self, dbus: DBusApi, handle: WindowHandle) -> None:
        self._dbus = dbus
        self._windows = dbus.api.windows
        self.handle = handle

    def show(self) -> int:
        return self._windows.show(self.handle.view)

    def close(self) -> int:
        return self._windows.close(self.handle.view)

    def set_geometry(self, left: int, top: int, width: int, height: int) -> int:
        return self._windows.set_geometry(self.handle.view, left, top, width, height)

    def release(self) -> int:
        self._dbus.windows.release_by(self.handle, self._dbus.caller())
        return S_OK

    def is_closed(self) -> bool:
        return self.handle.closed

    def hwnd(self) -> int:
        return self._windows.hwnd(self.handle.view)

    def frame(self) -> tuple[int, int, int, int]:
        view = self.handle.view
        return view.frame() if view is not None else self.handle.last_frame
