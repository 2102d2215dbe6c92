"""XEP-0045 Multi-User Chat, the client's side: joining and leaving rooms, the room's
presences about its occupants (and about us: status 110), its subject, and the errors it
answers a join with. The room's messages are ordinary message stanzas of type
groupchat: :func:`chinwag.xmpp.stanzas.to_message` reads them (with the occupant id of
XEP-0421) and the core decides whose they are.

History is not taken from the join (``maxstanzas=0``): the room's archive (MAM on the
room) gives it without duplicates."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.models import Affiliation, Role, RoomPresence, Show
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.dispatch import ROOMS, Dispatcher, Inbound
from chinwag.xmpp.iq import request
from chinwag.xmpp.presence import SHOW_IN

if TYPE_CHECKING:
    from chinwag.xmpp.client import ChinwagClient

log = logging.getLogger(__name__)

NS = "http://jabber.org/protocol/muc"
NS_USER = f"{NS}#user"
NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

#: The longest subject, status or reason kept (a room may send a quarter of a megabyte).
MAX_TEXT_CHARS = 16_384

_ROLES = {r.value: r for r in Role}
_AFFILIATIONS = {a.value: a for a in Affiliation}


def occupant_id(stanza: Any) -> str:
    """The XEP-0421 occupant id the room put on a stanza ("" : none). Only the room's
    own is believed: a room strips any an occupant sent."""
    el = stanza.xml.find(f"{{{NS_OCCUPANT_ID}}}occupant-id")
    return (el.get("id") or "")[:256] if el is not None else ""


def read_presence(stanza: Any) -> RoomPresence | None:
    """A room's presence about one occupant, or None for anything else (a presence
    without ``<x xmlns=muc#user>``, or one not from a room occupant's address)."""
    x = stanza.xml.find(f"{{{NS_USER}}}x")
    sender = stanza["from"]
    if x is None or not sender.bare or not sender.resource:
        return None
    item = x.find(f"{{{NS_USER}}}item")
    codes: set[int] = set()
    for status in x.findall(f"{{{NS_USER}}}status"):
        code = status.get("code") or ""
        if code.isdigit() and len(code) == 3:
            codes.add(int(code))
    role, affiliation, jid, new_nick, reason = Role.NONE, Affiliation.NONE, "", "", ""
    if item is not None:
        role = _ROLES.get(item.get("role") or "", Role.NONE)
        affiliation = _AFFILIATIONS.get(item.get("affiliation") or "", Affiliation.NONE)
        with_jid = item.get("jid") or ""
        if with_jid:
            try:
                jid = JID(with_jid).bare
            except InvalidJID:
                log.info("%s gives a bad address %r for an occupant", sender.bare, with_jid[:100])
        new_nick = item.get("nick") or ""  # (a resourcepart: at most 1,023 bytes)
        why = item.find(f"{{{NS_USER}}}reason")
        reason = (why.text or "")[:MAX_TEXT_CHARS] if why is not None else ""
    destroyed = x.find(f"{{{NS_USER}}}destroy")
    if destroyed is not None:
        why = destroyed.find(f"{{{NS_USER}}}reason")
        reason = (why.text or "")[:MAX_TEXT_CHARS] if why is not None else reason
    available = stanza.xml.get("type") != "unavailable"
    return RoomPresence(
        room=sender.bare,
        nick=sender.resource,  # as the room's messages name it (the JID bounds it)
        available=available,
        role=role if available else Role.NONE,
        affiliation=affiliation,
        jid=jid,
        occupant_id=occupant_id(stanza),
        show=SHOW_IN.get(stanza["show"] or "", Show.ONLINE) if available else Show.OFFLINE,
        status=(stanza["status"] or "")[:MAX_TEXT_CHARS],
        codes=frozenset(codes),
        new_nick=new_nick,
        reason=reason,
        destroyed=destroyed is not None,
    )


def error_condition(stanza: Any) -> tuple[str, str]:
    """The defined condition and text of an error stanza ("undefined-condition", "")."""
    error = stanza.xml.find("{jabber:client}error")
    if error is None:
        return "undefined-condition", ""
    condition, text = "", ""
    for child in error:
        tag = child.tag
        if tag == f"{{{NS_STANZAS}}}text":
            text = (child.text or "")[:MAX_TEXT_CHARS]
        elif tag.startswith(f"{{{NS_STANZAS}}}") and not condition:
            condition = tag.partition("}")[2]
    return condition or "undefined-condition", text


class RoomFeature:
    """Joins and leaves rooms for one connection and tells the listener what the rooms
    say: presences (``on_room_presence``), a refused join (``on_room_error``), a subject
    (``on_room_subject``)."""

    def __init__(
        self, client: ChinwagClient, listener: ConnectionListener, dispatcher: Dispatcher
    ) -> None:
        self._client = client
        self._listener = listener
        #: Rooms we asked to join and have not heard from yet: their error presences are
        #: ours (a room's error carries no muc#user element).
        self._joining: set[str] = set()
        client.register_handler(
            Callback(
                "Chinwag room presence",
                MatchXPath(f"{{jabber:client}}presence/{{{NS_USER}}}x"),
                self._on_presence,
            )
        )
        client.register_handler(
            Callback(
                "Chinwag room join error",
                MatchXPath("{jabber:client}presence/{jabber:client}error"),
                self._on_error,
            )
        )
        dispatcher.add("room subject", ROOMS, self._on_message)

    def join(self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE) -> None:
        """Ask to enter ``room`` as ``nick`` (no history: the archive gives it)."""
        presence = self._client.make_presence(pto=JID(f"{room}/{nick}"))
        if show in (Show.AWAY, Show.XA, Show.DND, Show.CHAT):
            presence["show"] = show.value
        x = ET.SubElement(presence.xml, f"{{{NS}}}x")
        ET.SubElement(x, f"{{{NS}}}history", {"maxstanzas": "0"})
        if password:
            ET.SubElement(x, f"{{{NS}}}password").text = password
        self._joining.add(room)
        presence.send()

    def leave(self, room: str, nick: str, status: str = "") -> None:
        self._joining.discard(room)
        self._client.send_presence(
            pto=JID(f"{room}/{nick}"), ptype="unavailable", pstatus=status or None
        )

    async def configure(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        """Submit the room's configuration form with ``fields`` (muc#roomconfig_...);
        an empty one accepts the room's defaults (an instant room, XEP-0045 10.1.2).
        Raises :class:`RequestRefused` with the room's condition."""
        iq = self._client.make_iq_set(ito=JID(room))
        query = ET.SubElement(iq.xml, f"{{{NS}#owner}}query")
        form = ET.SubElement(query, "{jabber:x:data}x", {"type": "submit"})
        if fields:
            hidden = ET.SubElement(form, "{jabber:x:data}field", {"var": "FORM_TYPE"})
            ET.SubElement(hidden, "{jabber:x:data}value").text = f"{NS}#roomconfig"
        for var, value in fields.items():
            field = ET.SubElement(form, "{jabber:x:data}field", {"var": var})
            for one in [value] if isinstance(value, str) else list(value):
                ET.SubElement(field, "{jabber:x:data}value").text = one
        await request(iq, f"configure {room}")

    def change_nick(self, room: str, nick: str, show: Show = Show.ONLINE) -> None:
        """Ask to be ``nick`` in a room we are in (XEP-0045 7.6): the answer is our
        presence under the new nick, or an error (``conflict``, ``not-acceptable``)."""
        presence = self._client.make_presence(pto=JID(f"{room}/{nick}"))
        if show in (Show.AWAY, Show.XA, Show.DND, Show.CHAT):
            presence["show"] = show.value
        self._joining.add(room)  # (its error presence is ours to read)
        presence.send()

    async def set_role(self, room: str, nick: str, role: str, reason: str = "") -> None:
        """Kick (role none), grant or revoke voice (participant, visitor), make or
        unmake a moderator: XEP-0045 8 and 9. Raises :class:`RequestRefused`."""
        await self._admin(room, {"nick": nick, "role": role}, reason, f"set {nick}'s role")

    async def set_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None:
        """Ban (outcast), grant or revoke membership, admin or ownership (XEP-0045 9, 10)."""
        item = {"jid": jid, "affiliation": affiliation}
        await self._admin(room, item, reason, f"make {jid} {affiliation}")

    async def affiliations(self, room: str, affiliation: str) -> list[str]:
        """The bare addresses with ``affiliation`` in ``room`` (XEP-0045 9.5, 10.5: the
        member, admin or owner list; who may read which is the room's to say). Raises
        :class:`RequestRefused`."""
        iq = self._client.make_iq_get(ito=JID(room))
        query = ET.SubElement(iq.xml, f"{{{NS}#admin}}query")
        ET.SubElement(query, f"{{{NS}#admin}}item", {"affiliation": affiliation})
        result = await request(iq, f"list the {affiliation}s of {room}")
        found: list[str] = []
        for el in result.xml.iter(f"{{{NS}#admin}}item"):
            if (el.get("affiliation") or affiliation) != affiliation:
                continue
            try:
                address = JID(el.get("jid") or "").bare
            except InvalidJID:
                continue
            if address and address not in found:
                found.append(address)
        return found

    async def _admin(self, room: str, item: dict[str, str], reason: str, what: str) -> None:
        iq = self._client.make_iq_set(ito=JID(room))
        query = ET.SubElement(iq.xml, f"{{{NS}#admin}}query")
        el = ET.SubElement(query, f"{{{NS}#admin}}item", item)
        if reason:
            ET.SubElement(el, f"{{{NS}#admin}}reason").text = reason
        await request(iq, f"{what} in {room}")

    async def destroy(self, room: str, reason: str = "") -> None:
        """Destroy the room (owners only): everyone is let go with ``reason``."""
        iq = self._client.make_iq_set(ito=JID(room))
        query = ET.SubElement(iq.xml, f"{{{NS}#owner}}query")
        el = ET.SubElement(query, f"{{{NS}#owner}}destroy")
        if reason:
            ET.SubElement(el, f"{{{NS}#owner}}reason").text = reason
        await request(iq, f"destroy {room}")

    def set_subject(self, room: str, subject: str) -> None:
        msg = self._client.make_message(mto=JID(room), mtype="groupchat")
        msg["subject"] = subject
        msg.send()

    def _on_presence(self, stanza: Any) -> None:
        if stanza.xml.get("type") == "error":
            return  # (see _on_error)
        presence = read_presence(stanza)
        if presence is None:
            return
        if presence.own:
            self._joining.discard(presence.room)
        self._listener.on_room_presence(presence)

    def _on_error(self, stanza: Any) -> None:
        if stanza.xml.get("type") != "error":
            return
        room = stanza["from"].bare
        if room not in self._joining:
            return  # not a room we are joining (a contact's error: not ours to read)
        self._joining.discard(room)
        condition, text = error_condition(stanza)
        self._listener.on_room_error(room, condition, text)

    def _on_message(self, inbound: Inbound) -> bool:
        """A room's subject: a groupchat message with a subject and no body (XEP-0045
        section 8.1) is taken; one with a body is a message (its subject is its own)."""
        stanza: MessageStanza = inbound.stanza
        if stanza["type"] != "groupchat" or stanza["body"]:
            return False
        subject = stanza.xml.find("{jabber:client}subject")
        if subject is None:
            return False
        by = stanza["from"].resource
        self._listener.on_room_subject(
            stanza["from"].bare, (subject.text or "")[:MAX_TEXT_CHARS], by
        )
        return True
