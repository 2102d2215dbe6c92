"""Conversion between message stanzas and core :class:`Message` objects, and the XEP-0359
ids (origin-id on what we send, stanza-id on what our server archived).

What a message does to an earlier one (a correction, a retraction, reactions) or which
one it answers (a reply) is read and written by one module per XEP, each registered
with the client's :class:`~chinwag.xmpp.dispatch.MessageFeatures`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.models import (
    ConversationKind,
    Direction,
    Message,
    MessageAction,
    MessageState,
    MessageType,
    Origin,
    new_message_uid,
)
from chinwag.xmpp import muc
from chinwag.xmpp.dispatch import MessageFeatures, kind_of, stanza_type

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
    """The XEP-0359 stanza-id that our server (``by``: our own bare address; a room for
    its messages) put on the
    message, or "" when there is none we can trust.

    A sender can put its own ``<stanza-id by=us>`` on a message, and Prosody 0.12 passes
    it through ahead of the one it adds. So: none on a message the server was asked not to
    archive (it adds none, and the sender's would be the only one), and none when there
    are several for us (which one is the server's cannot be told from the stanza)."""
    if stanza.xml.find(f"{{{NS_HINTS}}}no-store") is not None:
        return ""
    if stanza.xml.find(f"{{{NS_HINTS}}}no-permanent-store") is not None:
        return ""
    found = ""
    for el in stanza.xml.findall(f"{{{NS_SID}}}stanza-id"):
        try:
            owner = JID(el.get("by") or "").bare
        except InvalidJID:  # anyone can put a malformed one on a message: not ours
            continue
        if owner == by:
            if found:
                return ""
            found = el.get("id") or ""
    return found


def _stamp(el: Any) -> float | None:
    try:
        when = datetime.fromisoformat((el.get("stamp") or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:  # XEP-0082 stamps are UTC
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def delay_of(stanza: Any) -> float | None:
    """The XEP-0203 stamp of a stanza, whoever wrote it: only for a ``<forwarded/>`` in an
    archive result we asked our server for."""
    el = stanza.xml.find(f"{{{NS_DELAY}}}delay")
    return None if el is None else _stamp(el)


def server_delay(stanza: MessageStanza, domain: str) -> float | None:
    """The stamp our server (``domain``) added when it stored the message for us offline:
    the last ``<delay from=domain>``, since the server appends its own after any the
    sender wrote. Only meaningful for the messages flushed from offline storage at
    sign-in; on a live message the ``from`` proves nothing (a sender can write it)."""
    stamp = None
    for el in stanza.xml.findall(f"{{{NS_DELAY}}}delay"):
        if (el.get("from") or "").lower() == domain.lower():
            stamp = _stamp(el)
    return stamp


def message_uid(stanza: MessageStanza, archive_id: str = "") -> str:
    """What duplicates of one message share: the sender's origin-id, else its stanza id,
    else the archive id."""
    return origin_id(stanza) or stanza["id"] or archive_id


def build_outgoing(client: Any, message: Message) -> MessageStanza:
    """The stanza for one of our messages: id and origin-id are the message uid. A text
    (a new message or a correction) has a receipt request (XEP-0184) and the markable
    flag (XEP-0333), and says we are active (XEP-0085; the client's privacy filter takes
    that out when the user sends no chat states); a retraction or reactions have none of
    these: nobody reads them. Each of the client's message features then adds its element
    when the message has its field set."""
    stanza: MessageStanza = client.make_message(
        mto=message.peer,
        mbody=message.body,
        mtype=stanza_type(message.kind, message.subject, letter=message.letter),
        msubject=message.subject or None,
    )
    stanza["id"] = message.uid
    set_origin_id(stanza, message.uid)
    if message.action in (MessageAction.NEW, MessageAction.CORRECT):
        if message.kind is ConversationKind.CHAT:  # (never in a room: XEP-0184 5.3)
            stanza.xml.append(ET.Element("{urn:xmpp:receipts}request"))
        stanza.xml.append(ET.Element("{urn:xmpp:chat-markers:0}markable"))
        stanza.xml.append(ET.Element("{http://jabber.org/protocol/chatstates}active"))
    if message.mtype is not MessageType.NORMAL:
        # keep a Telepathy message-type visible to other Chinwag clients
        el = ET.SubElement(stanza.xml, "{urn:chinwag:message-type:0}type")
        el.text = str(int(message.mtype))
    client.message_features.write(stanza, message)
    return stanza


def to_message(
    stanza: MessageStanza,
    own: str,
    origin: Origin,
    features: MessageFeatures,
    *,
    archive_id: str = "",
    stamp: float | None = None,
) -> Message | None:
    """A core message from a message with a body or an action on an earlier message
    (read by ``features``, once each), or None. Works for messages to us and for our own
    messages seen again (carbons, archive).

    A room's message (type groupchat) is a message of the room's conversation: its
    sender is the occupant (``room@service/nick``, the nick as ``sender_resource``) and
    its stanza id the one the room stamped. Whether we are in that room, and whether it
    is our own message reflected, is for the core to say (see the inbound pipeline).
    From the room's own bare address only a moderation (XEP-0425) is read.

    ``stamp`` is when the message was sent, where our server said so (an archive result,
    offline storage); otherwise it is dated now, when it arrived: a stamp the sender
    wrote is never believed."""
    kind = kind_of(stanza)
    if stanza["type"] not in ("chat", "normal", "groupchat"):
        return None
    body = stanza["body"]
    room_itself = False
    if kind is ConversationKind.GROUPCHAT:
        peer = stanza["from"].bare
        if not peer:
            return None
        # The room itself speaking (a subject, a status) is no message; only its
        # announcement of a moderation (XEP-0425) is read, as an action.
        room_itself = not stanza["from"].resource
        sender = str(stanza["from"].full)
        outgoing = False
        archived_by = peer
        occupant_id = muc.occupant_id(stanza)
    else:
        sender = stanza["from"].bare or own
        outgoing = sender == own
        peer = stanza["to"].bare if outgoing else sender
        if not peer or (peer == own and not outgoing):
            return None
        archived_by = own
        occupant_id = ""
    mtype = MessageType.NORMAL
    el = stanza.xml.find("{urn:chinwag:message-type:0}type")
    if el is not None and (el.text or "").strip() in ("1", "2"):
        mtype = MessageType(int((el.text or "0").strip()))
    message = Message(
        account=own,
        peer=peer,
        direction=Direction.OUTGOING if outgoing else Direction.INCOMING,
        body=body,
        timestamp=time.time() if stamp is None else stamp,
        uid=message_uid(stanza, archive_id) or new_message_uid(),
        kind=kind,
        sender=sender,
        sender_resource=stanza["from"].resource,
        state=MessageState.SENT if outgoing else MessageState.RECEIVED,
        stanza_id=archive_id or stanza_id_by(stanza, archived_by),
        mtype=mtype,
        origin=origin,
        subject=stanza["subject"] or "",
        occupant_id=occupant_id,
    )
    message = features.read(stanza, message)  # (one bad element does not take the rest)
    if room_itself and not message.moderated_by:
        return None
    if not message.body and message.action is MessageAction.NEW:
        return None  # (a chat state, or an action missing or too broken to mean anything)
    return message
