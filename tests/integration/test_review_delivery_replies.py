"""Review of "no stanza may be counted and not sent": every kind of request a contact can
send to our full address gets its answer written, so stream management's counts stay in
step with the server's (the next message is acknowledged on its own)."""

from __future__ import annotations

import pytest
from helpers import eventually
from slixmpp.xmlstream import ET

from chinwag.core.events import MessageStateChanged
from chinwag.core.models import MessageState
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody

#: (type, payload) of requests a contact may send to our full address.
REQUESTS = [
    ("set", "<query xmlns='jabber:iq:roster'><item jid='m@evil.example'/></query>"),
    ("set", "<query xmlns='http://jabber.org/protocol/disco#info'/>"),
    ("get", "<query xmlns='http://jabber.org/protocol/disco#info' node='no#such'/>"),
    ("set", "<query xmlns='http://jabber.org/protocol/disco#items'/>"),
    ("get", "<query xmlns='http://jabber.org/protocol/disco#items' node='no#such'/>"),
    ("set", "<query xmlns='jabber:iq:version'/>"),
    ("get", "<query xmlns='jabber:iq:version'/>"),
    ("set", "<time xmlns='urn:xmpp:time'/>"),
    ("get", "<time xmlns='urn:xmpp:time'/>"),
    ("set", "<query xmlns='jabber:iq:last'/>"),
    ("get", "<query xmlns='jabber:iq:last'/>"),
    ("get", "<ping xmlns='urn:xmpp:ping'/>"),
    ("set", "<ping xmlns='urn:xmpp:ping'/>"),
    ("set", "<query xmlns='urn:xmpp:mam:2' queryid='q'/>"),
    ("set", "<enable xmlns='urn:xmpp:carbons:2'/>"),
    ("set", "<query xmlns='jabber:iq:register'><remove/></query>"),
    ("set", "<command xmlns='http://jabber.org/protocol/commands' node='x' action='execute'/>"),
    ("get", "<query xmlns='urn:example:unknown'/>"),
    ("set", "<query xmlns='urn:example:unknown'/>"),
    ("get", ""),
    ("set", "<a xmlns='urn:example:a'/><b xmlns='urn:example:b'/>"),
    ("get", "<blocklist xmlns='urn:xmpp:blocking'/>"),
]


async def test_requests_of_a_contact_leave_the_acknowledgements_in_step(
    prosody, cores: CoreMaker
) -> None:
    """Whatever a contact sends to our full address, every answer we count is written:
    afterwards the server acknowledges exactly what we sent, and the next message
    becomes "sent" on its own (a reply counted and not written would hold it back)."""
    alice = await cores(prosody, *prosody.make_user("alice"))
    conn = alice.core.sessions[alice.jid]._conn
    assert conn is not None
    full = str(conn.client.boundjid.full)
    plugin = conn.client.plugin["xep_0198"]
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        for kind, payload in REQUESTS:
            iq = bob.client.make_iq(ito=full, itype=kind)
            for child in ET.fromstring(f"<x>{payload}</x>"):
                iq.xml.append(child)
            iq.send()
        # alice reads in order: once this is answered, every request above has been read
        await bob.client.make_iq_get(ito=full, queryxmlns="jabber:iq:version").send(timeout=30)
        sent = await alice.send(bob.jid, "after the requests")
        await alice.events.wait(
            MessageStateChanged,
            lambda e: e.message.uid == sent.uid and e.message.state >= MessageState.SENT,
        )

        def in_step() -> bool:
            if plugin.last_ack == plugin.seq:
                return True
            plugin.request_ack()  # (an answer written after the last request is acked next)
            return False

        await eventually(in_step, what="the server's count equal to ours")
        assert (await bob.next_message())["body"] == "after the requests"
