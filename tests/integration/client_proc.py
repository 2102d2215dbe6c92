"""A headless Chinwag core in its own process, for tests that kill it.

Usage: ``python client_proc.py ROOT JID PASSWORD HOST PORT``. Signs in, prints one JSON
object per line on stdout (``{"event": "online"}``, ``{"event": "stored", "uid": ...}``,
``{"event": "state", "uid": ..., "state": ...}``, ``{"event": "connection", "state": ...,
"resumed": ...}``) and reads commands from stdin:
``send PEER TEXT``, ``stream`` (says whether the stream of the last run was taken
over), and ``lose-acks`` (from now on the server's stream-management acks
are ignored, as if every one were lost on the way)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from helpers import FAST, account_for, make_core

from chinwag.core.events import ConnectionStateChanged, MessageStateChanged


def emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def lose_acks(core: Any, jid: str) -> None:
    client = core.sessions[jid]._conn.client
    client.remove_handler("Stream Management Ack")


class _Server:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port


async def main(root: str, jid: str, password: str, host: str, port: str) -> None:
    core = make_core(Path(root), FAST)
    core.add_account(account_for(_Server(host, int(port)), jid), password)
    core.bus.subscribe(
        ConnectionStateChanged,
        lambda e: emit(event="connection", state=e.state.name, resumed=e.resumed),
    )
    core.bus.subscribe(
        MessageStateChanged,
        lambda e: emit(event="state", uid=e.message.uid, state=e.message.state.name),
    )
    await core.sign_in(jid)
    emit(event="online")
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode():
        command, _, rest = line.strip().partition(" ")
        if command == "stream":
            conn = core.sessions[jid]._conn
            emit(event="stream", took_over=bool(conn and conn.took_over_stream))
        elif command == "lose-acks":
            lose_acks(core, jid)
            emit(event="losing-acks")
        elif command == "send":
            peer, _, text = rest.partition(" ")
            message = await core.messaging.send(jid, peer, text)
            emit(event="stored", uid=message.uid)
    await core.shutdown()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
