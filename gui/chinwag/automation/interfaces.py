"""The D-Bus interfaces of the automation API (spec sections 4-7, and 6a), as dbus-next
``ServiceInterface`` classes.

Each member is a thin adapter: it turns D-Bus values into the API's plain ones (through
:class:`~chinwag.automation.adapter.DBusApi`), makes one call on
:class:`chinwag.api.service.Api`, and turns the answer back. Errors become
``im.chinwag.Error.*`` replies through :func:`guarded`.

The D-Bus signature of each member is given with :func:`typed`, which dbus-next reads
from the function's signature; the Python annotations stay real types, so this module is
type-checked like the rest."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from dbus_next import DBusError, Variant
from dbus_next.constants import PropertyAccess
from dbus_next.service import ServiceInterface, dbus_property, method, signal

from chinwag.api.codes import Code
from chinwag.api.errors import ApiError, invalid
from chinwag.api.messaging_errors import MessagingError, from_core
from chinwag.automation import names
from chinwag.automation.wire import EncodedBody
from chinwag.core.errors import ChinwagError

if TYPE_CHECKING:
    from chinwag.automation.adapter import DBusApi
    from chinwag.automation.objects import WindowHandle

log = logging.getLogger(__name__)

READ = PropertyAccess.READ

F = TypeVar("F", bound=Callable[..., Any])


def typed(*arguments: str, out: str = "") -> Callable[[F], F]:
    """Give a member its D-Bus signature: one string per argument after ``self``, and
    ``out`` for the result (dbus-next reads these as the annotations)."""

    def apply(fn: F) -> F:
        signature = inspect.signature(fn)
        self_, *rest = signature.parameters.values()
        if len(rest) != len(arguments):
            raise TypeError(f"{fn.__name__}: {len(rest)} arguments, {len(arguments)} types")
        parameters = [
            self_,
            *(p.replace(annotation=a) for p, a in zip(rest, arguments, strict=True)),
        ]
        fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters,
            return_annotation=out or inspect.Signature.empty,
        )
        return fn

    return apply


def dbus_error(exc: BaseException, *, messaging: bool = False) -> DBusError:
    """The reply for an exception: an ApiError (or a core error) as its
    ``im.chinwag.Error.<Code>``; anything else as Fail (logged). ``messaging``: a member
    of the Conversations API, whose every refusal is one of its own errors
    (``im.chinwag.Error.Messaging.<Name>``): a core error as the spec maps it, anything
    unexpected SomethingWentWrong (0, logged)."""
    if isinstance(exc, DBusError):
        return exc
    if messaging and not isinstance(exc, MessagingError):
        if isinstance(exc, ChinwagError):
            exc = from_core(exc)
        else:
            log.error("conversations call failed", exc_info=exc)
            exc = MessagingError(0, f"an internal error occurred ({type(exc).__name__})")
    if isinstance(exc, MessagingError):
        return DBusError(f"{names.MESSAGING_ERROR_PREFIX}{exc.name}", str(exc))
    if isinstance(exc, ChinwagError):
        exc = ApiError.from_core(exc)
    if isinstance(exc, ApiError):
        return names.api_error(exc.code, exc.message)
    log.error("automation call failed", exc_info=exc)
    return names.api_error(Code.FAIL, f"an internal error occurred ({type(exc).__name__})")


def guarded(fn: F, *, messaging: bool = False) -> F:
    """Turn every exception of a member into its ``im.chinwag.Error.*`` reply (an
    unexpected one into Fail, logged; see :func:`dbus_error` for ``messaging``): a
    script never sees a Python traceback."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                raise dbus_error(exc, messaging=messaging) from exc

        return cast(F, run_async)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise dbus_error(exc, messaging=messaging) from exc

    return cast(F, run)


def member(*arguments: str, out: str = "", messaging: bool = False) -> Callable[[F], F]:
    """A D-Bus method: typed, guarded."""

    def apply(fn: F) -> F:
        return cast(F, method()(typed(*arguments, out=out)(guarded(fn, messaging=messaging))))

    return apply


def readable(out: str, *, messaging: bool = False) -> Callable[[F], F]:
    """A read-only D-Bus property: typed, guarded."""

    def apply(fn: F) -> F:
        guarded_fn = guarded(fn, messaging=messaging)
        return cast(F, dbus_property(access=READ)(typed(out=out)(guarded_fn)))

    return apply


def messaging_member(*arguments: str, out: str = "") -> Callable[[F], F]:
    """A member of the Conversations API (its refusals are its own errors)."""
    return member(*arguments, out=out, messaging=True)


def messaging_readable(out: str) -> Callable[[F], F]:
    """A property of the Conversations API (its refusals are its own errors)."""
    return readable(out, messaging=True)


def emits(out: str = "") -> Callable[[F], F]:
    """A D-Bus signal: the method returns its body, of the D-Bus type ``out``."""

    def apply(fn: F) -> F:
        signature = inspect.signature(fn)
        fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
            return_annotation=out or inspect.Signature.empty
        )
        return cast(F, signal()(fn))

    return apply


class Messenger(ServiceInterface):
    """``im.chinwag.Messenger1`` on ``/im/chinwag/Chinwag``."""

    def __init__(self, dbus: DBusApi) -> None:
        super().__init__(names.MESSENGER)
        self._d = dbus
        self._m = dbus.api.messenger

    @member("v", out="io")
    async def InstantMessage(self, contact: Variant) -> list[Any]:
        return await self._d.instant_message(contact)

    @member("s", "s", out="o")
    def GetContact(self, signin_name: str, service_id: str) -> str:
        key = self._m.get_contact(signin_name, self._d.service_id(service_id))
        return self._d.contact_path(key)

    @member("s", "s", out="i")
    async def Signin(self, signin_name: str, password: str) -> int:
        return await self._m.signin(signin_name, password, {})

    @member("s", "s", "a{sv}", out="i")
    async def SigninWithOptions(
        self, signin_name: str, password: str, options: dict[str, Variant]
    ) -> int:
        return await self._m.signin(signin_name, password, signin_options(options))

    @member(out="i")
    def AutoSignin(self) -> int:
        return self._m.auto_signin()

    @member(out="i")
    async def Signout(self) -> int:
        return await self._m.signout()

    @member("s", out="i")
    def AddContact(self, signin_name: str) -> int:
        return self._m.add_contact(signin_name)

    @member("v", out="i")
    def RemoveContact(self, contact: Variant) -> int:
        return self._m.remove_contact(self._d.contact_arg(contact))

    @member("s", out="o")
    def CreateGroup(self, name: str) -> str:
        return self._d.group_path(self._m.create_group(name))

    @member("u", "s", out="i")
    async def SetStatus(self, status: int, message: str) -> int:
        return await self._m.set_status(status, message)

    @member(out="i")
    def Quit(self) -> int:
        return self._m.quit()

    @readable("ao")
    def MyContacts(self) -> list[str]:
        return [self._d.contact_path(k) for k in self._m.my_contacts()]

    @readable("ao")
    def MyGroups(self) -> list[str]:
        return [self._d.group_path(k) for k in self._m.my_groups()]

    @readable("s")
    def MySigninName(self) -> str:
        return self._m.my_signin_name()

    @readable("s")
    def MyFriendlyName(self) -> str:
        return self._m.my_friendly_name()

    @dbus_property()
    @typed(out="u")
    @guarded
    def MyStatus(self) -> int:
        return self._m.my_status()

    @MyStatus.setter  # type: ignore[no-redef]
    @guarded
    async def MyStatus(self, status: int) -> None:
        await self._m.set_status(status, None)

    @readable("s")
    def MyServiceId(self) -> str:
        account = self._m.primary_account()
        return self._d.accounts.path(account) if account else ""

    @readable("s")
    def MyServiceName(self) -> str:
        return "XMPP"

    @readable("o")
    def Window(self) -> str:
        return names.MAIN_WINDOW_PATH

    @readable("ao")
    def ConversationWindows(self) -> list[str]:
        windows = self._d.windows
        return [windows.hand_out(h) for h in windows.open_handles()]

    @readable("ao")
    def Accounts(self) -> list[str]:
        return [self._d.accounts.path(a) for a in self._m.account_list()]

    # -- DMessengerEvents (emitted by chinwag.automation.signals) ---------------------

    @emits("i")
    def OnSignin(self, hr: int) -> int:
        return hr

    @emits()
    def OnSignout(self) -> None:
        return None

    @emits("iu")
    def OnMyStatusChange(self, hr: int, status: int) -> list[Any]:
        return [hr, status]

    @emits("ou")
    def OnContactStatusChange(self, contact: str, status: int) -> list[Any]:
        return [contact, status]

    @emits("io")
    def OnContactListAdd(self, hr: int, contact: str) -> list[Any]:
        return [hr, contact]

    @emits("io")
    def OnContactListRemove(self, hr: int, contact: str) -> list[Any]:
        return [hr, contact]

    @emits("ios")
    def OnContactFriendlyNameChange(self, hr: int, contact: str, previous: str) -> list[Any]:
        return [hr, contact, previous]

    @emits("is")
    def OnMyFriendlyNameChange(self, hr: int, previous_name: str) -> list[Any]:
        return [hr, previous_name]

    @emits("iob")
    def OnContactBlockChange(self, hr: int, contact: str, blocked: bool) -> list[Any]:
        return [hr, contact, blocked]

    @emits("o")
    def OnIMWindowCreated(self, window: str) -> str:
        return window

    @emits("o")
    def OnIMWindowDestroyed(self, window: str) -> str:
        return window

    @emits("oo")
    def OnIMWindowContactAdded(self, contact: str, window: str) -> list[Any]:
        return [contact, window]

    @emits("oo")
    def OnIMWindowContactRemoved(self, contact: str, window: str) -> list[Any]:
        return [contact, window]

    @emits("io")
    def OnGroupAdded(self, hr: int, group: str) -> list[Any]:
        return [hr, group]

    @emits("io")
    def OnGroupRemoved(self, hr: int, group: str) -> list[Any]:
        return [hr, group]

    @emits("io")
    def OnGroupNameChanged(self, hr: int, group: str) -> list[Any]:
        return [hr, group]

    @emits("ioo")
    def OnContactAddedToGroup(self, hr: int, group: str, contact: str) -> list[Any]:
        return [hr, group, contact]

    @emits("ioo")
    def OnContactRemovedFromGroup(self, hr: int, group: str, contact: str) -> list[Any]:
        return [hr, group, contact]

    @emits()
    def OnAppShutdown(self) -> None:
        return None


def signin_options(options: dict[str, Variant]) -> dict[str, Any]:
    """SigninWithOptions' options, unwrapped; a known option of another D-Bus type than
    the spec's is InvalidArgument (the API checks names and values)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        wanted = names.SIGNIN_OPTIONS.get(key)
        if wanted is not None and value.signature != wanted:
            raise invalid(f"option {key!r} is {wanted!r}, not {value.signature!r}")
        out[key] = value.value
    return out


class Messages(ServiceInterface):
    """``im.chinwag.Messages1`` on ``/im/chinwag/Chinwag`` (one-off sending, catch-up)."""

    def __init__(self, dbus: DBusApi) -> None:
        super().__init__(names.MESSAGES)
        self._d = dbus
        self._m = dbus.api.messages

    @member("o", "s", "aa{sv}", "u", out="s")
    async def SendMessage(
        self, account: str, target_id: str, message: list[dict[str, Variant]], flags: int
    ) -> str:
        sender = self._d.account_path_arg(account, Code.INVALID_HANDLE)
        return await self._m.send_parts(sender, target_id, self._d.plain_parts(message), flags)

    @member("o", "x", "u", out="aaa{sv}")
    def GetReceived(self, account: str, after: int, limit: int) -> EncodedBody:
        owner = self._d.account_path_arg(account, Code.INVALID_ARGUMENT)
        return self._d.encoded_messages(self._m.received(owner, after, limit))

    @emits("aa{sv}us")
    def MessageSent(self, content: list[Any], flags: int, token: str) -> list[Any]:
        return [content, flags, token]

    @emits("aa{sv}")
    def MessageReceived(self, message: EncodedBody) -> EncodedBody:
        return message

    # Beyond the spec (it leaves room for more): a full disk. Received messages are then
    # held, unacknowledged, and written once there is room; "" means there is room again.
    @readable("s")
    def StorageProblem(self) -> str:
        return self._d.api.events.storage_problem

    @emits("s")
    def StorageChanged(self, problem: str) -> str:
        return problem


class WindowTarget(Protocol):
    """What ``Window1`` drives: the main window or one conversation-window handle."""

    def show(self) -> int: ...
    def close(self) -> int: ...
    def set_geometry(self, left: int, top: int, width: int, height: int) -> int: ...
    def release(self) -> int: ...
    def is_closed(self) -> bool: ...
    def hwnd(self) -> int: ...
    def frame(self) -> tuple[int, int, int, int]: ...


class Window(ServiceInterface):
    """``im.chinwag.Window1`` of the main window or of a conversation window."""

    def __init__(self, target: WindowTarget) -> None:
        super().__init__(names.WINDOW)
        self._target = target

    @member(out="i")
    def Show(self) -> int:
        return self._target.show()

    @member(out="i")
    def Close(self) -> int:
        return self._target.close()

    @member("i", "i", "i", "i", out="i")
    def SetGeometry(self, left: int, top: int, width: int, height: int) -> int:
        return self._target.set_geometry(left, top, width, height)

    @member(out="i")
    def Release(self) -> int:
        return self._target.release()

    @readable("b")
    def IsClosed(self) -> bool:
        return self._target.is_closed()

    @readable("t")
    def HWND(self) -> int:
        return self._target.hwnd()

    @readable("i")
    def Left(self) -> int:
        return self._target.frame()[0]

    @readable("i")
    def Top(self) -> int:
        return self._target.frame()[1]

    @readable("i")
    def Width(self) -> int:
        return self._target.frame()[2]

    @readable("i")
    def Height(self) -> int:
        return self._target.frame()[3]


class ConversationWindow(ServiceInterface):
    """``im.chinwag.ConversationWindow1`` of one conversation-window handle."""

    def __init__(self, dbus: DBusApi, handle: WindowHandle) -> None:
        super().__init__(names.CONVERSATION_WINDOW)
        self._d = dbus
        self._w = dbus.api.windows
        self._handle = handle

    @member("s", out="i")
    async def SendText(self, text: str) -> int:
        return await self._w.send_text(self._handle.view, text)

    @member("v", out="i")
    async def AddContact(self, contact: Variant) -> int:
        h = self._handle
        return await self._w.add_contact(
            (h.account, h.peer), h.view, self._d.contact_on(contact, h.account)
        )

    @readable("ao")
    def Contacts(self) -> list[str]:
        h = self._handle
        keys = self._w.contacts((h.account, h.peer), h.kind, h.view)
        return [self._d.contact_path(k) for k in keys]

    @readable("s")
    def History(self) -> str:
        return self._w.history(self._handle.view, self._handle.last_transcript)


class Contact(ServiceInterface):
    """``im.chinwag.Contact1`` of (account, bare address)."""

    def __init__(self, dbus: DBusApi, key: tuple[str, str]) -> None:
        super().__init__(names.CONTACT)
        self._d = dbus
        self._c = dbus.api.contacts
        self.key = key

    @readable("s")
    def SigninName(self) -> str:
        return self.key[1]

    @readable("s")
    def FriendlyName(self) -> str:
        return self._c.friendly_name(self.key)

    @readable("u")
    def Status(self) -> int:
        return self._c.status(self.key)

    @readable("s")
    def StatusMessage(self) -> str:
        return self._c.status_message(self.key)

    @readable("s")
    def ServiceName(self) -> str:
        return "XMPP"

    @readable("s")
    def ServiceId(self) -> str:
        return self._d.accounts.path(self.key[0])

    @readable("b")
    def IsSelf(self) -> bool:
        return self._c.is_self(self.key)

    @dbus_property()
    @typed(out="b")
    @guarded
    def Blocked(self) -> bool:
        return self._c.blocked(self.key)

    @Blocked.setter  # type: ignore[no-redef]
    @guarded
    async def Blocked(self, blocked: bool) -> None:
        await self._c.set_blocked(self.key, blocked)

    @readable("ao")
    def Groups(self) -> list[str]:
        return [self._d.group_path(k) for k in self._c.groups(self.key)]


class Group(ServiceInterface):
    """``im.chinwag.Group1`` of (account, group name); a renamed group keeps its object
    (the signal emitter re-keys it)."""

    def __init__(self, dbus: DBusApi, key: tuple[str, str]) -> None:
        super().__init__(names.GROUP)
        self._d = dbus
        self._g = dbus.api.groups
        self.key = key

    @dbus_property()
    @typed(out="s")
    @guarded
    def Name(self) -> str:
        return self.key[1]

    @Name.setter  # type: ignore[no-redef]
    @guarded
    async def Name(self, name: str) -> None:
        await self._g.rename(self.key, name)

    @readable("ao")
    def Contacts(self) -> list[str]:
        return [self._d.contact_path(k) for k in self._g.contacts(self.key)]

    @member("v", out="i")
    async def AddContact(self, contact: Variant) -> int:
        return await self._g.add_contact(self.key, self._d.contact_on(contact, self.key[0]))

    @member("v", out="i")
    async def RemoveContact(self, contact: Variant) -> int:
        return await self._g.remove_contact(self.key, self._d.contact_on(contact, self.key[0]))


class Account(ServiceInterface):
    """``im.chinwag.Account1`` of one account."""

    def __init__(self, dbus: DBusApi, jid: str) -> None:
        super().__init__(names.ACCOUNT)
        self._a = dbus.api.accounts
        self.jid = jid

    @readable("s")
    def SigninName(self) -> str:
        return self.jid

    @dbus_property()
    @typed(out="b")
    @guarded
    def Enabled(self) -> bool:
        return self._a.enabled(self.jid)

    @Enabled.setter  # type: ignore[no-redef]
    @guarded
    async def Enabled(self, enabled: bool) -> None:
        await self._a.set_enabled(self.jid, enabled)

    @readable("u")
    def Status(self) -> int:
        return self._a.status(self.jid)

    @readable("s")
    def Protocol(self) -> str:
        return "xmpp"
