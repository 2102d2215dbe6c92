"""Invitations to rooms: XEP-0045 mediated invitations (section 7.8.2: the room sends
``<x xmlns='http://jabber.org/protocol/muc#user'><invite from=inviter>``, with an
optional reason and the room's password) and their declines, and XEP-0249 direct
invitations (``<x xmlns='jabber:x:conference' jid=room/>`` from a contact).

The stanza handler takes every stanza carrying one, so an invitation never becomes a
message (a room adds a plain body for clients that do not know invitations), and hands
it up as read: whether the room address is well-formed and whether a mediated one really
comes from a room is the core's to say (:mod:`chinwag.core.invitations`). A mediated
invitation that also carries ``jabber:x:conference`` (Prosody adds one for older
clients) is the mediated one. What our other devices sent (a sent carbon) and a decline
of one of our invitations are taken too, and only logged."""

from __future__ import annotations

import logging
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET

from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.dispatch import INVITATIONS, Dispatcher, Inbound

log = logging.getLogger(__name__)

NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_CONFERENCE = "jabber:x:conference"
MUC_X = f"{{{NS_MUC_USER}}}x"
CONFERENCE_X = f"{{{NS_CONFERENCE}}}x"
INVITE = f"{{{NS_MUC_USER}}}invite"
DECLINE = f"{{{NS_MUC_USER}}}decline"


def _muc_child(stanza: Any, tag: str) -> tuple[Any, Any]:
    """The first ``tag`` inside one of the stanza's muc#user ``<x/>``, and that ``<x/>``
    (None, None: there is none)."""
    for x in stanza.xml.findall(MUC_X):
        el = x.find(tag)
        if el is not None:
            return el, x
    return None, None


def _text(parent: Any, tag: str) -> str:
    el = parent.find(tag) if parent is not None else None
    return (el.text or "") if el is not None else ""


def carries_invitation(stanza: Any) -> bool:
    """The stanza is an invitation (either kind) or a decline of one: never a message."""
    return (
        stanza.xml.find(CONFERENCE_X) is not None
        or _muc_child(stanza, INVITE)[0] is not None
        or _muc_child(stanza, DECLINE)[0] is not None
    )


def register(dispatcher: Dispatcher, listener: ConnectionListener) -> None:
    """Every stanza carrying an invitation or a decline is taken (see the module)."""

    def handle(inbound: Inbound) -> bool:
        stanza: MessageStanza = inbound.stanza
        if stanza.xml.get("type") in ("error", "groupchat") or not carries_invitation(stanza):
            return False
        sender = stanza.xml.get("from") or ""
        if inbound.sent:
            return True  # what one of our other devices sent: not for us to answer
        invite, x = _muc_child(stanza, INVITE)
        if invite is not None:
            # (the password is beside the invite, XEP-0045 7.8.2)
            listener.on_invitation(
                sender,
                invite.get("from") or "",
                _text(invite, f"{{{NS_MUC_USER}}}reason"),
                _text(x, f"{{{NS_MUC_USER}}}password"),
                False,
            )
            return True
        direct = stanza.xml.find(CONFERENCE_X)
        if direct is not None:
            listener.on_invitation(
                direct.get("jid") or "",
                sender,
                direct.get("reason") or "",
                direct.get("password") or "",
                True,
            )
            return True
        decline, _x = _muc_child(stanza, DECLINE)
        log.info(
            "%s: %s declined an invitation (%r)",
            sender,
            decline.get("from") or "someone",
            _text(decline, f"{{{NS_MUC_USER}}}reason")[:200],
        )
        return True

    dispatcher.add("invitations", INVITATIONS, handle)


def _jid(text: str) -> JID:
    try:
        return JID(text)
    except InvalidJID as exc:
        raise ValueError(f"{text!r} is not a valid address") from exc


def send_direct(client: Any, room: str, contact: str, reason: str = "", password: str = "") -> None:
    """XEP-0249: invite ``contact`` to ``room`` ourselves (type normal, as the XEP's
    example: a client that does not know it shows nothing)."""
    msg = client.make_message(mto=_jid(contact), mtype="normal")
    attrs = {"jid": str(_jid(room).bare)}
    if reason:
        attrs["reason"] = reason
    if password:
        attrs["password"] = password
    msg.xml.append(ET.Element(CONFERENCE_X, attrs))
    msg.send()


def send_mediated(client: Any, room: str, contact: str, reason: str = "") -> None:
    """XEP-0045 7.8.2: ask ``room`` to invite ``contact`` (the room adds its password)."""
    msg = client.make_message(mto=_jid(room).bare)
    x = ET.SubElement(msg.xml, MUC_X)
    invite = ET.SubElement(x, INVITE, {"to": str(_jid(contact).bare)})
    if reason:
        ET.SubElement(invite, f"{{{NS_MUC_USER}}}reason").text = reason
    msg.send()


def send_decline(client: Any, room: str, inviter: str, reason: str = "") -> None:
    """XEP-0045 7.8.2: decline a mediated invitation; the room passes it to ``inviter``."""
    msg = client.make_message(mto=_jid(room).bare)
    x = ET.SubElement(msg.xml, MUC_X)
    decline = ET.SubElement(x, DECLINE, {"to": str(_jid(inviter))})
    if reason:
        ET.SubElement(decline, f"{{{NS_MUC_USER}}}reason").text = reason
    msg.send()
