"""Issue 12, a big room's join over Prosody: the occupants' presences, each with its
client's capabilities (XEP-0115), are no query and no write each. 200 occupants with 3
distinct capabilities (one of them a string that does not verify, which slixmpp's own
handler asked about again for every occupant carrying it): 3 disco#info queries in all,
and the history's database hardly written."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from helpers import eventually, fresh_room
from slixmpp import JID
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody

MUC = "http://jabber.org/protocol/muc"
CAPS = "http://jabber.org/protocol/caps"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
OCCUPANTS = 200
GROUPS = 3
#: The third group's clients announce a string their disco#info does not verify.
BOGUS = "bogus+version+string="


async def occupant(server: Any, jid: str, password: str, room: str, i: int) -> XmppPeer:
    """One occupant's client in ``room``, announcing the capabilities of group i % 3."""
    peer = XmppPeer(server, f"{jid}/o{i}", password)
    client = peer.client
    client.register_plugin("xep_0115")
    caps = client.plugin["xep_0115"]
    caps.broadcast = False  # (added by hand below)
    client.remove_handler("Entity Capabilities")  # the crowd does not ask each other
    client.plugin["xep_0030"].add_feature(f"urn:example:group:{i % GROUPS}")
    await peer.login(timeout=60)
    await caps.update_caps(broadcast=False)
    ver = BOGUS if i % GROUPS == 2 else await caps.get_verstring(client.boundjid)
    presence = client.make_presence(pto=JID(f"{room}/occupant-{i}"))
    x = ET.SubElement(presence.xml, f"{{{MUC}}}x")
    ET.SubElement(x, f"{{{MUC}}}history", {"maxstanzas": "0"})
    attrs = {"hash": "sha-1", "node": caps.caps_node, "ver": ver}
    ET.SubElement(presence.xml, f"{{{CAPS}}}c", attrs)
    presence.send()
    return peer


async def test_a_crowd_joins_without_a_query_or_a_write_per_occupant(
    prosody: Any, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    room = fresh_room(prosody, "crowd")
    await alice.core.rooms.join(alice.jid, room, "Alice")  # (made by Alice, open)
    jid, password = prosody.make_user("crowd")
    crowd: list[XmppPeer] = []
    try:
        for first in range(0, OCCUPANTS, 25):
            crowd += await asyncio.gather(
                *(
                    occupant(prosody, jid, password, room, i)
                    for i in range(first, min(first + 25, OCCUPANTS))
                )
            )
        await eventually(
            lambda: len(alice.core.rooms.room(alice.jid, room).occupants) == OCCUPANTS,  # type: ignore[union-attr]
            timeout=120,
            what="the crowd in the room",
        )
        bob = await cores(prosody, *prosody.make_user("bob"))
        client = bob.core.sessions[bob.jid].connection.client  # type: ignore[union-attr]
        queries: list[str] = []
        answered: list[str] = []

        def sent(stanza: Any) -> Any:
            xml = stanza.xml
            if (
                xml.tag == "{jabber:client}iq"
                and xml.get("type") == "get"
                and xml.find(f"{{{DISCO_INFO}}}query") is not None
                and JID(xml.get("to") or "").bare == room
            ):
                queries.append(xml.get("id"))
            return stanza

        def answer(stanza: Any) -> None:
            if stanza.xml.get("id") in queries:
                answered.append(stanza.xml.get("id"))

        client.add_filter("out_sync", sent)
        client.register_handler(
            Callback("test: caps answers", MatchXPath("{jabber:client}iq"), answer)
        )
        writes = bob.core.store.database.stats.writes

        # Bob joins: every occupant's presence (200, 3 capabilities) comes before his own.
        joined = await bob.core.rooms.join(bob.jid, room, "Bob")
        assert len(joined.occupants) == OCCUPANTS + 1
        await eventually(
            lambda: len(queries) >= GROUPS and len(answered) == len(queries),
            what="the capabilities queries answered",
        )
        for _ in range(2):  # (a query sent after an answer goes out before these return)
            await client.plugin["xep_0030"].get_info(jid=prosody.domain, cached=False)
        await bob.core.messaging.drain()

        # One query per distinct capability, whether it verified or not; none per occupant.
        assert len(queries) == GROUPS
        caps = client.plugin["xep_0115"]
        assert await caps.get_caps(verstring=BOGUS) is None
        for peer in crowd[:2]:  # the two that verify are known now
            ver = await peer.client.plugin["xep_0115"].get_verstring(peer.client.boundjid)
            assert await caps.get_caps(verstring=ver) is not None
        # The presences wrote nothing: what was written is the join's own (a handful).
        assert bob.core.store.database.stats.writes - writes < 10
    finally:
        for peer in crowd:
            with contextlib.suppress(Exception):
                await peer.logout(wait=0.5)
