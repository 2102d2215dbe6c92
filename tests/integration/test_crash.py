"""The client process dies (SIGKILL) with a message stored but not acked by the server:
on the next start the message is delivered, exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import history

from chinwag.core.events import MessageAdded
from chinwag.core.models import MessageState
from conftest import CoreMaker

pytestmark = pytest.mark.prosody
HERE = Path(__file__).parent


class ClientProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, root: Path, jid: str, password: str, server) -> ClientProcess:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), *sys.path]))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "client_proc.py"),
            str(root),
            jid,
            password,
            server.host,
            str(server.port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(proc)

    async def expect(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next line of ``event``; every line read is kept in :attr:`seen`."""
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not line:
                raise AssertionError(f"client process ended before {event!r}")
            data: dict[str, Any] = json.loads(line)
            self.seen.append(data)
            if data["event"] == event:
                return data

    async def send(self, peer: str, text: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"send {peer} {text}\n".encode())
        await self.proc.stdin.drain()
        return (await self.expect("stored"))["uid"]

    async def took_over_stream(self) -> bool:
        """Whether it resumed the stream the last run left (kept in storage)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"stream\n")
        await self.proc.stdin.drain()
        return bool((await self.expect("stream"))["took_over"])

    async def lose_acks(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"lose-acks\n")
        await self.proc.stdin.drain()
        await self.expect("losing-acks")

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


@pytest.mark.parametrize("server_got_it", [False, True], ids=["lost-in-flight", "server-had-it"])
async def test_killed_before_ack_then_delivered_exactly_once(
    prosody_own, cores: CoreMaker, tmp_path: Path, server_got_it: bool
) -> None:
    server = prosody_own
    alice_jid, alice_pw = server.make_user("alice")
    bob = await cores(server, *server.make_user("bob"))
    root = tmp_path / "alice-profile"

    first = await ClientProcess.start(root, alice_jid, alice_pw, server)
    await first.expect("online")
    server.pause()  # the server stops answering: no ack can come back
    try:
        uid = await first.send(bob.jid, "survives a crash")
        await asyncio.sleep(0.3)  # the stanza is in the socket, unacked
        await first.kill()
    finally:
        if server_got_it:
            server.resume()  # it reads what was sent, and delivers it
    if not server_got_it:
        await server.arestart(graceful=False)  # whatever it had read is gone
    else:
        await bob.events.wait(MessageAdded, lambda e: e.message.uid == uid, timeout=30)

    second = await ClientProcess.start(root, alice_jid, alice_pw, server)
    try:
        await second.expect("online")
        # (its state may change while it signs in: before it says "online")
        while not any(e["event"] == "state" and e["uid"] == uid for e in second.seen):
            await second.expect("state")
        await bob.events.wait(MessageAdded, lambda e: e.message.uid == uid, timeout=30)
        await asyncio.sleep(1.0)  # time for a duplicate to show up, if one were sent
    finally:
        await second.kill()
    await bob.core.messaging.drain()
    copies = [m for m in history(bob.core, bob.jid, alice_jid) if m.uid == uid]
    assert len(copies) == 1
    assert copies[0].body == "survives a crash"
    assert len(bob.events.of(MessageAdded, lambda e: e.message.uid == uid)) == 1
    assert copies[0].state is MessageState.RECEIVED
