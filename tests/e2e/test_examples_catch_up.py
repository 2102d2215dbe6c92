"""End to end: ``examples/autoresponder.py`` answers what came in while it was not running
(``message-sequence`` and ``Messages1.GetReceived``, automation-api.md section 6a), once
each, and a first run leaves older history alone -- against the app as a process on a
private bus and a real Prosody, with XMPP peers on the other side."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import APP_TIMEOUT, AppProcess, SignalLog
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

AUTORESPONDER = Path(__file__).resolve().parents[2] / "examples" / "autoresponder.py"
PROCESS_TIMEOUT = 60.0
READY = "autoresponder: answering messages; Ctrl-C to stop"
REPLY = "Out of office"


class Responder:
    """The autoresponder as a process; stdout and stderr read line by line."""

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

    async def stop(self) -> tuple[int, str, str]:
        """SIGTERM; the exit code and what was left on stdout and stderr."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = await asyncio.wait_for(self.proc.communicate(), PROCESS_TIMEOUT)
        except TimeoutError:
            raise AssertionError("the autoresponder did not stop") from None
        assert self.proc.returncode is not None
        return self.proc.returncode, out.decode(), err.decode()


@asynccontextmanager
async def autoresponder(env: dict[str, str]) -> AsyncIterator[Responder]:
    """The autoresponder, started and past its start-up (it said it is answering)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(AUTORESPONDER),
        "--text",
        REPLY,
        "--interval",
        "0",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        responder = Responder(proc)
        assert await responder.line("stderr") == READY
        yield responder
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def sequence_of(signals: SignalLog, sender: str, text: str) -> int:
    """The message-sequence of the message ``sender`` sent with ``text``, once the app has
    stored and announced it."""

    def match(body: list[Any]) -> bool:
        parts = body[0]
        return parts[0]["message-sender-id"].value == sender and any(
            p.get("content", Variant("s", "")).value == text for p in parts[1:]
        )

    (parts,) = await signals.wait_for("MessageReceived", match)
    return int(parts[0]["message-sequence"].value)


async def reply_to(peer: XmppPeer, app_jid: str) -> None:
    """The peer's next message with a body is the autoresponder's reply."""
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while True:
        left = deadline - asyncio.get_running_loop().time()
        try:
            stanza = await peer.next_message(timeout=max(left, 0.0))
        except TimeoutError:
            raise AssertionError(f"{peer.jid} got no reply within {APP_TIMEOUT}s") from None
        if stanza["body"]:
            assert (str(stanza["from"].bare), str(stanza["body"])) == (app_jid, REPLY)
            return


def answered(line: str, sender: str) -> int:
    """The message-sequence a "replied to" line is about."""
    found = re.fullmatch(rf"replied to {re.escape(sender)} \(\S+\) \[#(\d+)\]", line)
    assert found is not None, line
    return int(found[1])


async def test_autoresponder_answers_what_it_missed_once_and_not_older_history(
    chinwag_app: AppProcess, tmp_path: Path
) -> None:
    app = chinwag_app
    state_home = tmp_path / "state"
    env = dict(app.env, XDG_STATE_HOME=str(state_home))  # where its state file goes
    signals = await (await app.client()).watch()
    async with (
        XmppPeer(app.prosody, *app.prosody.make_user("carol")) as carol,
        XmppPeer(app.prosody, *app.prosody.make_user("bob")) as bob,
    ):
        # History from before the autoresponder ever ran: its first run leaves it alone.
        carol.send_chat(app.jid, "before the autoresponder")
        old = await sequence_of(signals, carol.jid, "before the autoresponder")

        async with autoresponder(env) as responder:
            bob.send_chat(app.jid, "first")
            first = await sequence_of(signals, bob.jid, "first")
            await reply_to(bob, app.jid)
            # One message at a time, in order: had it answered carol's, that came first.
            first_line = await responder.line()
            assert first_line.startswith(f"replied to {bob.jid} ("), first_line
            assert await responder.stop() == (0, "", "")

        # Three messages while it is not running.
        missed = []
        for text in ("one", "two", "three"):
            bob.send_chat(app.jid, text)
            missed.append(await sequence_of(signals, bob.jid, text))

        async with autoresponder(env) as responder:
            for _ in missed:
                await reply_to(bob, app.jid)
            # Each missed message answered once, in order; "first" not again.
            assert [answered(await responder.line(), bob.jid) for _ in missed] == missed
            # Then it follows what comes: the next line is about a message sent now.
            bob.send_chat(app.jid, "live")
            live = await sequence_of(signals, bob.jid, "live")
            await reply_to(bob, app.jid)
            assert answered(await responder.line(), bob.jid) == live
            assert await responder.stop() == (0, "", "")

    assert answered(first_line, bob.jid) == first
    assert old < first < missed[0] < missed[1] < missed[2] < live
    state = json.loads((state_home / "chinwag-autoresponder" / "state.json").read_text())
    assert state == {"handled": {app.jid: live}}
