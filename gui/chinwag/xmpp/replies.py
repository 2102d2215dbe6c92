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
    "" when not given or not an address) from a well-formed reply, and the quote taken
    out of the body into ``reply_quote`` (shown for a message we do not have): unless
    that would leave no text (then the body is kept whole, and no quote)."""
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
    text, quoted = fallbacks.split(stanza, message.body, NS)
    if not text.strip():
        text, quoted = message.body, ""
    return replace(
        message, reply_to=uid, reply_to_jid=author, body=text, reply_quote=quote_of(quoted)
    )


#: The most of a reply's quote kept (it is shown on one line, for a message we lack).
MAX_QUOTE_CHARS = 1_000


def quote_of(fallback: str) -> str:
    """The text a reply's fallback quotes: its "> " marks and an attribution line
    ("Alice wrote:") taken off, blank lines dropped; at most MAX_QUOTE_CHARS."""
    lines = []
    for line in fallback.splitlines():
        # The marks and the blanks between them, in one pass (taking one mark at a time
        # copies the rest of the line each time: a long line of marks took seconds).
        start, end = 0, len(line)
        while start < end and (line[start] == ">" or line[start].isspace()):
            start += 1
        stripped = line[start:].rstrip()
        if stripped:
            lines.append(stripped)
    if len(lines) > 1 and lines[0].endswith(":"):
        del lines[0]  # "Anna wrote:" (XEP-0461's example) before the quoted lines
    return "\n".join(lines)[:MAX_QUOTE_CHARS]


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
