"""XEP-0335 JSON Containers: ``<json xmlns='urn:xmpp:json:0'>`` carries a message's
payload (conversations-api.md: a JSON array of objects, for applications). What is no
JSON array of objects is dropped (logged): the message keeps its text."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import Message
from chinwag.xmpp import targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures

log = logging.getLogger(__name__)

NS = "urn:xmpp:json:0"
FEATURE = NS
TAG = f"{{{NS}}}json"
#: The largest payload read (characters of JSON text).
MAX_PAYLOAD_CHARS = 64 * 1024


def canonical(text: str) -> str | None:
    """``text`` as compact JSON when it is a JSON array of objects, else None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def present(stanza: MessageStanza) -> bool:
    return stanza.xml.find(TAG) is not None


def read(stanza: MessageStanza, message: Message) -> Message:
    """``message`` with ``payload`` from the first JSON container (when it holds a JSON
    array of objects)."""
    el = stanza.xml.find(TAG)
    if el is None:
        return message
    text = el.text or ""
    payload = canonical(text) if len(text) <= MAX_PAYLOAD_CHARS else None
    if payload is None:
        log.info("a JSON payload from %s is no array of objects: ignored", targets.sender(stanza))
        return message
    return replace(message, payload=payload)


def write(stanza: MessageStanza, message: Message) -> None:
    if message.payload:
        ET.SubElement(stanza.xml, TAG).text = message.payload


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))
