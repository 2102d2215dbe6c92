"""XEP-0308 Last Message Correction: a message whose ``<replace id=.../>`` names an
earlier one carries that message's new text. The id is always the first one of the
chain (what the sender put on the message it corrects: its origin id in a chat)."""

from __future__ import annotations

import logging
from dataclasses import replace

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import Message
from chinwag.xmpp import targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures

log = logging.getLogger(__name__)

NS = "urn:xmpp:message-correct:0"
FEATURE = NS
TAG = f"{{{NS}}}replace"


def present(stanza: MessageStanza) -> bool:
    return stanza.xml.find(TAG) is not None


def read(stanza: MessageStanza, message: Message) -> Message:
    """``message`` with ``replaces`` set from a well-formed correction. One without a text is
    none (some clients send ``<replace/>`` with a chat state while the user edits)."""
    el = targets.only(stanza, TAG, "a correction")
    if el is None:
        return message
    uid = targets.target_id(el, "a correction", stanza)
    if not uid:
        return message
    if not message.body.strip():
        log.debug("a correction from %s has no text: not a correction", targets.sender(stanza))
        return message
    return replace(message, replaces=uid)


def write(stanza: MessageStanza, message: Message) -> None:
    """The stanza's body is the new text; ``<replace/>`` names the first id."""
    if message.replaces:
        ET.SubElement(stanza.xml, TAG, {"id": message.replaces})


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))
