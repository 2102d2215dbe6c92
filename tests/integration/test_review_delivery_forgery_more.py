"""Review of forged archive ids and stamps, with the real Prosody: cases the first tests
did not reach (a server that does not archive every sender; an offline stamp from
within our own last session)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import history
from slixmpp.xmlstream import ET

from chinwag.core.events import BlockChanged, MessageAdded
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


def send_with_forged_stanza_id(peer: XmppPeer, to: str, body: str, forged: str) -> None:
    msg = peer.client.make_message(mto=to, mbody=body, mtype="chat")
    el = ET.SubElement(msg.xml, "{urn:xmpp:sid:0}stanza-id")
    el.set("by", to)
    el.set("id", forged)
    msg.send()


async def test_an_offline_stamp_from_within_our_last_session_is_not_believed(
    prosody, cores: CoreMaker
) -> None:
    """Offline storage only holds what came while no resource of ours was online: a
    server stamp from before we signed out is forged (the server keeps a sender's delay
    when there is one), whatever its ``from`` says."""
    alice_jid, alice_password = prosody.make_user("alice")
    alice = await cores(prosody, alice_jid, alice_password)
    signed_in_at = float(alice.core.store.get_sync_state(alice_jid, "last_online") or 0)
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        # an hour-long session, as far as the message history shows
        bob.send_chat(alice_jid, "during the session")
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "during the session")
        await alice.core.messaging.drain()
        await alice.core.sign_out(alice_jid)
        during = next(m for m in history(alice.core, alice_jid, bob.jid))
        forged = datetime.fromtimestamp((signed_in_at + during.timestamp) / 2, UTC)
        msg = bob.client.make_message(mto=alice_jid, mbody="backdated", mtype="chat")
        delay = ET.SubElement(msg.xml, "{urn:xmpp:delay}delay")
        delay.set("from", prosody.domain)
        delay.set("stamp", forged.isoformat().replace("+00:00", "Z"))
        msg.send()
        # stored for alice (offline) before she returns
        await bob.client.make_iq_get(
            queryxmlns="http://jabber.org/protocol/disco#info", ito=prosody.domain
        ).send(timeout=10)
        await alice.core.sign_in(alice_jid)
        got = await alice.events.wait(MessageAdded, lambda e: e.message.body == "backdated")
    # It cannot have been stored offline before "during the session" was received live.
    assert got.message.timestamp >= during.timestamp


async def test_archive_results_read_by_the_check_of_messages_in_doubt_are_not_in_the_future(
    prosody, cores: CoreMaker, tmp_path
) -> None:
    """This machine's clock is an hour behind the server's. The archive results that the
    look-up of messages in doubt reads (at the start of a run) are stored like those of
    the catch-up: never dated after now."""
    import time

    from test_exactly_once import bodies_until, lose_acks

    jid, password = prosody.make_user("alice")
    root = tmp_path / "desk"
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        first = await cores(prosody, jid, password, root=root, resource="desk")
        lose_acks(first.core.sessions[jid]._conn.client)  # type: ignore[union-attr]
        await first.send(bob.jid, "in doubt at the next start")
        assert await bodies_until(bob, "in doubt at the next start") == [
            "in doubt at the next start"
        ]
        await first.core.shutdown()
        async with XmppPeer(prosody, f"{jid}/phone", password) as phone:
            bob.send_chat(jid, "to the phone only")
            assert (await phone.next_message())["body"] == "to the phone only"
        second = await cores(prosody, jid, password, root=root, resource="desk", sign_in=False)
        second.core.messaging._clock = lambda: time.time() - 3600  # the machine's clock
        await second.core.sign_in(jid)
        got = await second.events.wait(
            MessageAdded, lambda e: e.message.body == "to the phone only", timeout=30
        )
    assert got.message.timestamp <= time.time() - 3600 + 5


def forged_push(peer: XmppPeer, to: str, kind: str, jids: list[str]) -> None:
    """A contact's ``<iq type=set>`` with an XEP-0191 push: only our own server (our bare
    address) may send one (XEP-0191 section 3.5)."""
    iq = peer.client.make_iq_set(ito=to)
    el = ET.SubElement(iq.xml, f"{{urn:xmpp:blocking}}{kind}")
    for jid in jids:
        ET.SubElement(el, "{urn:xmpp:blocking}item").set("jid", jid)
    iq.send()


async def test_a_forged_block_list_push_is_refused(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    mallory_jid, _ = prosody.make_user("mallory")
    await alice.core.blocking.block(alice.jid, mallory_jid)
    await alice.events.wait(BlockChanged, lambda e: e.jid == mallory_jid and e.blocked)
    conn = alice.core.sessions[alice.jid]._conn
    assert conn is not None
    full = str(conn.client.boundjid.full)
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        forged_push(bob, full, "block", ["carol@localhost"])
        forged_push(bob, full, "unblock", [])  # "everyone is unblocked"
        bob.send_chat(alice.jid, "after the pushes")  # delivered after them, in order
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "after the pushes")
    assert not alice.core.blocking.is_blocked(alice.jid, "carol@localhost")
    assert alice.core.blocking.is_blocked(alice.jid, mallory_jid)
    assert not alice.events.of(BlockChanged, lambda e: e.jid == "carol@localhost")
