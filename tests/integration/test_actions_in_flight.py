"""Our corrections, retractions and reactions are kept until the server acknowledges
them (XEP-0198), like our messages: a retraction the server never read, because it went
down right after we sent it, still reaches the contact once the server is back; and a
reaction (a stanza without a body) is acknowledged like any message of ours."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from actions_rig import Peer
from slixmpp.stanza import Message as MessageStanza

from chinwag.core.events import MessageAdded, MessageStateChanged
from chinwag.core.models import MessageState
from conftest import CoreMaker

pytestmark = pytest.mark.prosody

RETRACT = "{urn:xmpp:message-retract:1}retract"
ORIGIN_ID = "{urn:xmpp:sid:0}origin-id"


async def test_a_retraction_the_server_never_read_reaches_the_contact(
    prosody_own: Any, cores: CoreMaker
) -> None:
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    bob_jid, bob_password = server.make_user("bob")
    bob = Peer(server, bob_jid, bob_password)
    await bob.login()
    try:
        sent = await alice.send(bob_jid, "wrong window")
        assert (await bob.receive())["id"] == sent.uid
        await alice.events.wait(
            MessageStateChanged,
            lambda e: e.message.uid == sent.uid and e.message.state is MessageState.SENT,
        )
    finally:
        await bob.logout()

    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    written: list[tuple[str, str]] = []
    on_the_wire = asyncio.Event()

    def watch(stanza: Any) -> Any:  # (slixmpp writes it right after its filters)
        if isinstance(stanza, MessageStanza) and stanza.xml.find(RETRACT) is not None:
            written.append((stanza["id"], stanza.xml.find(ORIGIN_ID).get("id")))
            on_the_wire.set()
        return stanza

    client.add_filter("out_sync", watch)
    server.pause()  # from here on the server reads nothing, and acknowledges nothing
    await alice.core.messaging.retract(sent)
    await asyncio.wait_for(on_the_wire.wait(), 10)
    server.crash()  # what it had not read is gone; no stream can be resumed
    await server.astart()

    bob = Peer(server, bob_jid, bob_password)
    await bob.login()
    try:
        retraction = await bob.receive(timeout=60)  # live, or kept for him offline
    finally:
        await bob.logout()
    assert retraction["retract"]["id"] == sent.uid
    # Sent again as it was the first time: the same id, so a receiver can tell.
    (action_id, origin) = written[0]
    assert action_id == origin
    assert (retraction["id"], retraction.xml.find(ORIGIN_ID).get("id")) == (action_id, action_id)


async def test_the_server_acknowledges_our_reaction(prosody: Any, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    messaging = alice.core.messaging
    acked: set[str] = set()
    waiting: dict[str, asyncio.Future[None]] = {}
    on_acked = messaging.on_acked

    def recording(account: str, uid: str, peer: str) -> None:
        on_acked(account, uid, peer)
        acked.add(uid)
        if uid in waiting and not waiting[uid].done():
            waiting[uid].set_result(None)

    messaging.on_acked = recording  # type: ignore[method-assign]
    bob = Peer(prosody, *prosody.make_user("bob"))
    await bob.login()
    try:
        bob.send_chat(alice.jid, "theirs")
        theirs = (
            await alice.events.wait(MessageAdded, lambda e: e.message.body == "theirs")
        ).message
        await messaging.react(theirs, ["👍"])
        reaction = await bob.receive()
    finally:
        await bob.logout()
    assert reaction["reactions"]["id"] == theirs.uid
    uid = reaction["id"]
    if uid not in acked:
        waiting[uid] = asyncio.get_running_loop().create_future()
        await asyncio.wait_for(waiting[uid], 20)
    await messaging.drain()
    # Taken by the server: due no more (nothing to send again on the next stream).
    assert json.loads(alice.core.store.get_sync_state(alice.jid, "pending_actions") or "[]") == []
