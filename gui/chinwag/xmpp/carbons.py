"""XEP-0280 Message Carbons: copies of what the user's other devices send and receive,
so every conversation is complete here too."""

from __future__ import annotations

from typing import Any

from slixmpp.stanza import Message as MessageStanza

from chinwag.xmpp.client import ChinwagClient

NS = "urn:xmpp:carbons:2"


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
