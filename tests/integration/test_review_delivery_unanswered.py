"""An IQ request must get a result or an error (RFC 6120 8.2.3)."""

from __future__ import annotations

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


@pytest.mark.parametrize(
    "payload",
    [
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
        "<query xmlns='http://jabber.org/protocol/disco#items'/>",
        "<time xmlns='urn:xmpp:time'/>",
        "<query xmlns='jabber:iq:last'/>",
        "<block xmlns='urn:xmpp:blocking'><item jid='c@localhost'/></block>",
    ],
)
async def test_a_set_request_of_a_contact_gets_an_error(
    prosody, cores: CoreMaker, payload: str
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    conn = alice.core.sessions[alice.jid]._conn
    assert conn is not None
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        iq = bob.client.make_iq_set(ito=str(conn.client.boundjid.full))
        iq.xml.append(ET.fromstring(payload))
        with pytest.raises(IqError):  # an IqTimeout here: no answer at all
            await iq.send(timeout=10)
