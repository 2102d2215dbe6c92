"""Races and hostile input found in review, each shown with the real Prosody: a malformed
element from a contact, a stream dropped mid-send or mid-catch-up and then resumed, and
two clients on one account."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import history
from slixmpp.xmlstream import ET

from chinwag.core.errors import ResourceConflict
from chinwag.core.events import ConnectionStateChanged, MessageAdded
from chinwag.core.models import ConnectionState, MessageState
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


def send_with_bad_stanza_id(peer: XmppPeer, to: str, body: str) -> None:
    msg = peer.client.make_message(mto=to, mbody=body, mtype="chat")
    el = ET.SubElement(msg.xml, "{urn:xmpp:sid:0}stanza-id")
    el.set("by", "a@b@c")  # not an address: anyone can send this
    el.set("id", "p1")
    msg.send()


async def test_malformed_stanza_id_does_not_lose_the_message(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        send_with_bad_stanza_id(bob, alice.jid, "odd but fine")
        bob.send_chat(alice.jid, "after it")
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "after it")
        await alice.core.messaging.drain()
        bodies = [m.body for m in history(alice.core, alice.jid, bob.jid)]
    assert bodies == ["odd but fine", "after it"]


async def resumed(client: Any) -> ConnectionStateChanged:
    event: ConnectionStateChanged = await client.events.wait(
        ConnectionStateChanged, lambda e: e.state is ConnectionState.ONLINE and e.resumed
    )
    return event


async def test_message_resent_on_resume_is_acked(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
        real = client.send_raw

        dropped = asyncio.Event()

        def lossy(data: Any) -> None:
            if b"lost on the wire" in (data if isinstance(data, bytes) else data.encode()):
                dropped.set()
                return
            real(data)

        client.send_raw = lossy
        sent = await alice.send(bob.jid, "lost on the wire")
        await asyncio.wait_for(dropped.wait(), 10)  # it went to the wire, and was lost
        client.send_raw = real
        client.abort()
        await resumed(alice)
        assert (await bob.next_message(timeout=10))["body"] == "lost on the wire"
        for _ in range(100):
            if alice.core.store.get(alice.jid, bob.jid, sent.uid).state >= MessageState.SENT:
                break
            await asyncio.sleep(0.05)
        assert alice.core.store.get(alice.jid, bob.jid, sent.uid).state >= MessageState.SENT


async def test_message_handed_over_as_the_socket_dies_is_sent_after_resume(
    prosody, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        conn = alice.core.sessions[alice.jid]._conn
        assert conn is not None
        client = conn.client
        real_send = conn.send_message

        def racing(message: Any) -> None:
            conn.send_message = real_send  # type: ignore[method-assign]
            # the socket fails and its connection_lost is queued before slixmpp writes
            client.transport.abort()
            asyncio.get_running_loop().call_soon(client.connection_lost, None)
            real_send(message)

        conn.send_message = racing  # type: ignore[method-assign]
        sent = await alice.send(bob.jid, "racing the drop")
        await resumed(alice)
        assert (await bob.next_message(timeout=10))["body"] == "racing the drop"
        for _ in range(100):
            if alice.core.store.get(alice.jid, bob.jid, sent.uid).state >= MessageState.SENT:
                break
            await asyncio.sleep(0.05)
        assert alice.core.store.get(alice.jid, bob.jid, sent.uid).state >= MessageState.SENT


async def test_catch_up_cut_short_by_a_resumed_drop_is_finished(
    prosody, cores: CoreMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chinwag.xmpp import mam

    jid, password = prosody.make_user("alice")
    desk = await cores(prosody, jid, password, resource="desk")
    await desk.core.sign_out()
    count = 120
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        bob_jid = bob.jid
        for i in range(count):
            bob.send_chat(jid, f"while the desk was away {i}")
        # The server handles bob's stanzas in order: once it answers a query sent after
        # them, every message is in the archive.
        await bob.client.get_roster()
    real = mam.archive_pages
    first_page = asyncio.Event()

    async def slow(client: Any, after: Any, start: Any, archive: str = "") -> Any:
        async for page in real(client, after, start, archive):
            yield page
            first_page.set()
            await asyncio.sleep(0.5)  # slow pages: the drop comes in the middle

    monkeypatch.setattr(mam, "archive_pages", slow)
    monkeypatch.setattr(mam, "PAGE", 40)
    await desk.core.sign_in(jid)
    await asyncio.wait_for(first_page.wait(), 30)  # a page in, more to come
    desk.core.sessions[jid]._conn.client.abort()  # type: ignore[union-attr]
    await resumed(desk)
    await desk.core.messaging.wait_archive_synced(jid)
    await desk.core.messaging.drain()
    assert len(history(desk.core, jid, bob_jid)) == count


async def test_two_clients_on_one_account_do_not_fight(prosody, cores: CoreMaker) -> None:
    jid, password = prosody.make_user("alice")
    first = await cores(prosody, jid, password)
    second = await cores(prosody, jid, password)
    assert first.core.accounts.get(jid).resource != second.core.accounts.get(jid).resource
    await asyncio.sleep(2.0)
    for client in (first, second):
        assert client.core.state(jid) is ConnectionState.ONLINE
        assert len(client.events.of(ConnectionStateChanged)) == 2  # connecting, online


async def test_same_resource_elsewhere_stops_instead_of_fighting(prosody, cores: CoreMaker) -> None:
    jid, password = prosody.make_user("alice")
    first = await cores(prosody, jid, password, resource="laptop")
    await cores(prosody, jid, password, resource="laptop")
    replaced = await first.events.wait(
        ConnectionStateChanged, lambda e: e.state is ConnectionState.FAILED
    )
    assert isinstance(replaced.error, ResourceConflict)


async def test_a_contacts_own_delay_stamp_is_not_trusted(prosody, cores: CoreMaker) -> None:
    import time

    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        msg = bob.client.make_message(mto=alice.jid, mbody="from the past?", mtype="chat")
        delay = ET.SubElement(msg.xml, "{urn:xmpp:delay}delay")
        delay.set("from", bob.jid)
        delay.set("stamp", "2001-01-01T00:00:00Z")
        before = time.time()
        msg.send()
        got = await alice.events.wait(MessageAdded, lambda e: e.message.body == "from the past?")
    assert got.message.timestamp >= before - 5  # stamped on arrival, not in 2001
