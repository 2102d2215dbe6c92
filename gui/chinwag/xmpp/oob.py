"""XEP-0066 Out of Band Data, the ``jabber:x:oob`` element of a message: the link to a
file, sent with the same URL as the body (the fallback every client shows, and what
XEP-0363 clients such as Conversations and Dino look for). Read on incoming messages
into ``Message.oob_url``: only an http(s) URL of a sane length; anything else is
dropped and the message keeps its text."""

from __future__ import annotations

import logging
from dataclasses import replace

from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import Message
from chinwag.xmpp import targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures

log = logging.getLogger(__name__)

NS = "jabber:x:oob"
FEATURE = NS
TAG = f"{{{NS}}}x"
#: The longest URL read.
MAX_URL_CHARS = 4096


def present(stanza: MessageStanza) -> bool:
    return stanza.xml.find(TAG) is not None


def read(stanza: MessageStanza, message: Message) -> Message:
    el = stanza.xml.find(f"{TAG}/{{{NS}}}url")
    if el is None:
        return message
    url = (el.text or "").strip()
    if not url.lower().startswith(("https://", "http://")) or len(url) > MAX_URL_CHARS:
        log.info("an out-of-band link from %s is no http(s) URL: ignored", targets.sender(stanza))
        return message
    if any(c.isspace() for c in url):
        return message
    body = message.body or url  # (a link alone: its URL is what there is to show)
    return replace(message, oob_url=url, body=body)


def write(stanza: MessageStanza, message: Message) -> None:
    if message.oob_url:
        x = ET.SubElement(stanza.xml, TAG)
        ET.SubElement(x, f"{{{NS}}}url").text = message.oob_url


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))
