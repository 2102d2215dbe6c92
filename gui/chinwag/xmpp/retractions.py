"""XEP-0424 Message Retraction: ``<retract id=.../>`` (version 0.4 on) asks every client
to remove an earlier message of the sender. The older form, ``<apply-to id=...>`` (XEP-0422
fastening) around ``<retract xmlns='urn:xmpp:message-retract:0'/>``, is read as well. A
retraction's body is only a fallback for clients without the feature: never a text."""

from __future__ import annotations

import logging
from dataclasses import replace

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import Message
from chinwag.xmpp import fallbacks, hints, targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures

log = logging.getLogger(__name__)

NS = "urn:xmpp:message-retract:1"
FEATURE = NS
TAG = f"{{{NS}}}retract"
NS_LEGACY = "urn:xmpp:message-retract:0"
NS_FASTEN = "urn:xmpp:fasten:0"
APPLY_TO = f"{{{NS_FASTEN}}}apply-to"
#: The body we send for clients that cannot retract (XEP-0424's example, in substance).
FALLBACK = (
    "This person attempted to retract a previous message, but it's unsupported by your client."
)


def present(stanza: MessageStanza) -> bool:
    return stanza.xml.find(TAG) is not None or _legacy(stanza) != []


def _legacy(stanza: MessageStanza) -> list[ET.Element]:
    return [
        el for el in stanza.xml.findall(APPLY_TO) if el.find(f"{{{NS_LEGACY}}}retract") is not None
    ]


def read(stanza: MessageStanza, message: Message) -> Message:
    """``message`` with ``retracts`` set (and its fallback body dropped) from a well-formed
    retraction, of either form. A bad one leaves the message as it is: its body, if any,
    is then what a client without the feature would show."""
    uid = ""
    el = targets.only(stanza, TAG, "a retraction")
    if el is not None:
        uid = targets.target_id(el, "a retraction", stanza)
    if not uid:
        old = _legacy(stanza)
        if len({e.get("id") for e in old}) > 1:
            log.info("a retraction from %s names several messages", targets.sender(stanza))
        elif old:
            uid = targets.target_id(old[0], "a retraction", stanza)
    return replace(message, retracts=uid, body="") if uid else message


def write(stanza: MessageStanza, message: Message) -> None:
    """``<retract/>``, a fallback body marked as such, and a hint to archive it."""
    if not message.retracts:
        return
    stanza["body"] = FALLBACK
    ET.SubElement(stanza.xml, TAG, {"id": message.retracts})
    ET.SubElement(stanza.xml, f"{{{fallbacks.NS}}}fallback", {"for": NS})
    hints.store(stanza)


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))
