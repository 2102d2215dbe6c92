"""chinwag-remote as a process against a real private ``dbus-daemon``.

Without Chinwag: every command exits 3 at once with a clear message, nothing is
D-Bus-activated, and a missing session bus is exit 3 too.

With a stand-in: a small service in this test process owns ``im.chinwag.Chinwag`` and
answers a few members with the spec's signatures. It does what the CLI must cope with
however the real server behaves -- delivery reports sent *before* SendMessage's reply,
error replies, signals, leaving the bus -- so the CLI's own handling is checked
deterministically here; ``tests/e2e/test_remote.py`` runs it against the real app.
"""

# No "from __future__ import annotations": dbus-next reads the D-Bus signatures from the
# annotations at run time (named constants keep ruff from parsing "aa{sv}" as Python).

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from dbus_next.aio.message_bus import MessageBus
from dbus_next.constants import PropertyAccess, RequestNameReply
from dbus_next.service import ServiceInterface, dbus_property, method
from dbus_next.service import signal as dbus_signal
from dbus_next.signature import Variant

from chinwag.automation.bus import close_message_bus, connect_session_bus
from chinwag.automation.names import (
    ACCOUNT,
    BUS_NAME,
    MESSAGES,
    MESSENGER,
    MESSENGER_PATH,
    api_error,
)
from rig.dbus import PrivateSessionBus

pytestmark = pytest.mark.dbus

REMOTE = [sys.executable, "-m", "chinwag.cli.remote"]
COMMANDS = [
    ["send", "bob@example.org", "hi"],
    ["send", "--wait", "delivered", "bob@example.org", "hi"],
    ["open", "bob@example.org"],
    ["status"],
    ["status", "away", "gone fishing"],
    ["contacts"],
    ["signin"],
    ["signin", "--wait", "me@example.org", "pw"],
    ["signout"],
    ["watch"],
    ["quit"],
    ["show"],
]
# Long enough for a loaded machine; a CLI that hangs is caught well before pytest's timeout.
PROCESS_TIMEOUT = 60.0

OBJECT = "o"
STRING = "s"
UINT32 = "u"
INT32 = "i"
VARIANT = "v"
PARTS = "aa{sv}"
SENT = "aa{sv}us"
HR_WINDOW = "io"
STATUS_CHANGE = "ou"


def run_remote_sync(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run chinwag-remote to its end (it must end: a hang fails the test)."""
    return subprocess.run(
        [*REMOTE, *args],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


async def run_remote(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run chinwag-remote on the test's loop (the stand-in answers meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        *args,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), PROCESS_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"chinwag-remote {' '.join(args)} did not end") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr


# --------------------------------------------------------------------------- no Chinwag


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_every_command_exits_3_when_chinwag_is_not_running(
    dbus_bus: PrivateSessionBus, argv: list[str]
) -> None:
    result = run_remote_sync(*argv)
    assert result.returncode == 3, result
    assert result.stdout == ""
    assert result.stderr == (
        "chinwag-remote: Chinwag is not running "
        "(nobody owns im.chinwag.Chinwag on the session bus)\n"
    )


def test_bus_address_option_wins_over_the_environment(dbus_bus: PrivateSessionBus) -> None:
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/bus")
    result = run_remote_sync("--bus-address", dbus_bus.address, "status", env=env)
    assert result.returncode == 3
    assert "Chinwag is not running" in result.stderr


@pytest.mark.parametrize(
    "env_change",
    [
        {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/chinwag-test-bus"},
        {"DBUS_SESSION_BUS_ADDRESS": None, "DISPLAY": None},
    ],
    ids=["dead-address", "no-address"],
)
def test_no_session_bus_exits_3(env_change: dict[str, str | None]) -> None:
    env = dict(os.environ)
    for key, value in env_change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    result = run_remote_sync("send", "bob@example.org", "hi", env=env)
    assert result.returncode == 3
    assert result.stderr.startswith("chinwag-remote: cannot connect to the session bus: ")
    assert_no_traceback(result.stderr)


@pytest.fixture
def activatable_bus(tmp_path: Path) -> Iterator[tuple[PrivateSessionBus, Path]]:
    """A private bus on which im.chinwag.Chinwag is D-Bus-activatable: activating it runs
    a script that leaves a marker file (and owns nothing)."""
    marker = tmp_path / "activated"
    script = tmp_path / "activate.sh"
    script.write_text(f'#!/bin/sh\necho activated > "{marker}"\n')
    script.chmod(0o755)
    services = tmp_path / "services"
    services.mkdir()
    (services / f"{BUS_NAME}.service").write_text(
        f"[D-BUS Service]\nName={BUS_NAME}\nExec={script}\n"
    )
    bus = PrivateSessionBus(service_dirs=[services])
    try:
        bus.start()
        yield bus, marker
    finally:
        bus.stop()


def test_a_missing_chinwag_is_never_activated(
    activatable_bus: tuple[PrivateSessionBus, Path],
) -> None:
    bus, marker = activatable_bus
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=bus.address)
    for argv in (["status"], ["send", "bob@example.org", "hi"], ["quit"]):
        result = run_remote_sync(*argv, env=env)
        assert result.returncode == 3, result
    assert not marker.exists()
    # the premise: this bus does activate the name when asked to
    started = subprocess.run(
        [
            "dbus-send",
            f"--bus={bus.address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.StartServiceByName",
            f"string:{BUS_NAME}",
            "uint32:0",
        ],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert marker.exists(), started.stderr


# --------------------------------------------------------------------------- a stand-in


class StandInMessages(ServiceInterface):
    """Messages1 with SendMessage and both signals; reports go out before the reply."""

    def __init__(self) -> None:
        super().__init__(MESSAGES)
        self.calls: list[tuple[str, str, list[dict[str, Any]], int]] = []
        self.report_status: int | None = 1  # delivery-status of the report; None: none
        self.error_message = ""

    @method()
    def SendMessage(
        self, account: OBJECT, target_id: STRING, message: PARTS, flags: UINT32
    ) -> STRING:  # type: ignore[valid-type]
        token = f"token-{len(self.calls) + 1}"
        self.calls.append((account, target_id, message, flags))
        self.MessageSent(message, flags, token)
        if self.report_status is not None:
            header = {
                "message-type": Variant("u", 4),
                "message-sender-id": Variant("s", target_id),
                "message-received": Variant("x", 1_700_000_000),
                "message-token": Variant("s", f"report-{token}"),
                "account": Variant("o", "/im/chinwag/Chinwag/account/1"),
                "delivery-status": Variant("u", self.report_status),
                "delivery-token": Variant("s", token),
            }
            if self.error_message:
                header["delivery-error-message"] = Variant("s", self.error_message)
            # a report for somebody else's message first: it must not count
            other = dict(header, **{"delivery-token": Variant("s", "another-token")})
            self.MessageReceived([other])
            self.MessageReceived([header])
        return token

    @dbus_signal()
    def MessageSent(self, content: PARTS, flags: UINT32, token: STRING) -> SENT:  # type: ignore[valid-type]
        return [content, flags, token]  # type: ignore[return-value]

    @dbus_signal()
    def MessageReceived(self, message: PARTS) -> PARTS:  # type: ignore[valid-type]
        return message


class StandInMessenger(ServiceInterface):
    """Messenger1 with InstantMessage, SetStatus (refused: not signed in) and a signal."""

    def __init__(self) -> None:
        super().__init__(MESSENGER)
        self.opened: list[Variant] = []

    @method()
    def InstantMessage(self, contact: VARIANT) -> HR_WINDOW:  # type: ignore[valid-type]
        self.opened.append(contact)
        return [1 if len(self.opened) > 1 else 0, "/im/chinwag/Chinwag/window/7"]  # type: ignore[return-value]

    @method()
    def SetStatus(self, status: UINT32, message: STRING) -> INT32:  # type: ignore[valid-type]
        raise api_error("NotLoggedOn", "not signed in")

    @dbus_signal()
    def OnContactStatusChange(self, contact: OBJECT, status: UINT32) -> STATUS_CHANGE:  # type: ignore[valid-type]
        return [contact, status]  # type: ignore[return-value]


class StandIn:
    """The stand-in service: its bus connection and its two interfaces."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.messages = StandInMessages()
        self.messenger = StandInMessenger()


@pytest.fixture
async def stand_in(dbus_bus: PrivateSessionBus) -> AsyncIterator[StandIn]:
    bus = await connect_session_bus(dbus_bus.address)
    try:
        service = StandIn(bus)
        bus.export(MESSENGER_PATH, service.messages)
        bus.export(MESSENGER_PATH, service.messenger)
        assert await bus.request_name(BUS_NAME) == RequestNameReply.PRIMARY_OWNER
        yield service
    finally:
        await close_message_bus(bus)


def _text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(p["content"].value for p in parts[1:] if "content" in p)


async def test_send_text_from_arguments_and_from_stdin(stand_in: StandIn) -> None:
    code, out, err = await run_remote("send", "bob@example.org", "hello", "bob")
    assert (code, out, err) == (0, "token-1\n", "")
    code, out, err = await run_remote("send", "bob@example.org", stdin=b"line one\nline two\n")
    assert (code, out, err) == (0, "token-2\n", "")
    code, out, _err = await run_remote(
        "send", "--type", "action", "bob@example.org", "-", stdin=b"waves\n"
    )
    assert (code, out) == (0, "token-3\n")
    calls = stand_in.messages.calls
    assert [(a, t, _text_of(m), f) for a, t, m, f in calls] == [
        ("/", "bob@example.org", "hello bob", 0),
        ("/", "bob@example.org", "line one\nline two", 0),
        ("/", "bob@example.org", "waves", 0),
    ]
    assert [m[0]["message-type"].value for _a, _t, m, _f in calls] == [0, 0, 1]
    assert all(m[1]["content-type"].value == "text/plain" for _a, _t, m, _f in calls)


async def test_send_refuses_an_empty_message_without_sending(stand_in: StandIn) -> None:
    code, out, err = await run_remote("send", "bob@example.org", stdin=b"\n")
    assert (code, out) == (2, "")
    assert err == "chinwag-remote: nothing to send: the message is empty\n"
    assert stand_in.messages.calls == []


@pytest.mark.parametrize("wait", ["sent", "delivered"])
async def test_send_wait_sees_reports_that_beat_the_reply(stand_in: StandIn, wait: str) -> None:
    code, out, err = await run_remote("-v", "send", "--wait", wait, "bob@example.org", "hi")
    assert (code, out) == (0, "token-1\n"), err
    assert "token-1: sent" in err
    assert ("token-1: delivered" in err) is (wait == "delivered")
    assert stand_in.messages.calls[0][3] == (1 if wait == "delivered" else 0)


async def test_send_wait_read_times_out_with_exit_4_after_printing_the_token(
    stand_in: StandIn,
) -> None:
    code, out, err = await run_remote(
        "send", "--wait", "read", "--timeout", "0.5", "bob@example.org", "hi"
    )
    assert (code, out) == (4, "token-1\n")
    assert err == "chinwag-remote: timed out waiting for the message to be read\n"
    assert stand_in.messages.calls[0][3] == 3  # Report_Delivery | Report_Read


async def test_send_wait_delivered_fails_with_exit_1_on_a_permanent_failure(
    stand_in: StandIn,
) -> None:
    stand_in.messages.report_status = 3
    stand_in.messages.error_message = "recipient-unavailable"
    code, out, err = await run_remote("send", "--wait", "delivered", "bob@example.org", "hi")
    assert (code, out) == (1, "token-1\n")
    assert err == "chinwag-remote: not delivered: recipient-unavailable\n"


async def test_an_api_error_exits_1_with_its_name_and_message(stand_in: StandIn) -> None:
    code, out, err = await run_remote("status", "away", "lunch")
    assert (code, out) == (1, "")
    assert err == "chinwag-remote: NotLoggedOn: 0x8100031E: not signed in\n"


async def test_an_unknown_member_is_exit_1_not_a_traceback(stand_in: StandIn) -> None:
    code, out, err = await run_remote("show")  # the stand-in exports no main window
    assert (code, out) == (1, "")
    assert err.startswith("chinwag-remote: org.freedesktop.DBus.Error.")
    assert_no_traceback(err)


async def test_open_prints_the_window_and_s_false_only_with_v(stand_in: StandIn) -> None:
    assert await run_remote("open", "bob@example.org") == (0, "/im/chinwag/Chinwag/window/7\n", "")
    code, out, err = await run_remote("open", "bob@example.org")  # S_FALSE from now on
    assert (code, out, err) == (0, "/im/chinwag/Chinwag/window/7\n", "")
    code, out, err = await run_remote("-v", "open", "/im/chinwag/Chinwag/contact/2")
    assert (code, out) == (0, "/im/chinwag/Chinwag/window/7\n")
    assert "S_FALSE" in err
    opened = [(v.signature, v.value) for v in stand_in.messenger.opened]
    assert opened == [
        ("s", "bob@example.org"),
        ("s", "bob@example.org"),
        ("o", "/im/chinwag/Chinwag/contact/2"),
    ]


async def _start_watch(*args: str, stdout: Any = subprocess.PIPE) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        "-v",
        "watch",
        *args,
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stderr is not None
    ready = await asyncio.wait_for(proc.stderr.readline(), PROCESS_TIMEOUT)
    assert ready == b"chinwag-remote: watching; Ctrl-C to stop\n"
    return proc


async def _end(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """Wait for the process to end by itself; its exit code and the rest of stderr."""
    assert proc.stderr is not None
    try:
        err = await asyncio.wait_for(proc.stderr.read(), PROCESS_TIMEOUT)
        code = await asyncio.wait_for(proc.wait(), PROCESS_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("chinwag-remote watch did not end") from None
    return code, err.decode()


async def test_watch_prints_json_lines_and_ends_with_0_on_sigterm(stand_in: StandIn) -> None:
    proc = await _start_watch()
    assert proc.stdout is not None
    try:
        stand_in.messenger.OnContactStatusChange("/im/chinwag/Chinwag/contact/1", 0x22)
        header = {"message-type": Variant("u", 0), "message-sender-id": Variant("s", "bob@x")}
        body = {"content-type": Variant("s", "text/plain"), "content": Variant("s", "hi")}
        stand_in.messages.MessageReceived([header, body])
        first = await asyncio.wait_for(proc.stdout.readline(), PROCESS_TIMEOUT)
        second = await asyncio.wait_for(proc.stdout.readline(), PROCESS_TIMEOUT)
    finally:
        proc.send_signal(signal.SIGTERM)
    code, err = await _end(proc)
    assert (code, err) == (0, "")
    assert json.loads(first) == {
        "signal": "OnContactStatusChange",
        "interface": "im.chinwag.Messenger1",
        "path": "/im/chinwag/Chinwag",
        "args": ["/im/chinwag/Chinwag/contact/1", 0x22],
    }
    assert json.loads(second) == {
        "signal": "MessageReceived",
        "interface": "im.chinwag.Messages1",
        "path": "/im/chinwag/Chinwag",
        "args": [
            [
                {"message-type": 0, "message-sender-id": "bob@x"},
                {"content-type": "text/plain", "content": "hi"},
            ]
        ],
    }


async def test_watch_signal_filter_and_sigint(stand_in: StandIn) -> None:
    proc = await _start_watch("--signal", "MessageSent")
    assert proc.stdout is not None
    try:
        stand_in.messenger.OnContactStatusChange("/im/chinwag/Chinwag/contact/1", 2)
        stand_in.messages.MessageSent([{}], 0, "tok")
        line = await asyncio.wait_for(proc.stdout.readline(), PROCESS_TIMEOUT)
    finally:
        proc.send_signal(signal.SIGINT)
    code, err = await _end(proc)
    assert (code, err) == (0, "")
    assert json.loads(line)["signal"] == "MessageSent"
    assert json.loads(line)["args"] == [[{}], 0, "tok"]
    assert await proc.stdout.read() == b""  # OnContactStatusChange was left out


async def test_watch_exits_3_when_chinwag_leaves_the_bus(stand_in: StandIn) -> None:
    proc = await _start_watch()
    await stand_in.bus.release_name(BUS_NAME)
    code, err = await _end(proc)
    assert code == 3
    assert err == "chinwag-remote: Chinwag left the bus while waiting for signals\n"


async def test_watch_ends_with_0_when_the_reader_of_stdout_goes_away(stand_in: StandIn) -> None:
    read_end, write_end = os.pipe()
    try:
        proc = await _start_watch(stdout=write_end)
    finally:
        os.close(write_end)
    os.close(read_end)  # no signal is sent: the watcher must notice the hang-up itself
    code, err = await _end(proc)
    assert (code, err) == (0, "")


async def test_a_closed_stdout_is_a_quiet_exit_0(stand_in: StandIn) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # whatever chinwag-remote prints now meets EPIPE
    try:
        proc = await asyncio.create_subprocess_exec(
            *REMOTE, "open", "bob@example.org", stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    code, err = await _end(proc)
    assert (code, err) == (0, "")
    assert len(stand_in.messenger.opened) == 1


@contextlib.contextmanager
def sigint_as_at_a_terminal() -> Iterator[None]:
    """Children started meanwhile get SIGINT's default disposition, as a command typed at
    a terminal does. A test run started as a background job of a script has SIGINT
    ignored (POSIX shells do that without job control), and its children inherit that;
    a handler, unlike SIG_IGN, is reset to the default by exec."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


async def test_ctrl_c_while_waiting_is_exit_130_without_a_traceback(stand_in: StandIn) -> None:
    stand_in.messages.report_status = None  # nothing will ever be reported
    with sigint_as_at_a_terminal():
        proc = await asyncio.create_subprocess_exec(
            *REMOTE,
            "send",
            "--wait",
            "delivered",
            "--timeout",
            "0",
            "bob@example.org",
            "hi",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    assert proc.stdout is not None
    try:  # the token is printed once the message is stored; then it waits for ever
        token = await asyncio.wait_for(proc.stdout.readline(), PROCESS_TIMEOUT)
    finally:
        proc.send_signal(signal.SIGINT)
    assert token == b"token-1\n"
    assert await _end(proc) == (130, "")


# --------------------------------------------------------------------------- received

ACCOUNT_1 = "/im/chinwag/Chinwag/account/1"
ACCOUNT_1_NAME = "me@example.org"
MESSAGES_LIST = "aaa{sv}"
OBJECTS = "ao"
SEQUENCE = "x"


def received_message(sequence: int) -> list[dict[str, Variant]]:
    """What the stand-in holds as message ``sequence``: a message from bob, or (every
    third) a delivery report, as MessageReceived would carry them."""
    header = {
        "message-token": Variant("s", f"m-{sequence}"),
        "message-sender-id": Variant("s", "bob@example.org"),
        "message-received": Variant("x", 1_700_000_000 + sequence),
        "account": Variant("o", ACCOUNT_1),
        "message-sequence": Variant("x", sequence),
    }
    if sequence % 3 == 0:
        header["message-type"] = Variant("u", 4)
        header["delivery-status"] = Variant("u", 1)
        header["delivery-token"] = Variant("s", f"token-{sequence}")
        return [header]
    header["message-type"] = Variant("u", 0)
    body = {"content-type": Variant("s", "text/plain"), "content": Variant("s", f"nº {sequence}")}
    return [header, body]


class ReceivedStandInMessages(StandInMessages):
    """The Messages1 stand-in plus GetReceived (spec 6a) over ``held``, sequences 1..n.

    ``repeat`` makes it answer the first page whatever ``after`` is (a broken server: a
    client paging by the last sequence would ask for ever)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[list[dict[str, Variant]]] = []
        self.received_calls: list[tuple[str, int, int]] = []
        self.repeat = False

    def hold(self, count: int) -> None:
        self.held = [received_message(n) for n in range(1, count + 1)]

    @method()
    def GetReceived(self, account: OBJECT, after: SEQUENCE, limit: UINT32) -> MESSAGES_LIST:  # type: ignore[valid-type]
        self.received_calls.append((account, after, limit))
        if account not in ("/", ACCOUNT_1):
            raise api_error("InvalidArgument", f"{account} is not an account")
        if not 1 <= limit <= 1000:
            raise api_error("InvalidArgument", f"limit is from 1 to 1000, not {limit}")
        start = 0 if self.repeat else max(after, 0)
        return self.held[start : start + limit]  # type: ignore[return-value]


class ReceivedStandInMessenger(StandInMessenger):
    """The Messenger1 stand-in plus the Accounts property (for ``--account ADDRESS``)."""

    @dbus_property(access=PropertyAccess.READ)
    def Accounts(self) -> OBJECTS:  # type: ignore[valid-type]
        return [ACCOUNT_1]  # type: ignore[return-value]


class StandInAccount(ServiceInterface):
    """Account1 of account 1: its SigninName."""

    def __init__(self) -> None:
        super().__init__(ACCOUNT)

    @dbus_property(access=PropertyAccess.READ)
    def SigninName(self) -> STRING:  # type: ignore[valid-type]
        return ACCOUNT_1_NAME


@pytest.fixture
async def received_stand_in(dbus_bus: PrivateSessionBus) -> AsyncIterator[StandIn]:
    """The stand-in with GetReceived, Accounts and one account object."""
    bus = await connect_session_bus(dbus_bus.address)
    try:
        service = StandIn(bus)
        service.messages = ReceivedStandInMessages()
        service.messenger = ReceivedStandInMessenger()
        bus.export(MESSENGER_PATH, service.messages)
        bus.export(MESSENGER_PATH, service.messenger)
        bus.export(ACCOUNT_1, StandInAccount())
        assert await bus.request_name(BUS_NAME) == RequestNameReply.PRIMARY_OWNER
        yield service
    finally:
        await close_message_bus(bus)


def _received(stand_in: StandIn) -> ReceivedStandInMessages:
    assert isinstance(stand_in.messages, ReceivedStandInMessages)
    return stand_in.messages


def _sequences(out: str) -> list[int]:
    assert out.endswith("\n") or out == "", out
    return [json.loads(line)[0]["message-sequence"] for line in out.splitlines()]


async def test_received_prints_each_message_as_one_json_line_oldest_first(
    received_stand_in: StandIn,
) -> None:
    messages = _received(received_stand_in)
    messages.hold(3)
    code, out, err = await run_remote("received")
    assert (code, err) == (0, "")
    assert messages.received_calls == [("/", 0, 1000)]
    lines = out.split("\n")
    assert lines[-1] == ""  # every line ends with a line break, nothing after the last
    assert [json.loads(line) for line in lines[:-1]] == [
        [
            {
                "message-token": "m-1",
                "message-sender-id": "bob@example.org",
                "message-received": 1_700_000_001,
                "account": ACCOUNT_1,
                "message-sequence": 1,
                "message-type": 0,
            },
            {"content-type": "text/plain", "content": "nº 1"},
        ],
        [
            {
                "message-token": "m-2",
                "message-sender-id": "bob@example.org",
                "message-received": 1_700_000_002,
                "account": ACCOUNT_1,
                "message-sequence": 2,
                "message-type": 0,
            },
            {"content-type": "text/plain", "content": "nº 2"},
        ],
        [
            {
                "message-token": "m-3",
                "message-sender-id": "bob@example.org",
                "message-received": 1_700_000_003,
                "account": ACCOUNT_1,
                "message-sequence": 3,
                "message-type": 4,
                "delivery-status": 1,
                "delivery-token": "token-3",
            }
        ],
    ]
    assert "nº 1" in out  # non-ASCII as is, like watch


async def test_received_lines_are_what_watch_prints_as_message_received_argument(
    received_stand_in: StandIn,
) -> None:
    messages = _received(received_stand_in)
    messages.hold(3)
    proc = await _start_watch("--signal", "MessageReceived")
    assert proc.stdout is not None
    try:
        for message in messages.held:
            messages.MessageReceived(message)
        watched = [
            json.loads(await asyncio.wait_for(proc.stdout.readline(), PROCESS_TIMEOUT))
            for _message in messages.held
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
    assert (await _end(proc))[0] == 0
    code, out, err = await run_remote("received")
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == [w["args"][0] for w in watched]


async def test_received_after_and_limit_make_one_call(received_stand_in: StandIn) -> None:
    messages = _received(received_stand_in)
    messages.hold(1500)
    code, out, err = await run_remote("received", "--after", "4", "--limit", "3")
    assert (code, err) == (0, "")
    assert _sequences(out) == [5, 6, 7]
    assert messages.received_calls == [("/", 4, 3)]
    # without --all, one call even when more is left: the first 1,000
    code, out, err = await run_remote("received")
    assert (code, err) == (0, "")
    assert _sequences(out) == list(range(1, 1001))
    assert messages.received_calls[1:] == [("/", 0, 1000)]
    # nothing after the last: nothing printed, exit 0
    assert await run_remote("received", "--after", "1500") == (0, "", "")


async def test_received_all_pages_through_more_than_one_page(received_stand_in: StandIn) -> None:
    messages = _received(received_stand_in)
    messages.hold(2345)
    code, out, err = await run_remote("-v", "received", "--all")
    assert code == 0, err
    assert _sequences(out) == list(range(1, 2346))
    assert len(set(out.splitlines())) == 2345  # each once
    assert messages.received_calls == [
        ("/", 0, 1000),
        ("/", 1000, 1000),
        ("/", 2000, 1000),
        ("/", 2345, 1000),  # the empty page that says nothing is left
    ]
    assert err.splitlines() == [
        "chinwag-remote: GetReceived after 0: 1000",
        "chinwag-remote: GetReceived after 1000: 1000",
        "chinwag-remote: GetReceived after 2000: 345",
        "chinwag-remote: GetReceived after 2345: 0",
    ]
    # a small --limit pages by it, from --after on
    del messages.received_calls[:]
    code, out, err = await run_remote("received", "--all", "--after", "2330", "--limit", "7")
    assert (code, err) == (0, "")
    assert _sequences(out) == list(range(2331, 2346))
    assert messages.received_calls == [
        ("/", 2330, 7),
        ("/", 2337, 7),
        ("/", 2344, 7),
        ("/", 2345, 7),
    ]


async def test_received_all_stops_when_a_page_does_not_move_on(
    received_stand_in: StandIn,
) -> None:
    messages = _received(received_stand_in)
    messages.hold(5)
    messages.repeat = True  # answers 1..2 whatever is asked
    code, out, err = await run_remote("received", "--all", "--limit", "2")
    assert (code, _sequences(out)) == (1, [1, 2, 1, 2])
    assert err == (
        "chinwag-remote: GetReceived: message-sequence 2 after asking for those after 2\n"
    )
    assert messages.received_calls == [("/", 0, 2), ("/", 2, 2)]


async def test_received_account_by_address_or_path(received_stand_in: StandIn) -> None:
    messages = _received(received_stand_in)
    messages.hold(2)
    by_address = await run_remote("received", "--account", "ME@example.org")
    by_path = await run_remote("received", "--account", ACCOUNT_1)
    assert by_address == by_path
    assert by_address[0] == 0, by_address
    assert _sequences(by_address[1]) == [1, 2]
    assert messages.received_calls == [(ACCOUNT_1, 0, 1000), (ACCOUNT_1, 0, 1000)]


async def test_received_for_an_unknown_account_exits_1_with_the_error(
    received_stand_in: StandIn,
) -> None:
    messages = _received(received_stand_in)
    messages.hold(2)
    code, out, err = await run_remote("received", "--account", "/im/chinwag/Chinwag/account/9")
    assert (code, out) == (1, "")
    assert err == (
        "chinwag-remote: InvalidArgument: 0x80070057: "
        "/im/chinwag/Chinwag/account/9 is not an account\n"
    )
    code, out, err = await run_remote("received", "--all", "--account", "nobody@example.org")
    assert (code, out) == (1, "")
    assert err == (
        "chinwag-remote: no account 'nobody@example.org' in Chinwag (accounts: me@example.org)\n"
    )
    assert [call[0] for call in messages.received_calls] == ["/im/chinwag/Chinwag/account/9"]


def test_received_exits_3_when_chinwag_is_not_running(dbus_bus: PrivateSessionBus) -> None:
    result = run_remote_sync("received", "--all")
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        "chinwag-remote: Chinwag is not running "
        "(nobody owns im.chinwag.Chinwag on the session bus)\n"
    )
