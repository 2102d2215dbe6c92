"""Argument checks of the automation API, without starting the app: the real API (the
automation server over the real core, signed in over a fake connection) on a private
dbus-daemon in the test process, driven over D-Bus and by ``chinwag-remote`` as a process.

These were end-to-end tests; what they check is the API's answer to a malformed argument,
which needs neither Prosody nor the app as a process (``tests/e2e`` keeps what does).
Names and codes are written out from the spec (``docs/automation-api.md``) on purpose."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Message, MessageType, Variant

from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from rig.dbus import PrivateSessionBus
from rig.fakes import ApiRig

pytestmark = pytest.mark.dbus

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
HRESULTS = {"InvalidArgument": 0x80070057, "InvalidHandle": 0x80004005}
REMOTE = [sys.executable, "-m", "chinwag.cli.remote"]
PROCESS_TIMEOUT = 60.0


class Client:
    def __init__(self, bus: ChinwagMessageBus) -> None:
        self.bus = bus
        self.signals: list[tuple[str, list[Any]]] = []

    async def call(self, path: str, interface: str, member: str, sig: str, *args: Any) -> Any:
        reply = await self.bus.call(
            Message(
                destination=BUS_NAME,
                path=path,
                interface=interface,
                member=member,
                signature=sig,
                body=list(args),
            )
        )
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise ApiError(str(reply.error_name), reply.body[0] if reply.body else "")
        return reply.body[0] if len(reply.body) == 1 else reply.body


class ApiError(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


@pytest.fixture
async def api(dbus_bus: PrivateSessionBus, tmp_path: Path) -> AsyncIterator[tuple[ApiRig, Client]]:
    rig = await ApiRig.start(tmp_path, dbus_bus.address)
    client = Client(await connect_session_bus(dbus_bus.address))

    def on_message(msg: Message) -> bool:
        if msg.message_type is MessageType.SIGNAL and msg.interface == MESSENGER:
            client.signals.append((str(msg.member), list(msg.body)))
        return False

    client.bus.add_message_handler(on_message)
    await client.bus.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="AddMatch",
            signature="s",
            body=[f"type='signal',sender='{BUS_NAME}'"],
        )
    )
    try:
        yield rig, client
    finally:
        await close_message_bus(client.bus)
        await rig.close()


def api_error_problem(error: ApiError, name: str) -> str | None:
    """What is wrong with ``error`` for the spec's ``im.chinwag.Error.<name>``."""
    if error.name != f"im.chinwag.Error.{name}":
        return f"{error.name}: {error.text}"
    if not re.match(rf"^0x{HRESULTS[name]:08X}: \S", error.text):
        return f"right name, but the message is {error.text!r}"
    return None


async def remote(env_address: str, *args: str) -> tuple[int, str, str]:
    """Run chinwag-remote against the bus at ``env_address``: (exit code, out, err)."""
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        "--bus-address",
        env_address,
        *args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"chinwag-remote {' '.join(args)} did not end") from None
    assert proc.returncode is not None
    assert "Traceback" not in err.decode(), err.decode()
    return proc.returncode, out.decode(), err.decode()


async def test_instant_message_bad_contacts_are_invalid_arguments(
    api: tuple[ApiRig, Client],
) -> None:
    rig, client = api
    bad = [
        Variant("s", ""),
        Variant("s", "   "),
        Variant("s", "a@@b"),
        Variant("s", "bad space@x"),
        Variant("s", "@x"),
        Variant("s", "bob@"),
        Variant("s", "x" * 1100 + "@localhost"),  # local part over 1023 bytes
        Variant("s", "bob@" + "d" * 1100),  # domain over 1023 bytes
        Variant("i", 5),
        Variant("as", ["bob@localhost"]),
        Variant("b", True),
        Variant("u", 2),
        Variant("v", Variant("s", "bob@localhost")),
        Variant("o", f"{ROOT}/account/1"),  # an object path, but not a contact's
        Variant("o", "/nowhere"),
    ]
    failures = []
    for contact in bad:
        try:
            got = await client.call(ROOT, MESSENGER, "InstantMessage", "v", contact)
        except ApiError as error:
            problem = api_error_problem(error, "InvalidArgument")
        else:
            problem = f"answered {got!r}"
        if problem is not None:
            failures.append(f"{contact!r}: {problem}")
    assert not failures, "\n".join(failures)
    await client.call(ROOT, "org.freedesktop.DBus.Properties", "Get", "ss", MESSENGER, "MyStatus")
    assert [m for m, _ in client.signals if m == "OnIMWindowCreated"] == []
    assert await client.call(
        ROOT, "org.freedesktop.DBus.Properties", "Get", "ss", MESSENGER, "ConversationWindows"
    ) == Variant("ao", [])
    assert rig.host.windows == {}


async def test_send_to_a_malformed_address_is_invalid_handle(
    api: tuple[ApiRig, Client], dbus_bus: PrivateSessionBus
) -> None:
    code, out, err = await remote(dbus_bus.address, "send", "not an address", "hi")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"chinwag-remote: InvalidHandle: 0x80004005: \S.*\n", err), err


async def test_open_a_malformed_address_is_invalid_argument(
    api: tuple[ApiRig, Client], dbus_bus: PrivateSessionBus
) -> None:
    rig, _client = api
    code, out, err = await remote(dbus_bus.address, "open", "not an address")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"chinwag-remote: InvalidArgument: 0x80070057: \S.*\n", err), err
    assert rig.host.windows == {}


async def test_signin_a_malformed_address_is_invalid_argument(
    api: tuple[ApiRig, Client], dbus_bus: PrivateSessionBus
) -> None:
    rig, _client = api
    code, out, err = await remote(dbus_bus.address, "signin", "not an address", "pw")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"chinwag-remote: InvalidArgument: 0x80070057: \S.*\n", err), err
    assert [a.jid for a in rig.core.accounts.accounts] == ["me@localhost"]
