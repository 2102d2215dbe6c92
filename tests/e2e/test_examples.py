"""End to end: the scripts in ``examples/`` do what their READMEs say, against the app as a
process on a private bus and a real Prosody, with XMPP peers on the other side."""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from rig.app import APP_TIMEOUT, AppProcess
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROCESS_TIMEOUT = 60.0
ONLINE = 0x02


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


class Script:
    """An example running as a process; stdout is read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def line(self, stream: str = "stdout", timeout: float = APP_TIMEOUT) -> str:
        reader = self.proc.stdout if stream == "stdout" else self.proc.stderr
        assert reader is not None
        try:
            raw = await asyncio.wait_for(reader.readline(), timeout)
        except TimeoutError:
            raise AssertionError(f"no line on {stream} within {timeout}s") from None
        assert raw.endswith(b"\n"), f"{stream} ended: {raw!r}"
        return raw.decode().rstrip("\n")

    async def end(self) -> tuple[int, str]:
        """Wait for the process to end by itself: exit code and the rest of stderr."""
        assert self.proc.stderr is not None
        try:
            err = await asyncio.wait_for(self.proc.stderr.read(), PROCESS_TIMEOUT)
            code = await asyncio.wait_for(self.proc.wait(), PROCESS_TIMEOUT)
        except TimeoutError:
            raise AssertionError("the example did not end") from None
        return code, err.decode()


@asynccontextmanager
async def example(env: dict[str, str], name: str, *args: str) -> AsyncIterator[Script]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        *args,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield Script(proc)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), PROCESS_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def test_examples_need_only_dbus_next_and_the_standard_library() -> None:
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert [s.name for s in scripts] == [
        "autoresponder.py",
        "lj_cron_sender.py",
        "notify_online.py",
        "room_mirror.py",
    ]
    for script in scripts:
        imported: set[str] = set()
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
        # (the XML-RPC sender needs only the standard library)
        wanted = set() if script.name == "lj_cron_sender.py" else {"dbus_next"}
        assert imported - sys.stdlib_module_names == wanted, script.name
    assert (EXAMPLES / "README.md").exists()
    for name in (
        "autoresponder.py",
        "lj_cron_sender.py",
        "notify_online.py",
        "room_mirror.py",
        "cron_send.sh",
        "ucwa_bot.sh",
    ):
        assert os.access(EXAMPLES / name, os.X_OK), name


async def test_autoresponder_answers_a_peer_once_per_interval(chinwag_app: AppProcess) -> None:
    async with example(
        chinwag_app.env, "autoresponder.py", "--text", "Out of office", "--interval", "3600"
    ) as responder:
        assert await responder.line("stderr") == (
            "autoresponder: answering messages; Ctrl-C to stop"
        )
        async with XmppPeer(chinwag_app.prosody, *chinwag_app.prosody.make_user("bob")) as bob:
            bob.send_chat(chinwag_app.jid, "are you there?")
            assert await next_body(bob) == (chinwag_app.jid, "Out of office")
            first = await responder.line()
            assert first.startswith(f"replied to {bob.jid} (")

            bob.send_chat(chinwag_app.jid, "hello??")
            second = await responder.line()
            assert second.startswith(f"not replying to {bob.jid}: answered ")
        responder.proc.send_signal(signal.SIGTERM)
        assert await responder.end() == (0, "")


async def test_autoresponder_exits_3_when_chinwag_is_not_running(dbus_bus: Any) -> None:
    # A session bus that nobody owns im.chinwag.Chinwag on (dbus_bus sets the address).
    async with example(dict(os.environ), "autoresponder.py") as responder:
        assert await responder.end() == (3, "autoresponder: Chinwag is not running\n")


async def test_notify_online_fires_when_the_contact_comes_online(chinwag_app: AppProcess) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    jid, password = chinwag_app.prosody.make_user("carol")
    # carol accepts the app's subscription request when she logs in, and is then online
    assert await client.messenger("AddContact", "s", jid) == 0
    added = await signals.wait_for("OnContactListAdd")
    contact = added[1]
    async with XmppPeer(chinwag_app.prosody, jid, password):
        await signals.wait_for("OnContactStatusChange", lambda b: b == [contact, ONLINE])
    await signals.wait_for("OnContactStatusChange", lambda b: b[0] == contact and b[1] != ONLINE)

    async with example(chinwag_app.env, "notify_online.py", "--once", jid) as notifier:
        assert await notifier.line("stderr") == f"notify_online: watching {jid} (now offline)"
        async with XmppPeer(chinwag_app.prosody, jid, password):
            assert await notifier.line() == f"{jid} is online (online)"
            assert await notifier.end() == (0, "")


async def test_notify_online_once_exits_at_once_when_already_online(
    chinwag_app: AppProcess,
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with XmppPeer(chinwag_app.prosody, *chinwag_app.prosody.make_user("dave")) as dave:
        assert await client.messenger("AddContact", "s", dave.jid) == 0
        contact = (await signals.wait_for("OnContactListAdd"))[1]
        await signals.wait_for("OnContactStatusChange", lambda b: b == [contact, ONLINE])
        async with example(chinwag_app.env, "notify_online.py", "--once", dave.jid) as notifier:
            assert await notifier.line() == f"{dave.jid} is online (online)"
            assert await notifier.end() == (0, f"notify_online: watching {dave.jid} (now online)\n")


async def test_cron_send_sends_quietly(chinwag_app: AppProcess) -> None:
    env = dict(chinwag_app.env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    async with XmppPeer(chinwag_app.prosody, *chinwag_app.prosody.make_user("erin")) as erin:
        proc = await asyncio.create_subprocess_exec(
            str(EXAMPLES / "cron_send.sh"),
            erin.jid,
            "Stand-up",
            "in 5 minutes",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
        assert (proc.returncode, out, err) == (0, b"", b"")
        assert await next_body(erin) == (chinwag_app.jid, "Stand-up in 5 minutes")


async def test_cron_send_says_why_when_chinwag_is_not_running(dbus_bus: Any) -> None:
    # A session bus that nobody owns im.chinwag.Chinwag on (dbus_bus sets the address).
    env = dict(os.environ, CHINWAG_REMOTE=str(Path(sys.executable).parent / "chinwag-remote"))
    proc = await asyncio.create_subprocess_exec(
        str(EXAMPLES / "cron_send.sh"),
        "erin@localhost",
        "hi",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
    assert (proc.returncode, out) == (3, b"")
    assert b"Chinwag is not running" in err
