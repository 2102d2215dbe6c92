"""Rooms on the rig's MUC service (``conference.localhost``) made by a slixmpp peer
(:class:`rig.peer.XmppPeer`): joined, which creates the room, then unlocked with the
room's default configuration (an instant room, XEP-0045 10.1.2), so others can join it,
be invited to it and look it up."""

from __future__ import annotations

import secrets
from typing import Any

from slixmpp import JID
from slixmpp.xmlstream import ET

from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

NS_OWNER = "http://jabber.org/protocol/muc#owner"


def room_name(server: ProsodyServer, prefix: str = "room") -> str:
    """A fresh room address on ``server``'s MUC service."""
    return f"{prefix}-{secrets.token_hex(4)}@{server.muc_domain}"


async def make_room(
    peer: XmppPeer, room: str, nick: str = "owner", config: dict[str, str] | None = None
) -> None:
    """``peer`` creates ``room`` by joining it, and unlocks it with the defaults and
    ``config`` (muc#roomconfig fields)."""
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    await client.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)
    iq = client.make_iq_set(ito=JID(room))
    query = ET.SubElement(iq.xml, f"{{{NS_OWNER}}}query")
    form = ET.SubElement(query, "{jabber:x:data}x", {"type": "submit"})
    fields = {"FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", **(config or {})}
    for var, value in fields.items() if config else ():
        field = ET.SubElement(form, "{jabber:x:data}field", {"var": var})
        ET.SubElement(field, "{jabber:x:data}value").text = value
    await iq.send(timeout=15)


async def room_features(peer: XmppPeer, room: str) -> set[str]:
    """The features ``room`` lists in disco#info (XEP-0030)."""
    client: Any = peer.client
    if "xep_0030" not in client.plugin:
        client.register_plugin("xep_0030")
    info = await client.plugin["xep_0030"].get_info(jid=JID(room), timeout=15)
    return set(info["disco_info"]["features"])
