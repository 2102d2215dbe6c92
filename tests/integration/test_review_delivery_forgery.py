"""Review of forged archive ids, with the real Prosody: a sender the server does not
archive (the user's archiving preferences) cannot plant an archive id either."""

from __future__ import annotations

import pytest
from helpers import history
from slixmpp.xmlstream import ET

from chinwag.core.events import MessageAdded
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


def send_with_forged_stanza_id(peer: XmppPeer, to: str, body: str, forged: str) -> None:
    msg = peer.client.make_message(mto=to, mbody=body, mtype="chat")
    el = ET.SubElement(msg.xml, "{urn:xmpp:sid:0}stanza-id")
    el.set("by", to)
    el.set("id", forged)
    msg.send()


async def archive_only_contacts(peer: XmppPeer) -> None:
    """XEP-0313 preferences: archive messages of roster contacts only (a common privacy
    setting; Prosody's ``default_archive_policy = "roster"`` does the same)."""
    iq = peer.client.make_iq_set()
    ET.SubElement(iq.xml, "{urn:xmpp:mam:2}prefs").set("default", "roster")
    await iq.send(timeout=10)


async def test_a_forged_archive_id_from_a_sender_the_server_does_not_archive(
    prosody, cores: CoreMaker
) -> None:
    """The server adds no stanza-id to what it does not archive, so a stranger's forged
    one would be the only one there, and Chinwag takes a lone ``by=us`` id as the
    server's (stanzas.stanza_id_by). Prosody 0.12 strips such ids from what it does not
    archive (mod_mam's message_handler), and this keeps it so end to end: both messages
    are kept, and the forged id is neither a message's archive id nor the position."""
    alice_jid, alice_password = prosody.make_user("alice")
    async with XmppPeer(prosody, alice_jid, alice_password) as other_client:
        await archive_only_contacts(other_client)
    alice = await cores(prosody, alice_jid, alice_password)
    async with XmppPeer(prosody, *prosody.make_user("stranger")) as stranger:
        for body in ("first forged", "second forged"):
            send_with_forged_stanza_id(stranger, alice_jid, body, "FORGED")
        stranger.send_chat(alice_jid, "plain")
        await alice.events.wait(MessageAdded, lambda e: e.message.body == "plain")
        await alice.core.messaging.drain()
    stored = {m.body: m for m in history(alice.core, alice_jid, stranger.jid)}
    assert set(stored) == {"first forged", "second forged", "plain"}
    assert stored["plain"].stanza_id == "", "the server archived the stranger after all"
    assert "FORGED" not in {m.stanza_id for m in stored.values()}
    assert alice.core.store.get_sync_state(alice_jid, "mam_last_id") != "FORGED"
