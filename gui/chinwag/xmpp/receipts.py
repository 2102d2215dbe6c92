"""XEP-0184 Message Delivery Receipts: we request them on every message we send, and
send ours only after the received message is stored (so "delivered" means kept)."""

from __future__ import annotations

from slixmpp.stanza import Message as MessageStanza

from chinwag.xmpp.client import ChinwagClient

NS = "urn:xmpp:receipts"


def received_id(stanza: MessageStanza) -> str:
    """The id a receipt confirms, or ""."""
    el = stanza.xml.find(f"{{{NS}}}received")
    return (el.get("id") or "") if el is not None else ""


def wants_receipt(stanza: MessageStanza) -> bool:
    return stanza.xml.find(f"{{{NS}}}request") is not None and bool(stanza["id"])


def send_receipt(client: ChinwagClient, to: str, uid: str) -> None:
    ack = client.make_message(mto=to, mtype="chat")
    ack.xml.append(ack.xml.makeelement(f"{{{NS}}}received", {"id": uid}))
    ack.xml.append(ack.xml.makeelement("{urn:xmpp:hints}no-permanent-store", {}))
    ack.send()
