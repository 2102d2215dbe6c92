# The D-Bus signatures are dbus-next's string annotations ('v', 'io', ...), read at class
# creation; this module must not use "from __future__ import annotations".
# ruff: noqa: F821, F722
# mypy: ignore-errors
"""The D-Bus interfaces of the automation API (spec sections 4-7), as dbus-next
``ServiceInterface`` classes.

Each member is a thin adapter: it checks the D-Bus-level types and makes one call on
:class:`~chinwag.automation.api.AutomationApi`, where the behaviour lives. Errors become
``im.chinwag.Error.*`` replies through :func:`guarded`."""

import functools
import inspect
import logging

from dbus_next import DBusError
from dbus_next.constants import PropertyAccess
from dbus_next.service import ServiceInterface, dbus_property, method, signal

from chinwag.automation import names
from chinwag.core.errors import ChinwagError

log = logging.getLogger(__name__)

READ = PropertyAccess.READ


def _translate(exc: BaseException) -> DBusError:
    if isinstance(exc, DBusError):
        return exc
    if isinstance(exc, ChinwagError):
        return names.api_error(exc.api_name, exc.message)
    log.error("automation call failed", exc_info=exc)
    return names.api_error("Fail", f"an internal error occurred ({type(exc).__name__})")


def guarded(fn):
    """Turn every exception of a member into its ``im.chinwag.Error.*`` reply (an
    unexpected one into Fail, logged): a script never sees a Python traceback."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                raise _translate(exc) from exc

        return run_async

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _translate(exc) from exc

    return run


class Messenger(ServiceInterface):
    """``im.chinwag.Messenger1`` on ``/im/chinwag/Chinwag``."""

    def __init__(self, api):
        super().__init__(names.MESSENGER)
        self._api = api

    @method()
    @guarded
    def InstantMessage(self, contact: "v") -> "io":
        return self._api.instant_message(contact)

    @method()
    @guarded
    def GetContact(self, signin_name: "s", service_id: "s") -> "o":
        return self._api.get_contact(signin_name, service_id)

    @method()
    @guarded
    async def Signin(self, signin_name: "s", password: "s") -> "i":
        return await self._api.signin(signin_name, password, {})

    @method()
    @guarded
    async def SigninWithOptions(self, signin_name: "s", password: "s", options: "a{sv}") -> "i":
        return await self._api.signin(signin_name, password, options)

    @method()
    @guarded
    def AutoSignin(self) -> "i":
        return self._api.auto_signin()

    @method()
    @guarded
    async def Signout(self) -> "i":
        return await self._api.signout()

    @method()
    @guarded
    def AddContact(self, signin_name: "s") -> "i":
        return self._api.add_contact(signin_name)

    @method()
    @guarded
    def RemoveContact(self, contact: "v") -> "i":
        return self._api.remove_contact(contact)

    @method()
    @guarded
    def CreateGroup(self, name: "s") -> "o":
        return self._api.create_group(name)

    @method()
    @guarded
    async def SetStatus(self, status: "u", message: "s") -> "i":
        return await self._api.set_status(status, message)

    @method()
    @guarded
    def Quit(self) -> "i":
        return self._api.quit()

    @dbus_property(access=READ)
    @guarded
    def MyContacts(self) -> "ao":
        return self._api.my_contacts()

    @dbus_property(access=READ)
    @guarded
    def MyGroups(self) -> "ao":
        return self._api.my_groups()

    @dbus_property(access=READ)
    @guarded
    def MySigninName(self) -> "s":
        return self._api.my_signin_name()

    @dbus_property(access=READ)
    @guarded
    def MyFriendlyName(self) -> "s":
        return self._api.my_friendly_name()

    @dbus_property()
    @guarded
    def MyStatus(self) -> "u":
        return self._api.my_status()

    @MyStatus.setter
    @guarded
    async def MyStatus(self, status: "u"):
        await self._api.set_status(status, None)

    @dbus_property(access=READ)
    @guarded
    def MyServiceId(self) -> "s":
        return self._api.my_service_id()

    @dbus_property(access=READ)
    def MyServiceName(self) -> "s":
        return "XMPP"

    @dbus_property(access=READ)
    def Window(self) -> "o":
        return names.MAIN_WINDOW_PATH

    @dbus_property(access=READ)
    @guarded
    def ConversationWindows(self) -> "ao":
        return self._api.conversation_windows()

    @dbus_property(access=READ)
    @guarded
    def Accounts(self) -> "ao":
        return self._api.account_paths()

    # -- DMessengerEvents --------------------------------------------------------------

    @signal()
    def OnSignin(self, hr) -> "i":
        return hr

    @signal()
    def OnSignout(self):
        return None

    @signal()
    def OnMyStatusChange(self, hr, status) -> "iu":
        return [hr, status]

    @signal()
    def OnContactStatusChange(self, contact, status) -> "ou":
        return [contact, status]

    @signal()
    def OnContactListAdd(self, hr, contact) -> "io":
        return [hr, contact]

    @signal()
    def OnContactListRemove(self, hr, contact) -> "io":
        return [hr, contact]

    @signal()
    def OnContactFriendlyNameChange(self, hr, contact, previous_name) -> "ios":
        return [hr, contact, previous_name]

    @signal()
    def OnMyFriendlyNameChange(self, hr, previous_name) -> "is":
        return [hr, previous_name]

    @signal()
    def OnContactBlockChange(self, hr, contact, blocked) -> "iob":
        return [hr, contact, blocked]

    @signal()
    def OnIMWindowCreated(self, window) -> "o":
        return window

    @signal()
    def OnIMWindowDestroyed(self, window) -> "o":
        return window

    @signal()
    def OnIMWindowContactAdded(self, contact, window) -> "oo":
        return [contact, window]

    @signal()
    def OnIMWindowContactRemoved(self, contact, window) -> "oo":
        return [contact, window]

    @signal()
    def OnGroupAdded(self, hr, group) -> "io":
        return [hr, group]

    @signal()
    def OnGroupRemoved(self, hr, group) -> "io":
        return [hr, group]

    @signal()
    def OnGroupNameChanged(self, hr, group) -> "io":
        return [hr, group]

    @signal()
    def OnContactAddedToGroup(self, hr, group, contact) -> "ioo":
        return [hr, group, contact]

    @signal()
    def OnContactRemovedFromGroup(self, hr, group, contact) -> "ioo":
        return [hr, group, contact]

    @signal()
    def OnAppShutdown(self):
        return None


class Messages(ServiceInterface):
    """``im.chinwag.Messages1`` on ``/im/chinwag/Chinwag`` (one-off sending)."""

    def __init__(self, api):
        super().__init__(names.MESSAGES)
        self._api = api

    @method()
    @guarded
    async def SendMessage(self, account: "o", target_id: "s", message: "aa{sv}", flags: "u") -> "s":
        return await self._api.send_message(account, target_id, message, flags)

    @signal()
    def MessageSent(self, content, flags, token) -> "aa{sv}us":
        return [content, flags, token]

    @signal()
    def MessageReceived(self, message) -> "aa{sv}":
        return message

    # Beyond the spec (it leaves room for more): a full disk. Received messages are then
    # held, unacknowledged, and written once there is room; "" means there is room again.
    @dbus_property(access=READ)
    def StorageProblem(self) -> "s":
        return self._api.storage_problem

    @signal()
    def StorageChanged(self, problem) -> "s":
        return problem


class Window(ServiceInterface):
    """``im.chinwag.Window1`` of the main window or of a conversation window; ``target``
    is a :class:`~chinwag.automation.api.MainWindowTarget` or
    :class:`~chinwag.automation.api.ConversationTarget`."""

    def __init__(self, target):
        super().__init__(names.WINDOW)
        self._target = target

    @method()
    @guarded
    def Show(self) -> "i":
        return self._target.show()

    @method()
    @guarded
    def Close(self) -> "i":
        return self._target.close()

    @method()
    @guarded
    def SetGeometry(self, left: "i", top: "i", width: "i", height: "i") -> "i":
        return self._target.set_geometry(left, top, width, height)

    @method()
    @guarded
    def Release(self) -> "i":
        return self._target.release()

    @dbus_property(access=READ)
    def IsClosed(self) -> "b":
        return self._target.is_closed()

    @dbus_property(access=READ)
    @guarded
    def HWND(self) -> "t":
        return self._target.hwnd()

    @dbus_property(access=READ)
    @guarded
    def Left(self) -> "i":
        return self._target.frame()[0]

    @dbus_property(access=READ)
    @guarded
    def Top(self) -> "i":
        return self._target.frame()[1]

    @dbus_property(access=READ)
    @guarded
    def Width(self) -> "i":
        return self._target.frame()[2]

    @dbus_property(access=READ)
    @guarded
    def Height(self) -> "i":
        return self._target.frame()[3]


class ConversationWindow(ServiceInterface):
    """``im.chinwag.ConversationWindow1``."""

    def __init__(self, target):
        super().__init__(names.CONVERSATION_WINDOW)
        self._target = target

    @method()
    @guarded
    async def SendText(self, text: "s") -> "i":
        return await self._target.send_text(text)

    @method()
    @guarded
    def AddContact(self, contact: "v") -> "i":
        return self._target.add_contact(contact)

    @dbus_property(access=READ)
    @guarded
    def Contacts(self) -> "ao":
        return self._target.contacts()

    @dbus_property(access=READ)
    @guarded
    def History(self) -> "s":
        return self._target.history()


class Contact(ServiceInterface):
    """``im.chinwag.Contact1``; ``target`` is an :class:`~chinwag.automation.api.ContactTarget`."""

    def __init__(self, target):
        super().__init__(names.CONTACT)
        self._target = target

    @dbus_property(access=READ)
    def SigninName(self) -> "s":
        return self._target.jid

    @dbus_property(access=READ)
    @guarded
    def FriendlyName(self) -> "s":
        return self._target.friendly_name()

    @dbus_property(access=READ)
    @guarded
    def Status(self) -> "u":
        return self._target.status()

    @dbus_property(access=READ)
    @guarded
    def StatusMessage(self) -> "s":
        return self._target.status_message()

    @dbus_property(access=READ)
    def ServiceName(self) -> "s":
        return "XMPP"

    @dbus_property(access=READ)
    @guarded
    def ServiceId(self) -> "s":
        return self._target.service_id()

    @dbus_property(access=READ)
    @guarded
    def IsSelf(self) -> "b":
        return self._target.is_self()

    @dbus_property()
    @guarded
    def Blocked(self) -> "b":
        return self._target.blocked()

    @Blocked.setter
    @guarded
    async def Blocked(self, blocked: "b"):
        await self._target.set_blocked(blocked)

    @dbus_property(access=READ)
    @guarded
    def Groups(self) -> "ao":
        return self._target.groups()


class Group(ServiceInterface):
    """``im.chinwag.Group1``; ``target`` is a :class:`~chinwag.automation.api.GroupTarget`."""

    def __init__(self, target):
        super().__init__(names.GROUP)
        self._target = target

    @dbus_property()
    @guarded
    def Name(self) -> "s":
        return self._target.name()

    @Name.setter
    @guarded
    async def Name(self, name: "s"):
        await self._target.rename(name)

    @dbus_property(access=READ)
    @guarded
    def Contacts(self) -> "ao":
        return self._target.contacts()

    @method()
    @guarded
    async def AddContact(self, contact: "v") -> "i":
        return await self._target.add_contact(contact)

    @method()
    @guarded
    async def RemoveContact(self, contact: "v") -> "i":
        return await self._target.remove_contact(contact)


class Account(ServiceInterface):
    """``im.chinwag.Account1``; ``target`` is an :class:`~chinwag.automation.api.AccountTarget`."""

    def __init__(self, target):
        super().__init__(names.ACCOUNT)
        self._target = target

    @dbus_property(access=READ)
    def SigninName(self) -> "s":
        return self._target.jid

    @dbus_property()
    @guarded
    def Enabled(self) -> "b":
        return self._target.enabled()

    @Enabled.setter
    @guarded
    async def Enabled(self, enabled: "b"):
        await self._target.set_enabled(enabled)

    @dbus_property(access=READ)
    @guarded
    def Status(self) -> "u":
        return self._target.status()

    @dbus_property(access=READ)
    def Protocol(self) -> "s":
        return "xmpp"
