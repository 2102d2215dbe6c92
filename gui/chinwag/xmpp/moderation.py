"""XEP-0425 Message Moderation, in the form Prosody 0.12's mod_muc_moderation speaks
(``urn:xmpp:message-moderate:0``, on XEP-0422 fastening): a moderator asks the room to
remove a message, naming the room's stanza id::

    <iq type='set' to='room@service'>
      <apply-to xmlns='urn:xmpp:fasten:0' id='STANZA-ID'>
        <moderate xmlns='urn:xmpp:message-moderate:0'>
          <retract xmlns='urn:xmpp:message-retract:0'/><reason>...</reason>
        </moderate></apply-to></iq>

and the room announces the removal to everyone, from its own bare address::

    <message from='room@service' type='groupchat'>
      <apply-to xmlns='urn:xmpp:fasten:0' id='STANZA-ID'>
        <moderated xmlns='urn:xmpp:message-moderate:0' by='room@service/nick'>
          <retract xmlns='urn:xmpp:message-retract:0'/><reason>...</reason>
        </moderated></apply-to></message>

An announcement is read as a retraction of that stanza id with who moderated and why;
whether it came from the room itself (only the room may moderate) is for the core to
say, since an occupant can send the same element."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from xml.etree.ElementTree import Element

from slixmpp import JID
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import Message
from chinwag.xmpp import targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures
from chinwag.xmpp.iq import request
from chinwag.xmpp.retractions import APPLY_TO, NS_LEGACY

log = logging.getLogger(__name__)

NS = "urn:xmpp:message-moderate:0"
FEATURE = NS
MODERATED = f"{{{NS}}}moderated"
#: The longest reason (or moderator address) kept.
MAX_TEXT_CHARS = 1024


def _announcements(stanza: MessageStanza) -> list[Element]:
    return [el for el in stanza.xml.findall(APPLY_TO) if el.find(MODERATED) is not None]


def present(stanza: MessageStanza) -> bool:
    return bool(_announcements(stanza))


def read(stanza: MessageStanza, message: Message) -> Message:
    """``message`` as the retraction a room's announcement is (``retracts`` the room's
    stanza id, ``moderated_by``, ``moderation_reason``; no body). Only a room's message
    (type groupchat) can be one; a malformed one leaves the message as it is."""
    found = _announcements(stanza)
    if not found:
        return message
    if stanza["type"] != "groupchat":
        log.info("a moderation outside a room from %s: ignored", targets.sender(stanza))
        return message
    if len({el.get("id") for el in found}) > 1:
        log.info("a moderation from %s names several messages: ignored", targets.sender(stanza))
        return message
    moderated = found[0].find(MODERATED)
    assert moderated is not None
    if moderated.find(f"{{{NS_LEGACY}}}retract") is None:
        log.info("a moderation from %s removes nothing: ignored", targets.sender(stanza))
        return message
    uid = targets.target_id(found[0], "a moderation", stanza)
    if not uid:
        return message
    by = (moderated.get("by") or "").strip()[:MAX_TEXT_CHARS] or str(stanza["from"].bare)
    why = moderated.find(f"{{{NS}}}reason")
    reason = (why.text or "")[:MAX_TEXT_CHARS] if why is not None else ""
    return replace(message, retracts=uid, moderated_by=by, moderation_reason=reason, body="")


def write(stanza: MessageStanza, message: Message) -> None:
    """Nothing: a moderation is asked for with an IQ (:func:`moderate`), never sent as a
    message."""


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))


async def moderate(client: Any, room: str, stanza_id: str, reason: str = "") -> None:
    """Ask ``room`` to remove its message ``stanza_id`` for everyone (we must be a
    moderator there). Raises :class:`RequestRefused` with the room's condition."""
    iq = client.make_iq_set(ito=JID(room))
    apply_to = ET.SubElement(iq.xml, APPLY_TO, {"id": stanza_id})
    el = ET.SubElement(apply_to, f"{{{NS}}}moderate")
    ET.SubElement(el, f"{{{NS_LEGACY}}}retract")
    if reason:
        ET.SubElement(el, f"{{{NS}}}reason").text = reason
    await request(iq, f"remove a message in {room}")
