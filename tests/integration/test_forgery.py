"""What a hostile contact can put into a stanza, shown against the real Prosody: a forged
roster push, forged delay stamps, forged archive ids. Each must be refused without
breaking the stream's acknowledgements, misdating a message or moving the archive
position."""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers import history
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from chinwag.core.events import MessageAdded, MessageStateChanged
from chinwag.core.models import MessageState
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


def full_jid(client: Any) -> str:
    conn = client.core.sessions[client.jid]._conn
    assert conn is not None
    return str(conn.client.boundjid.full)


async def test_a_forged_roster_push_is_refused_and_acks_stay_in_step(
    prosody, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        iq = bob.client.make_iq_set(ito=full_jid(alice))
        query = ET.SubElement(iq.xml, "{jabber:iq:roster}query")
        ET.SubElement(query, "{jabber:iq:roster}item", {"jid": "mallory@evil.example"})
        with pytest.raises(IqError) as refused:
            await iq.send(timeout=10)
        assert refused.value.iq["error"]["condition"] == "service-unavailable"

        # The refusal was counted by stream management only because it was sent: the
        # server's ack now covers the next message, which becomes "sent" on its own.
        sent = await alice.send(bob.jid, "after the forged push")
        await alice.events.wait(
            MessageStateChanged,
            lambda e: e.message.uid == sent.uid and e.message.state >= MessageState.SENT,
        )
        assert (await bob.next_message())["body"] == "after the forged push"
    contacts, _ = alice.core.store.load_roster(alice.jid)
    assert "mallory@evil.example" not in {c.jid for c in contacts}


def send_stamped(peer: XmppPeer, to: str, body: str, stamp: str, by: str) -> None:
    msg = peer.client.make_message(mto=to, mbody=body, mtype="chat")
    delay = ET.SubElement(msg.xml, "{urn:xmpp:delay}delay")
    delay.set("stamp", stamp)
    delay.set("from", by)
    msg.send()


@pytest.mark.parametrize(
    ("stamp", "by"),
    [
        ("2001-01-01T00:00:00Z", "localhost"),
        ("2099-01-01T00:00:00Z", "LOCALHOST"),
        ("1970-01-02T00:00:00Z", "own-bare"),
    ],
)
async def test_a_live_message_is_dated_when_it_arrived_whatever_its_stamp_says(
    prosody, cores: CoreMaker, stamp: str, by: str
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        before = time.time()
        send_stamped(bob, alice.jid, "forged time", stamp, alice.jid if by == "own-bare" else by)
        event = await alice.events.wait(MessageAdded, lambda e: e.message.body == "forged time")
        after = time.time()
    assert before - 1 <= event.message.timestamp <= after + 1


async def test_offline_messages_keep_the_servers_stamp_clamped_to_now(
    prosody, cores: CoreMaker
) -> None:
    alice_jid, alice_password = prosody.make_user("alice")
    alice = await cores(prosody, alice_jid, alice_password)
    await alice.core.sign_out(alice_jid)
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        bob.send_chat(alice_jid, "while you were away")
        # A forger's stamp on an offline message: the server adds its own ahead of it
        # only when the message has none, so this one keeps the forged future date.
        send_stamped(bob, alice_jid, "from the future", "2099-01-01T00:00:00Z", "localhost")
        # Both are stored for alice (offline storage and archive) before she returns.
        await bob.client.make_iq_get(
            queryxmlns="http://jabber.org/protocol/disco#info", ito=prosody.domain
        ).send(timeout=10)
        await alice.core.sign_in(alice_jid)
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "from the future")
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "while you were away")
        now = time.time()
    by_body = {m.body: m for m in history(alice.core, alice_jid, bob.jid)}
    assert by_body["from the future"].timestamp <= now + 1
    assert by_body["while you were away"].timestamp <= by_body["from the future"].timestamp


async def test_a_forged_archive_id_is_not_taken_as_the_archive_position(
    prosody, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        for body in ("first forged", "second forged"):
            msg = bob.client.make_message(mto=alice.jid, mbody=body, mtype="chat")
            el = ET.SubElement(msg.xml, "{urn:xmpp:sid:0}stanza-id")
            el.set("by", alice.jid)
            el.set("id", "FORGED")
            msg.send()
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "second forged")
        await alice.core.messaging.drain()
    stored = {m.body: m for m in history(alice.core, alice.jid, bob.jid)}
    assert set(stored) == {"first forged", "second forged"}
    assert "FORGED" not in {m.stanza_id for m in stored.values()}
    position = alice.core.store.get_sync_state(alice.jid, "mam_last_id")
    assert position != "FORGED"
