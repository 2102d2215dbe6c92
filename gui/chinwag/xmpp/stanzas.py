"""Conversion between message stanzas and core :class:`Message` objects, and the XEP-0359
ids (origin-id on what we send, stanza-id on what our server archived)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import (
    ConversationKind,
    Direction,
    Message,
    MessageState,
    MessageType,
    Origin,
    new_message_uid,
)

NS_SID = "urn:xmpp:sid:0"
NS_DELAY = "urn:xmpp:delay"
NS_HINTS = "urn:xmpp:hints"


def origin_id(stanza: MessageStanza) -> str:
    el = stanza.xml.find(f"{{{NS_SID}}}origin-id")
    return (el.get("id") or "") if el is not None else ""


def set_origin_id(stanza: MessageStanza, uid: str) -> None:
    old = stanza.xml.find(f"{{{NS_SID}}}origin-id")
    if old is not None:
        stanza.xml.remove(old)
    el = ET.SubElement(stanza.xml, f"{{{NS_SID}}}origin-id")
    el.set("id", uid)


def stanza_id_by(stanza: MessageStanza, by: str) -> str:
    """The XEP-0359 stanza-id that ``by`` (our own bare address) put on the message."""
    for el in stanza.xml.findall(f"{{{NS_SID}}}stanza-id"):
        try:
            owner = JID(el.get("by") or "").bare
        except InvalidJID:  # anyone can put a malformed one on a message: not ours
            continue
        if owner == by:
            return el.get("id") or ""
    return ""


def delay_of(stanza: MessageStanza, trusted: frozenset[str] | None = None) -> float | None:
    """The XEP-0203 stamp, if any; with ``trusted``, only one put there by one of those
    (our server or our account: a contact could back-date or future-date a message)."""
    el = stanza.xml.find(f"{{{NS_DELAY}}}delay")
    if el is None or not el.get("stamp"):
        return None
    if trusted is not None and (el.get("from") or "").lower() not in trusted:
        return None
    try:
        return datetime.fromisoformat(el.get("stamp", "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def message_uid(stanza: MessageStanza, archive_id: str = "") -> str:
    """What duplicates of one message share: the sender's origin-id, else its stanza id,
    else the archive id."""
    return origin_id(stanza) or stanza["id"] or archive_id


def build_outgoing(client: Any, message: Message) -> MessageStanza:
    """The stanza for one of our messages: id and origin-id are the message uid, with a
    receipt request (XEP-0184) and the markable flag (XEP-0333)."""
    stanza: MessageStanza = client.make_message(
        mto=message.peer,
        mbody=message.body,
        mtype="chat" if message.kind is ConversationKind.CHAT else "groupchat",
        msubject=message.subject or None,
    )
    stanza["id"] = message.uid
    set_origin_id(stanza, message.uid)
    stanza.xml.append(ET.Element("{urn:xmpp:receipts}request"))
    stanza.xml.append(ET.Element("{urn:xmpp:chat-markers:0}markable"))
    stanza.xml.append(ET.Element("{http://jabber.org/protocol/chatstates}active"))
    if message.mtype is not MessageType.NORMAL:
        # keep a Telepathy message-type visible to other Chinwag clients
        el = ET.SubElement(stanza.xml, "{urn:chinwag:message-type:0}type")
        el.text = str(int(message.mtype))
    return stanza


def to_message(
    stanza: MessageStanza,
    own: str,
    origin: Origin,
    *,
    archive_id: str = "",
    archive_stamp: float | None = None,
) -> Message | None:
    """A core message from a chat/normal message with a body, or None. Works for
    messages to us and for our own messages seen again (carbons, archive)."""
    body = stanza["body"]
    if not body or stanza["type"] not in ("chat", "normal"):
        return None
    sender = stanza["from"].bare or own
    outgoing = sender == own
    peer = stanza["to"].bare if outgoing else sender
    if not peer or (peer == own and not outgoing):
        return None
    mtype = MessageType.NORMAL
    el = stanza.xml.find("{urn:chinwag:message-type:0}type")
    if el is not None and (el.text or "").strip() in ("1", "2"):
        mtype = MessageType(int((el.text or "0").strip()))
    trusted = frozenset({own, own.partition("@")[2]})
    stamp = archive_stamp or delay_of(stanza, trusted) or time.time()
    return Message(
        account=own,
        peer=peer,
        direction=Direction.OUTGOING if outgoing else Direction.INCOMING,
        body=body,
        timestamp=stamp,
        uid=message_uid(stanza, archive_id) or new_message_uid(),
        sender=sender,
        sender_resource=stanza["from"].resource,
        state=MessageState.SENT if outgoing else MessageState.RECEIVED,
        stanza_id=archive_id or stanza_id_by(stanza, own),
        mtype=mtype,
        origin=origin,
        subject=stanza["subject"] or "",
    )
