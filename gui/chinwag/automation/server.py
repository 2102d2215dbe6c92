"""The automation API's life on the session bus: export the objects, own
``im.chinwag.Chinwag``, follow clients leaving the bus (their window handles go), answer
a second ``chinwag`` start, and close in order at shutdown.

The composition root calls :func:`running_instance` before building anything (a second
start hands over and exits), then :meth:`AutomationServer.start` once the windows exist."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dbus_next import Message, MessageType
from dbus_next.constants import NameFlag, RequestNameReply

from chinwag.api.messaging_errors import MessagingError
from chinwag.api.service import Api
from chinwag.automation import names
from chinwag.automation.adapter import DBusApi
from chinwag.automation.bus import ChinwagMessageBus, close_message_bus
from chinwag.automation.signals import SignalEmitter

if TYPE_CHECKING:
    from chinwag.api.ports import WindowHost
    from chinwag.core.service import ChinwagCore

log = logging.getLogger(__name__)

_DBUS = "org.freedesktop.DBus"
_NAME_GONE_RULE = (
    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
    "member='NameOwnerChanged',arg2=''"
)


async def _call_dbus(bus: ChinwagMessageBus, member: str, signature: str, body: list) -> Message:  # type: ignore[type-arg]
    reply = await bus.call(
        Message(
            destination=_DBUS,
            path="/org/freedesktop/DBus",
            interface=_DBUS,
            member=member,
            signature=signature,
            body=body,
        )
    )
    assert reply is not None
    if reply.message_type is MessageType.ERROR:
        raise RuntimeError(f"{member}: {reply.error_name}: {reply.body}")
    return reply


async def running_instance(bus: ChinwagMessageBus) -> bool:
    """True when another Chinwag owns the API's name on this bus."""
    reply = await _call_dbus(bus, "NameHasOwner", "s", [names.BUS_NAME])
    return bool(reply.body[0])


SHUTTING_DOWN = "Chinwag is shutting down"


async def hand_over(bus: ChinwagMessageBus, *, show: bool) -> str:
    """A second start: raise the running Chinwag's main window (``show``; else just
    knock). ``"handed over"``, ``"quitting"`` (it is shutting down: wait for the name to
    go, then start) or ``"no answer"``."""
    reply = await bus.call(
        Message(
            destination=names.BUS_NAME,
            path=names.MAIN_WINDOW_PATH,
            interface=names.WINDOW,
            member="Show" if show else "Release",
        )
    )
    if reply is not None and reply.message_type is MessageType.METHOD_RETURN:
        return "handed over"
    if reply is not None and reply.body and SHUTTING_DOWN in str(reply.body[0]):
        return "quitting"
    return "no answer"


async def wait_until_gone(bus: ChinwagMessageBus, timeout: float) -> bool:  # noqa: ASYNC109
    """Wait for the running Chinwag to release the name; False after ``timeout`` s."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while await running_instance(bus):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


class AutomationServer:
    """The exported API of one running Chinwag."""

    def __init__(
        self, core: ChinwagCore, host: WindowHost, bus: ChinwagMessageBus, api: Api | None = None
    ) -> None:
        self.bus = bus
        #: The API's behaviour, shared with any other front (made here when none is given).
        self._own_api = api is None
        self.api = api if api is not None else Api(core, host)
        self.dbus = DBusApi(self.api, bus)
        self.signals = SignalEmitter(self.dbus)
        self._closed = False
        bus.on_bad_signature = _bad_signature
        bus.on_internal_error = _internal_error

    @classmethod
    async def start(
        cls,
        core: ChinwagCore,
        host: WindowHost,
        bus: ChinwagMessageBus,
        api: Api | None = None,
    ) -> AutomationServer | None:
        """Export everything, then own the name (so the API is whole once the name is
        visible). None when another Chinwag got the name first."""
        server = cls(core, host, bus, api)
        server.dbus.export()
        host.on_created(server.signals.window_created)
        host.on_destroyed(server.signals.window_destroyed)
        host.on_replaced(server.signals.window_replaced)
        bus.add_message_handler(server._on_bus_message)
        await _call_dbus(bus, "AddMatch", "s", [_NAME_GONE_RULE])
        reply = await bus.request_name(names.BUS_NAME, NameFlag.DO_NOT_QUEUE)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            log.info("another Chinwag owns %s", names.BUS_NAME)
            server.signals.close()
            if server._own_api:
                server.api.close()
            return None
        log.info("automation API on the session bus as %s", names.BUS_NAME)
        return server

    def _on_bus_message(self, msg: Message) -> bool:
        if (
            msg.message_type is MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and msg.sender == _DBUS
        ):
            name, _old, new = msg.body
            if not new and name.startswith(":"):
                self.dbus.windows.client_gone(name)
                self.dbus.conversations.client_gone(name)
        return False  # let dbus-next see it too

    async def close(self) -> None:
        """Tell scripts the app is going (OnAppShutdown), then leave the bus once every
        queued signal and reply is written."""
        if self._closed:
            return
        self._closed = True
        self.dbus.messenger.OnAppShutdown()
        # From now on nothing new starts: a window opened now would outlive close_all().
        self.bus.refuse_calls = _shutting_down

    async def disconnect(self) -> None:
        """Last, after the windows closed and the core signed out (their signals went
        out): stop listening, write what is queued, leave the bus."""
        self.signals.close()
        if self._own_api:
            self.api.close()
        try:
            await self.bus.flush()
        except ConnectionError:
            log.debug("the bus went before the last signals were written")
        await close_message_bus(self.bus)


def _shutting_down(msg: Message) -> Message:
    error = names.api_error("Fail", SHUTTING_DOWN)
    return Message.new_error(msg, error.type, error.text)


def _internal_error(msg: Message, exc: Exception) -> Message:
    # As chinwag.automation.interfaces answers a member's unexpected exception: Fail, and
    # no Python traceback for the script.
    error = names.api_error("Fail", f"an internal error occurred ({type(exc).__name__})")
    return Message.new_error(msg, error.type, error.text)


def _bad_signature(msg: Message, member: str, expected: str) -> Message:
    if msg.member == "Set":
        got = msg.body[2].signature
        text = f"the property {member} is of type {expected!r}, not {got!r}"
        interface = msg.body[0]
    else:
        text = f"{member} takes ({expected}), not ({msg.signature})"
        interface = msg.interface
    if interface in _MESSAGING_INTERFACES:
        # The Conversations API refuses in its own family (conversations-api.md section
        # 2): 10001, im.chinwag.Error.Messaging.InvalidArguments.
        refusal = MessagingError(10001, text)
        return Message.new_error(msg, names.MESSAGING_ERROR_PREFIX + refusal.name, str(refusal))
    error = names.api_error("InvalidArgument", text)
    return Message.new_error(msg, error.type, error.text)


_MESSAGING_INTERFACES = frozenset((names.CONVERSATIONS, names.CONVERSATION))
