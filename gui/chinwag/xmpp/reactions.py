"""XEP-0444 Message Reactions: ``<reactions id=...>`` holds all of the sender's
reactions to that message (none: all taken back), each a ``<reaction/>`` with an emoji."""

from __future__ import annotations

import logging
from dataclasses import replace

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import MAX_REACTION_CHARS, MAX_REACTIONS, Message
from chinwag.xmpp import hints, targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures

log = logging.getLogger(__name__)

NS = "urn:xmpp:reactions:0"
FEATURE = NS
TAG = f"{{{NS}}}reactions"
REACTION = f"{{{NS}}}reaction"


def present(stanza: MessageStanza) -> bool:
    return stanza.xml.find(TAG) is not None


def read(stanza: MessageStanza, message: Message) -> Message:
    """``message`` with ``reacts_to`` and ``reactions`` set from well-formed reactions:
    each distinct reaction once, in the sender's order; an empty one, one longer than
    MAX_REACTION_CHARS or one with elements inside is dropped, and past MAX_REACTIONS
    the rest are (logged). No reaction at all takes the sender's back; only bad ones
    are no reactions. A reactions stanza has no text: any body is a fallback."""
    el = targets.only(stanza, TAG, "reactions")
    if el is None:
        return message
    uid = targets.target_id(el, "reactions", stanza)
    if not uid:
        return message
    found: list[str] = []
    bad = 0
    for child in el:
        if child.tag != REACTION:
            continue  # nothing else belongs there: not a reaction
        text = (child.text or "").strip()
        if len(child) or not text or len(text) > MAX_REACTION_CHARS:
            bad += 1
            continue
        found.append(text)
    chosen = list(dict.fromkeys(found))
    if bad:
        log.info("%d malformed reactions from %s dropped", bad, targets.sender(stanza))
        if not chosen:  # not "all taken back": nothing readable was sent
            return message
    if len(chosen) > MAX_REACTIONS:
        log.info(
            "%d reactions from %s to one message: the %d after the first %d dropped",
            len(chosen),
            targets.sender(stanza),
            len(chosen) - MAX_REACTIONS,
            MAX_REACTIONS,
        )
        del chosen[MAX_REACTIONS:]
    return replace(message, reacts_to=uid, reactions=tuple(chosen), body="")


def write(stanza: MessageStanza, message: Message) -> None:
    """``<reactions/>`` with every reaction of ours (none: all taken back), no body, and
    a hint to archive it (a server keeps no bodiless message by itself)."""
    if not message.reacts_to:
        return
    stanza["body"] = ""
    el = ET.SubElement(stanza.xml, TAG, {"id": message.reacts_to})
    for reaction in message.reactions:
        ET.SubElement(el, REACTION).text = reaction
    hints.store(stanza)


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))
