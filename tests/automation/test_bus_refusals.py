"""Refused calls on the app's D-Bus connection (chinwag.automation.bus) are not errors.

dbus-next 0.2.3's ``SendReply.__exit__`` drops ``_exit``'s return value, so every
``DBusError`` a handler raised was raised again after its error reply went out and logged
by ``BaseMessageBus._on_message`` as an ERROR with a traceback (asyncio's "Exception in
callback" for coroutine methods): any bus client could fill the app's log. A refusal is
now at most one DEBUG line; a bug (any other exception) is still logged once, with its
traceback, and answered without one.

Real ``dbus-daemon``, two connections on the test's loop, no mocks.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from dbus_next import DBusError, Message, MessageType, Variant
from dbus_next.aio import MessageBus
from dbus_next.constants import PropertyAccess
from dbus_next.service import ServiceInterface, dbus_property, method

from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from rig.dbus import PrivateSessionBus

pytestmark = pytest.mark.dbus

PATH = "/im/chinwag/Test"
INTERFACE = "im.chinwag.Test.Refusals"
REFUSED = "im.chinwag.Test.Error.Refused"
# dbus-next reads D-Bus signatures from annotations; names keep ruff from taking "s" for one.
STRING = "s"
UINT32 = "u"


class Refusals(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(INTERFACE)

    @method()
    def Refuse(self, text: STRING) -> STRING:
        raise DBusError(REFUSED, f"no: {text}")

    @method()
    async def RefuseLater(self, text: STRING) -> STRING:
        await asyncio.sleep(0)
        raise DBusError(REFUSED, f"no: {text}")

    @method()
    def Crash(self, text: STRING) -> STRING:
        raise RuntimeError(f"a bug: {text}")

    @method()
    async def CrashLater(self, text: STRING) -> STRING:
        await asyncio.sleep(0)
        raise RuntimeError(f"a bug: {text}")

    @method()
    def Echo(self, text: STRING) -> STRING:
        return text

    @dbus_property(access=PropertyAccess.READ)
    def Fixed(self) -> UINT32:
        return 7

    @dbus_property(access=PropertyAccess.READ)
    def Hidden(self) -> UINT32:
        raise DBusError(REFUSED, "not for you")


@pytest.fixture
async def pair(dbus_bus: PrivateSessionBus) -> AsyncIterator[tuple[ChinwagMessageBus, MessageBus]]:
    """The service (the app's kind of bus, exporting :class:`Refusals`) and a stock
    dbus-next client."""
    opened: list[MessageBus] = []
    try:
        service = await connect_session_bus(dbus_bus.address)
        opened.append(service)
        client = MessageBus(bus_address=dbus_bus.address)
        opened.append(client)
        await client.connect()
        service.export(PATH, Refusals())
        yield service, client
    finally:
        for bus in opened:
            await close_message_bus(bus)


def _call(
    service: MessageBus,
    member: str,
    signature: str = "s",
    body: list[Any] | None = None,
    *,
    path: str = PATH,
    interface: str = INTERFACE,
) -> Message:
    return Message(
        destination=service.unique_name,
        path=path,
        interface=interface,
        member=member,
        signature=signature,
        body=["x"] if body is None else body,
    )


def _props(service: MessageBus, member: str, signature: str, body: list[Any]) -> Message:
    return _call(service, member, signature, body, interface="org.freedesktop.DBus.Properties")


#: (name, the call, the error the client gets)
REFUSED_CALLS: list[tuple[str, Callable[[MessageBus], Message], str]] = [
    ("DBusError", lambda s: _call(s, "Refuse"), REFUSED),
    ("DBusError-async", lambda s: _call(s, "RefuseLater"), REFUSED),
    (
        "unknown-path",
        lambda s: _call(s, "Echo", path="/im/chinwag/Nothing"),
        "org.freedesktop.DBus.Error.UnknownObject",
    ),
    (
        "wrong-signature",
        lambda s: _call(s, "Echo", "u", [1]),
        "org.freedesktop.DBus.Error.UnknownMethod",
    ),
    (
        "unknown-member",
        lambda s: _call(s, "Nope"),
        "org.freedesktop.DBus.Error.UnknownMethod",
    ),
    (
        "unknown-property",
        lambda s: _props(s, "Get", "ss", [INTERFACE, "Nope"]),
        "org.freedesktop.DBus.Error.UnknownProperty",
    ),
    (
        "read-only-property",
        lambda s: _props(s, "Set", "ssv", [INTERFACE, "Fixed", Variant("u", 1)]),
        "org.freedesktop.DBus.Error.PropertyReadOnly",
    ),
    (
        "property-getter-refuses",
        lambda s: _props(s, "Get", "ss", [INTERFACE, "Hidden"]),
        REFUSED,
    ),
]


def _tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [
        r.getMessage()
        for r in records
        if r.exc_info or "Traceback" in r.getMessage() or "Traceback" in (r.exc_text or "")
    ]


@pytest.mark.parametrize(
    ("make", "error"),
    [(make, error) for _name, make, error in REFUSED_CALLS],
    ids=[name for name, _make, _error in REFUSED_CALLS],
)
async def test_a_refused_call_logs_one_debug_line_at_most(
    pair: tuple[ChinwagMessageBus, MessageBus],
    caplog: pytest.LogCaptureFixture,
    make: Callable[[MessageBus], Message],
    error: str,
) -> None:
    service, client = pair
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    reply = await asyncio.wait_for(client.call(make(service)), 10)

    assert reply is not None
    assert reply.message_type is MessageType.ERROR
    assert reply.error_name == error, reply.body
    # The service logged before its reply could arrive (the same synchronous step).
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert not loud, [f"{r.levelname} {r.name}: {r.getMessage()[:300]}" for r in loud]
    assert not _tracebacks(caplog.records)
    assert len(caplog.records) <= 1, [r.getMessage() for r in caplog.records]
    # the connection goes on answering
    echo = await asyncio.wait_for(client.call(_call(service, "Echo", "s", ["ok"])), 10)
    assert echo is not None
    assert echo.body == ["ok"]


@pytest.mark.parametrize("member", ["Crash", "CrashLater"])
async def test_a_bug_is_logged_once_with_its_traceback_and_the_caller_sees_none(
    pair: tuple[ChinwagMessageBus, MessageBus],
    caplog: pytest.LogCaptureFixture,
    member: str,
) -> None:
    service, client = pair
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    reply = await asyncio.wait_for(client.call(_call(service, member)), 10)

    assert reply is not None
    assert reply.message_type is MessageType.ERROR
    assert reply.error_name == "org.freedesktop.DBus.Error.Failed"
    assert reply.body == ["an internal error occurred (RuntimeError)"]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage()[:300] for r in errors]
    assert errors[0].levelno == logging.ERROR
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)
    assert member in errors[0].getMessage()


async def test_the_reply_to_a_bug_can_be_the_apis_own(
    pair: tuple[ChinwagMessageBus, MessageBus],
) -> None:
    service, client = pair

    def fail(call: Message, exc: Exception) -> Message:
        return Message.new_error(call, "im.chinwag.Test.Error.Fail", type(exc).__name__)

    service.on_internal_error = fail
    reply = await asyncio.wait_for(client.call(_call(service, "Crash")), 10)

    assert reply is not None
    assert reply.error_name == "im.chinwag.Test.Error.Fail"
    assert reply.body == ["RuntimeError"]


async def test_no_reply_expected_gets_none_and_no_error_is_logged(
    pair: tuple[ChinwagMessageBus, MessageBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, client = pair
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    from dbus_next.constants import MessageFlag

    quiet = _call(service, "Refuse")
    quiet.flags = MessageFlag.NO_REPLY_EXPECTED
    await client.call(quiet)
    # a call with a reply after it: once it is answered, the first was handled
    echo = await asyncio.wait_for(client.call(_call(service, "Echo", "s", ["ok"])), 10)

    assert echo is not None
    assert echo.body == ["ok"]
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert not _tracebacks(caplog.records)
