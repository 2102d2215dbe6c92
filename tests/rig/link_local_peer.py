"""A Chinwag core with a link-local account, driven over JSON lines: for tests that run
it inside a network namespace (``ip netns exec NS python link_local_peer.py ROOT``).

Commands on stdin, one JSON object a line, each answered by ``{"re": <id>, ...}``:

- ``{"id": 1, "op": "start", "user": "alice", "peer_wait": 600, "peer_forget": 300}``:
  turn link-local on
- ``{"op": "send", "to": jid, "body": text}``: answers ``uid``
- ``{"op": "status", "show": "away", "msg": text}``
- ``{"op": "history", "peer": jid}``: answers ``messages`` (direction, body, state)
- ``{"op": "search", "text": words}``: answers ``hits`` (bodies)
- ``{"op": "roster"}``: answers ``contacts``; ``{"op": "port"}``: the stream port
- ``{"op": "sign_out"}``, ``{"op": "sign_in"}``, ``{"op": "quit"}``

Events on stdout: ``{"ev": "presence", "jid", "show", "status"}``, ``{"ev": "contact",
"jid", "name", "groups"}``, ``{"ev": "contact_removed", "jid"}``, ``{"ev": "message",
"peer", "direction", "body", "uid", "state"}``, ``{"ev": "state", "uid", "state",
"error"}``, ``{"ev": "conn", "state"}``, ``{"ev": "chat_state", "peer", "state"}``.
The first line is ``{"ev": "ready"}``."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from chinwag.core import link_local
from chinwag.core.events import (
    ChatStateChanged,
    ConnectionStateChanged,
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    MessageAdded,
    MessageStateChanged,
)
from chinwag.core.models import ConversationKey, ConversationKind, Show
from chinwag.system.paths import Paths
from chinwag.wiring import build_core
from chinwag.xmpp import link_local as transport
from rig.fakes import FakeSecrets


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main(root: Path) -> None:
    paths = Paths.under(root)
    core = build_core(paths, secrets=FakeSecrets())
    bus = core.bus
    account = ""
    started = time.monotonic()
    bus.subscribe(
        ContactPresenceChanged,
        lambda e: emit(
            {
                "ev": "presence",
                "jid": e.jid,
                "show": str(e.presence.show),
                "status": e.presence.status,
                "t": time.monotonic() - started,
            }
        ),
    )
    bus.subscribe(
        ContactUpdated,
        lambda e: emit(
            {
                "ev": "contact",
                "jid": e.contact.jid,
                "name": e.contact.name,
                "groups": list(e.contact.groups),
            }
        ),
    )
    bus.subscribe(
        MessageAdded,
        lambda e: emit(
            {
                "ev": "message",
                "peer": e.message.peer,
                "direction": e.message.direction.name.lower(),
                "body": e.message.body,
                "uid": e.message.uid,
                "state": e.message.state.name.lower(),
            }
        ),
    )
    bus.subscribe(
        MessageStateChanged,
        lambda e: emit(
            {
                "ev": "state",
                "uid": e.message.uid,
                "state": e.message.state.name.lower(),
                "error": e.message.error,
            }
        ),
    )
    bus.subscribe(
        ConnectionStateChanged,
        lambda e: emit(
            {"ev": "conn", "state": str(e.state), "error": str(e.error) if e.error else ""}
        ),
    )
    bus.subscribe(
        ContactRemoved,
        lambda e: emit({"ev": "contact_removed", "jid": e.jid}),
    )
    bus.subscribe(
        ChatStateChanged,
        lambda e: emit({"ev": "chat_state", "peer": e.peer, "state": e.state}),
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    emit({"ev": "ready"})
    while line := await reader.readline():
        cmd = json.loads(line)
        op, reply = cmd.get("op"), {"re": cmd.get("id")}
        try:
            if op == "start":
                transport.PEER_WAIT = float(cmd.get("peer_wait", transport.PEER_WAIT))
                transport.MAX_PEERS = int(cmd.get("max_peers", transport.MAX_PEERS))
                transport.PEER_FORGET = float(cmd.get("peer_forget", transport.PEER_FORGET))
                session = await link_local.enable_link_local(
                    core, link_local.profile_id(str(root)), user=cmd.get("user")
                )
                account = session.account
                reply["account"] = account
            elif op == "send":
                message = await core.messaging.send(account, cmd["to"], cmd["body"])
                reply["uid"] = message.uid
            elif op == "chat_state":
                core.messaging.send_chat_state(account, cmd["to"], cmd["state"])
            elif op == "status":
                core.session(account).set_presence(Show(cmd["show"]), cmd.get("msg", ""))
            elif op == "history":
                key = ConversationKey(account, cmd["peer"], ConversationKind.CHAT)
                reply["messages"] = [
                    {
                        "direction": m.direction.name.lower(),
                        "body": m.body,
                        "state": m.state.name.lower(),
                    }
                    for m in core.store.latest(key, 100)
                ]
            elif op == "search":
                reply["hits"] = [h.message.body for h in core.store.search(cmd["text"])]
            elif op == "roster":
                reply["contacts"] = [c.jid for c in core.roster.contacts(account)]
            elif op == "port":
                reply["port"] = getattr(core.session(account).connection, "port", 0)
            elif op == "sign_out":
                await core.sign_out(account)
            elif op == "sign_in":
                await core.sign_in(account)
            elif op == "quit":
                break
            else:
                reply["error"] = f"unknown op {op!r}"
        except Exception as exc:  # told to the test, which fails on it
            reply["error"] = f"{type(exc).__name__}: {exc}"
        emit(reply)
    await core.shutdown()
    emit({"ev": "bye"})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(Path(sys.argv[1])))
