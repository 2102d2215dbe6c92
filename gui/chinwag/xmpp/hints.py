"""XEP-0334 Message Processing Hints: ask the server to archive a message that has no
body (a retraction's fallback aside, actions are not texts servers keep by themselves)."""

from __future__ import annotations

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

NS = "urn:xmpp:hints"


def store(stanza: MessageStanza) -> None:
    """Add ``<store/>`` (once)."""
    if stanza.xml.find(f"{{{NS}}}store") is None:
        ET.SubElement(stanza.xml, f"{{{NS}}}store")
