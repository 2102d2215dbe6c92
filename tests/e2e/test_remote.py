"""End to end: ``chinwag-remote`` (run as ``python -m chinwag.cli.remote``) against the app
as a process on a private bus and a real Prosody, with XMPP peers on the other side.

What is checked is what a shell script sees: exit codes, stdout, stderr. The API's side
effects are read back over D-Bus with the fixture's client. Names and codes are written
out from the spec (``automation-api.md``) on purpose."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from rig.app import APP_TIMEOUT, AppProcess
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
CONTACT = "im.chinwag.Contact1"
WINDOW = "im.chinwag.Window1"
ONLINE, AWAY = 0x02, 0x22

REMOTE = [sys.executable, "-m", "chinwag.cli.remote"]
# A CLI that hangs is caught well before pytest's own timeout.
PROCESS_TIMEOUT = 60.0


async def remote(app: AppProcess, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run chinwag-remote to its end in the app's environment: (exit code, out, err)."""
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        *args,
        env=app.env,
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
    assert "Traceback" not in err.decode(), err.decode()
    return proc.returncode, out.decode(), err.decode()


@asynccontextmanager
async def peer(
    app: AppProcess, name: str = "bob", *, receipts: bool = False
) -> AsyncIterator[XmppPeer]:
    """A logged-in XMPP contact; with ``receipts`` it answers XEP-0184 requests."""
    contact = XmppPeer(app.prosody, *app.prosody.make_user(name))
    if receipts:
        contact.client.register_plugin("xep_0184")
        contact.client.plugin["xep_0184"].auto_ack = True
    async with contact:
        yield contact


async def next_body(contact: XmppPeer, timeout: float = APP_TIMEOUT) -> tuple[str, str]:
    """(bare sender, body) of the next message with a body (chat states are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"{contact.jid} got no message with a body in {timeout}s")
        stanza = await contact.next_message(timeout=left)
        if stanza["body"]:
            return str(stanza["from"].bare), str(stanza["body"])


def token_of(out: str) -> str:
    """The single line SendMessage's token was printed on."""
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert lines[0].strip() == lines[0] != ""
    return lines[0]


# --------------------------------------------------------------------------- send


async def test_send_from_arguments_and_stdin_reaches_the_peer(chinwag_app: AppProcess) -> None:
    async with peer(chinwag_app) as bob:
        code, out, err = await remote(chinwag_app, "send", bob.jid, "hello", "from", "a", "script")
        assert (code, err) == (0, ""), err
        first = token_of(out)
        assert await next_body(bob) == (chinwag_app.jid, "hello from a script")

        code, out, err = await remote(chinwag_app, "send", bob.jid, stdin=b"line one\nline two\n")
        assert (code, err) == (0, ""), err
        assert token_of(out) != first
        assert await next_body(bob) == (chinwag_app.jid, "line one\nline two")

        code, out, err = await remote(chinwag_app, "send", bob.jid, "-", stdin="ünïcode ✓".encode())
        assert (code, err) == (0, ""), err
        assert await next_body(bob) == (chinwag_app.jid, "ünïcode ✓")


async def test_send_wait_delivered_ends_when_the_peer_acknowledges(chinwag_app: AppProcess) -> None:
    async with peer(chinwag_app, receipts=True) as bob:
        code, out, err = await remote(
            chinwag_app, "-v", "send", "--wait", "delivered", bob.jid, "please confirm"
        )
        assert code == 0, err
        token = token_of(out)
        assert f"{token}: delivered" in err
        assert await next_body(bob) == (chinwag_app.jid, "please confirm")


async def test_send_wait_sent_ends_when_the_server_took_it(chinwag_app: AppProcess) -> None:
    async with peer(chinwag_app) as bob:
        code, out, err = await remote(chinwag_app, "-v", "send", "--wait", "sent", bob.jid, "hi")
        assert code == 0, err
        assert f"{token_of(out)}: sent" in err


async def test_send_wait_delivered_without_a_receipt_times_out_with_4(
    chinwag_app: AppProcess,
) -> None:
    async with peer(chinwag_app) as bob:  # answers no receipts
        code, out, err = await remote(
            chinwag_app, "send", "--wait", "delivered", "--timeout", "3", bob.jid, "anyone?"
        )
        assert (code, err) == (
            4,
            "chinwag-remote: timed out waiting for the message to be delivered\n",
        )
        token_of(out)  # the token is printed before the wait
        assert await next_body(bob) == (chinwag_app.jid, "anyone?")


async def test_send_from_a_named_account(chinwag_app: AppProcess) -> None:
    async with peer(chinwag_app) as bob:
        code, out, err = await remote(
            chinwag_app, "send", "--account", chinwag_app.jid, bob.jid, "x"
        )
        assert code == 0, err
        assert await next_body(bob) == (chinwag_app.jid, "x")
    code, out, err = await remote(chinwag_app, "send", "--account", "nobody@localhost", "a@b", "x")
    assert (code, out) == (1, "")
    assert err.startswith("chinwag-remote: no account 'nobody@localhost' in Chinwag")


# --------------------------------------------------------------------------- open, show


async def test_open_prints_the_window_path(chinwag_app: AppProcess) -> None:
    code, out, err = await remote(chinwag_app, "open", "carol@localhost")
    assert (code, err) == (0, "")
    path = out.strip()
    assert out == path + "\n"
    assert re.fullmatch(rf"{ROOT}/window/[1-9][0-9]*", path)
    client = await chinwag_app.client()
    assert await client.get(path, WINDOW, "IsClosed") is False
    # the same contact again: the same window, raised, not a second one
    assert await remote(chinwag_app, "open", "carol@localhost") == (0, out, "")
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == [path]


async def test_show_the_main_window(chinwag_app: AppProcess) -> None:
    assert await remote(chinwag_app, "show") == (0, "", "")
    client = await chinwag_app.client()
    assert await client.get(f"{ROOT}/window/main", WINDOW, "IsClosed") is False


# --------------------------------------------------------------------------- status


async def test_status_sets_and_reads_back(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    assert await remote(chinwag_app, "status") == (0, "online\n", "")

    assert await remote(chinwag_app, "status", "away", "gone", "fishing") == (0, "", "")
    assert await client.get(ROOT, MESSENGER, "MyStatus") == AWAY
    assert await remote(chinwag_app, "status") == (0, "away\tgone fishing\n", "")

    assert await remote(chinwag_app, "status", "0x0A", "in a meeting") == (0, "", "")
    assert await remote(chinwag_app, "status") == (0, "busy\tin a meeting\n", "")

    # STATUS alone clears the message
    assert await remote(chinwag_app, "status", "online") == (0, "", "")
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE
    assert await remote(chinwag_app, "status") == (0, "online\n", "")


async def test_status_already_in_that_state_is_s_false_said_only_with_v(
    chinwag_app: AppProcess,
) -> None:
    assert await remote(chinwag_app, "status", "brb") == (0, "", "")
    assert await remote(chinwag_app, "status", "brb") == (0, "", "")
    code, out, err = await remote(chinwag_app, "-v", "status", "brb")
    assert (code, out) == (0, "")
    assert err == "chinwag-remote: SetStatus: S_FALSE (already in that state)\n"


# --------------------------------------------------------------------------- contacts


async def test_contacts_lists_a_roster_contact(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with peer(chinwag_app, "dora") as dora:  # accepts the subscription request
        assert await client.messenger("AddContact", "s", dora.jid) == 0
        added = await signals.wait_for("OnContactListAdd")
        assert added[0] == 0
        contact = added[1]
        await signals.wait_for("OnContactStatusChange", lambda b: b == [contact, ONLINE])

        code, out, err = await remote(chinwag_app, "contacts")
        assert (code, err) == (0, "")
        lines = [line.split("\t") for line in out.splitlines()]
        assert [fields[:2] for fields in lines] == [[dora.jid, "online"]]
        assert all(len(fields) == 4 for fields in lines)

        code, out, err = await remote(chinwag_app, "contacts", "--online", "--json")
        assert (code, err) == (0, "")
        records = [json.loads(line) for line in out.splitlines()]
        assert [(r["address"], r["status"], r["status_value"], r["path"]) for r in records] == [
            (dora.jid, "online", ONLINE, contact)
        ]
    await signals.wait_for("OnContactStatusChange", lambda b: b[0] == contact and b[1] != ONLINE)
    assert await remote(chinwag_app, "contacts", "--online") == (0, "", "")
    code, out, _err = await remote(chinwag_app, "contacts")
    assert out.split("\t")[:2] == [dora.jid, "offline"]


# --------------------------------------------------------------------------- watch


async def test_watch_prints_a_received_message_and_exits_0_on_sigterm(
    chinwag_app: AppProcess,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        "-v",
        "watch",
        env=chinwag_app.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    records: list[dict[str, Any]] = []
    try:
        ready = await asyncio.wait_for(proc.stderr.readline(), PROCESS_TIMEOUT)
        assert ready == b"chinwag-remote: watching; Ctrl-C to stop\n"
        async with peer(chinwag_app) as bob:
            bob.send_chat(chinwag_app.jid, "watch this")
            deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
            while not any(r["signal"] == "MessageReceived" for r in records):
                left = deadline - asyncio.get_running_loop().time()
                line = await asyncio.wait_for(proc.stdout.readline(), max(left, 0.01))
                assert line.endswith(b"\n"), line
                records.append(json.loads(line))
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(proc.wait(), PROCESS_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError("watch did not end on SIGTERM") from None
    assert code == 0
    assert await proc.stderr.read() == b""
    message = next(r for r in records if r["signal"] == "MessageReceived")
    assert message["interface"] == "im.chinwag.Messages1"
    assert message["path"] == ROOT
    header, *parts = message["args"][0]
    assert header["message-sender-id"] == bob.jid
    assert header["message-type"] == 0
    assert isinstance(header["message-received"], int)
    assert isinstance(header["message-token"], str)
    assert header["account"].startswith(f"{ROOT}/account/")
    assert [p["content"] for p in parts if p.get("content-type") == "text/plain"] == ["watch this"]
    for record in records:
        assert set(record) == {"signal", "interface", "path", "args"}


@pytest.mark.fresh_app  # it quits the app
async def test_watch_exits_3_when_chinwag_quits(chinwag_app: AppProcess) -> None:
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        "-v",
        "watch",
        "--signal",
        "OnAppShutdown",
        env=chinwag_app.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        ready = await asyncio.wait_for(proc.stderr.readline(), PROCESS_TIMEOUT)
        assert ready == b"chinwag-remote: watching; Ctrl-C to stop\n"
        assert await remote(chinwag_app, "quit") == (0, "", "")
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 3
    assert err == b"chinwag-remote: Chinwag left the bus while waiting for signals\n"
    assert [json.loads(line)["signal"] for line in out.splitlines()] == ["OnAppShutdown"]
    assert await chinwag_app.wait_exit() == 0


# --------------------------------------------------------------------------- sign in/out


async def test_signed_out_calls_exit_1_with_the_error_name(chinwag_app: AppProcess) -> None:
    assert await remote(chinwag_app, "signout") == (0, "", "")
    code, _out, err = await remote(chinwag_app, "-v", "signout")
    assert code == 0
    assert err == "chinwag-remote: Signout: S_FALSE (no account was signed in)\n"

    code, out, err = await remote(chinwag_app, "open", "bob@localhost")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"chinwag-remote: NotLoggedOn: 0x8100031E: \S.*\n", err), err

    code, out, err = await remote(chinwag_app, "send", "bob@localhost", "hi")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"chinwag-remote: Disconnected: 0x8100030C: \S.*\n", err), err


async def test_signin_wait_and_a_refused_password(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    assert await remote(chinwag_app, "signout") == (0, "", "")

    code, out, err = await remote(chinwag_app, "signin", "--wait")  # AutoSignin
    assert (code, out, err) == (0, "", "")
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE

    # already signed in: S_FALSE, nothing to wait for
    code, _out, err = await remote(
        chinwag_app, "-v", "signin", "--wait", chinwag_app.jid, "-", stdin=b"x\n"
    )
    assert code == 0
    assert "S_FALSE" in err

    assert await remote(chinwag_app, "signout") == (0, "", "")
    code, out, err = await remote(
        chinwag_app, "signin", "--wait", "--no-remember", chinwag_app.jid, stdin=b"wrong password\n"
    )
    assert (code, out) == (1, "")
    assert err == "chinwag-remote: InvalidPassword: 0x81000303: sign-in failed\n"


# --------------------------------------------------------------------------- quit


@pytest.mark.fresh_app  # it quits the app
async def test_quit_wait_returns_once_chinwag_has_left_the_bus(chinwag_app: AppProcess) -> None:
    assert await remote(chinwag_app, "quit", "--wait") == (0, "", "")
    assert await chinwag_app.wait_exit() == 0
    code, out, err = await remote(chinwag_app, "status")
    assert (code, out) == (3, "")
    assert "Chinwag is not running" in err
