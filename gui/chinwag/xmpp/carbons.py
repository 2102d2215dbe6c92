"""XEP-0280 Message Carbons: copies of what the user's other devices send and receive,
so every conversation is complete here too."""

from __future__ import annotations

from typing import Any

from slixmpp.stanza import Message as MessageStanza

from chinwag.core.models import Origin
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import CARBONS, Dispatcher, Inbound, MessageFeatures

NS = "urn:xmpp:carbons:2"
PRIVATE = f"{{{NS}}}private"


async def enable(client: ChinwagClient) -> bool:
    try:
        await client.plugin["xep_0280"].enable(timeout=10)
    except Exception:  # the server lacks carbons: not fatal, just fewer copies
        return False
    return True


def unwrap(stanza: MessageStanza, own: str) -> tuple[MessageStanza, str] | None:
    """(forwarded message, "sent"|"received") for a carbon from our own account, else
    None. A carbon from anyone else is a spoof and is ignored."""
    for kind in ("sent", "received"):
        el = stanza.xml.find(f"{{{NS}}}{kind}")
        if el is None:
            continue
        if stanza["from"].bare != own:
            return None
        inner: Any = stanza[f"carbon_{kind}"]
        return inner, kind
    return None


def register(dispatcher: Dispatcher, own: str, features: MessageFeatures) -> None:
    """A carbon from our own account becomes the message it copies, for the handlers
    after this one; one from anyone else is a spoof: its copy is not read. A message
    marked private that carries neither a text nor one of ``features``' elements is
    ignored whole."""

    def handle(inbound: Inbound) -> bool:
        stanza = inbound.stanza
        carbon = unwrap(stanza, own)
        if carbon is not None:
            inbound.stanza, kind = carbon
            inbound.origin = Origin.CARBON
            inbound.sent = kind == "sent"
            return False
        return (
            stanza.xml.find(PRIVATE) is not None
            and not stanza["body"]
            and not features.present(stanza)
        )

    dispatcher.add("carbons", CARBONS, handle)
