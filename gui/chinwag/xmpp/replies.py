"""XEP-0461 Message Replies: ``<reply to=author id=.../>`` says which message this one
answers. Its quote of that message, for clients without the feature, is marked with a
XEP-0428 fallback range and is not part of the text."""

from __future__ import annotations

import logging
from dataclasses import replace

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import Message
from chinwag.xmpp import fallbacks, targets
from chinwag.xmpp.dispatch import MessageFeature, MessageFeatures

log = logging.getLogger(__name__)

NS = "urn:xmpp:reply:0"
FEATURE = NS
TAG = f"{{{NS}}}reply"


def present(stanza: MessageStanza) -> bool:
    return stanza.xml.find(TAG) is not None


def read(stanza: MessageStanza, message: Message) -> Message:
    """``message`` with ``reply_to`` and ``reply_to_jid`` set (the bare address of the author;
    "" when not given or not an address) from a well-formed reply, and take the quote
    out of the body: unless that would leave no text (then the body is kept whole)."""
    el = targets.only(stanza, TAG, "a reply")
    if el is None:
        return message
    uid = targets.target_id(el, "a reply", stanza)
    if not uid:
        return message
    author = ""
    to = el.get("to") or ""
    if to:
        try:
            author = JID(to).bare
        except InvalidJID:
            log.info("a reply from %s names a bad author %r", targets.sender(stanza), to[:100])
    text = fallbacks.strip(stanza, message.body, NS)
    return replace(
        message, reply_to=uid, reply_to_jid=author, body=text if text.strip() else message.body
    )


def write(stanza: MessageStanza, message: Message) -> None:
    """``<reply/>`` naming the message and its author (no quote: the body is the text)."""
    if not message.reply_to:
        return
    attrs = {"id": message.reply_to}
    if message.reply_to_jid:
        attrs["to"] = message.reply_to_jid
    ET.SubElement(stanza.xml, TAG, attrs)


def register(features: MessageFeatures) -> None:
    features.add(MessageFeature(NS, present, read, write))
