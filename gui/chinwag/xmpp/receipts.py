"""XEP-0184 Message Delivery Receipts: we request them on every message we send, and
send ours only after the received message is stored (so "delivered" means kept). They are
one-to-one only: a room's messages are never acknowledged (XEP-0184 section 5.3)."""

from __future__ import annotations

from slixmpp.stanza import Message as MessageStanza

from chinwag.core.models import ConversationKind
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import RECEIPTS, Dispatcher, Inbound

NS = "urn:xmpp:receipts"


def received_id(stanza: MessageStanza) -> str:
    """The id a receipt confirms, or ""."""
    el = stanza.xml.find(f"{{{NS}}}received")
    return (el.get("id") or "") if el is not None else ""


def wants_receipt(stanza: MessageStanza) -> bool:
    return stanza.xml.find(f"{{{NS}}}request") is not None and bool(stanza["id"])


def register(dispatcher: Dispatcher, listener: ConnectionListener) -> None:
    """A receipt is taken (one for what another of our devices received is not ours);
    a message asking for one gets it once stored (see the messages handler)."""

    def handle(inbound: Inbound) -> bool:
        uid = received_id(inbound.stanza)
        if uid:
            if not inbound.sent:
                listener.on_receipt(uid, inbound.peer)
            return True
        if (
            not inbound.sent
            and inbound.kind is ConversationKind.CHAT
            and wants_receipt(inbound.stanza)
        ):
            inbound.receipt_to = inbound.stanza["from"].full
        return False

    dispatcher.add("receipts", RECEIPTS, handle)


def send_receipt(client: ChinwagClient, to: str, uid: str) -> None:
    ack = client.make_message(mto=to, mtype="chat")  # (one-to-one only)
    ack.xml.append(ack.xml.makeelement(f"{{{NS}}}received", {"id": uid}))
    ack.xml.append(ack.xml.makeelement("{urn:xmpp:hints}no-permanent-store", {}))
    ack.send()
