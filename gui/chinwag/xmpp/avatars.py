"""Avatars over XMPP: XEP-0084 (User Avatar, in PEP) and XEP-0153 (vCard-Based Avatars).

Read: ``urn:xmpp:avatar:metadata`` pushes (``+notify``) name a contact's picture by its
SHA-1; the data is fetched from ``urn:xmpp:avatar:data`` by that id only when the core
does not have it. A presence's ``vcard-temp:x:update`` ``<photo/>`` gives the SHA-1 of
the vCard's PHOTO, fetched from the vCard the same way. Both go to the core
(:class:`chinwag.core.avatars.AvatarListener`), which decides what to fetch.

Write: our avatar is published in both nodes, and in our vCard unless the server
converts one into the other itself (``urn:xmpp:pep-vcard-conversion:0``, Prosody's
mod_vcard_legacy); our available presences carry its hash (XEP-0153).

Untrusted input: base64 longer than :data:`~chinwag.core.avatars.MAX_AVATAR_BYTES`
encodes is refused before it is decoded; pushes from anyone but the node's owner, and
metadata beyond the first few ``<info/>``, are ignored."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Iq
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

from chinwag.core.avatars import MAX_AVATAR_BYTES, AvatarInfo, AvatarListener
from chinwag.core.errors import AvatarRefused, RequestRefused
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import Dispatcher, Inbound
from chinwag.xmpp.iq import request
from chinwag.xmpp.user_data import pep_owner

log = logging.getLogger(__name__)

NS_METADATA = "urn:xmpp:avatar:metadata"
NS_DATA = "urn:xmpp:avatar:data"
NS_UPDATE = "vcard-temp:x:update"
NS_VCARD = "vcard-temp"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = f"{NS_PUBSUB}#event"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
#: A server that keeps the vCard and the avatar nodes in step itself.
CONVERSION = "urn:xmpp:pep-vcard-conversion:0"
#: Where metadata pushes are taken in the message dispatcher: after the user data (16).
EVENTS = 17
#: The most ``<info/>`` read from one metadata item.
MAX_INFOS = 8
#: Conditions of a read that mean "there is none".
NOTHING_THERE = frozenset(("item-not-found", "feature-not-implemented", "service-unavailable"))


def decode_base64(text: str | None) -> bytes:
    """The bytes of a base64 text, refused unread when it would exceed the limit."""
    text = text or ""
    if len(text) > (MAX_AVATAR_BYTES * 4) // 3 + 4096:  # (+ line breaks)
        raise AvatarRefused(
            f"the picture is over {MAX_AVATAR_BYTES:,} bytes (about {len(text) * 3 // 4:,})"
        )
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AvatarRefused(f"the picture is not valid base64: {exc}") from exc


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def read_metadata(metadata: Any) -> list[AvatarInfo]:
    """The pictures a ``<metadata/>`` element names (empty: avatar disabled)."""
    infos: list[AvatarInfo] = []
    for info in metadata.iterfind(f"{{{NS_METADATA}}}info"):
        if len(infos) >= MAX_INFOS:
            break
        infos.append(
            AvatarInfo(
                id=(info.get("id") or "")[:64],
                bytes=_int(info.get("bytes")),
                type=(info.get("type") or "")[:64],
                width=_int(info.get("width")),
                height=_int(info.get("height")),
                url=(info.get("url") or "")[:1024],
            )
        )
    return infos


class _UpdatePresence(MatcherBase):
    """An available ``<presence/>`` with a ``vcard-temp:x:update``: a tag compared."""

    def match(self, stanza: Any) -> bool:
        xml = stanza.xml
        return (
            xml.tag == "{jabber:client}presence"
            and xml.get("type") in (None, "", "available")
            and xml.find(f"{{{NS_UPDATE}}}x") is not None
        )


class AvatarFeature:
    """XEP-0084 and XEP-0153 on one connection (see the module docstring)."""

    def __init__(self, client: ChinwagClient, listener: object, dispatcher: Dispatcher) -> None:
        self._client = client
        self._account = client.account.jid
        self._listener = listener if isinstance(listener, AvatarListener) else None
        #: Our hash for XEP-0153 presences: None (not known: the element says nothing).
        self._own_hash: str | None = None
        client.plugin["xep_0030"].add_feature(f"{NS_METADATA}+notify")
        dispatcher.add("avatar pushes", EVENTS, self._on_event)
        client.register_handler(
            Callback("Chinwag avatar hashes", _UpdatePresence(None), self._on_presence)
        )
        client.add_filter("out", self._add_hash)

    # -- reading ------------------------------------------------------------------------

    def _on_event(self, inbound: Inbound) -> bool:
        xml = inbound.stanza.xml
        items = xml.find(f"{{{NS_EVENT}}}event/{{{NS_EVENT}}}items")
        if items is None or items.get("node") != NS_METADATA:
            return False
        owner = pep_owner(self._account, xml.get("from"))
        if owner is None:
            log.warning("%s: avatar push from %r refused", self._account, xml.get("from"))
            return True
        item = items.find(f"{{{NS_EVENT}}}item")
        if item is None:
            return True
        metadata = item.find(f"{{{NS_METADATA}}}metadata")
        if metadata is not None and self._listener is not None:
            self._listener.on_avatar_metadata(owner, read_metadata(metadata))
        return True

    def _on_presence(self, stanza: Any) -> None:
        xml = stanza.xml
        if xml.find(f"{{{NS_MUC_USER}}}x") is not None:
            return  # a room occupant: not a contact's avatar
        photo = xml.find(f"{{{NS_UPDATE}}}x/{{{NS_UPDATE}}}photo")
        if photo is None:
            return  # (no <photo/>: "not ready to say", XEP-0153)
        try:
            sender = JID(xml.get("from") or "")
        except InvalidJID:
            return
        sha1 = (photo.text or "").strip().lower()
        if len(sha1) > 64 or not sender.bare:
            return
        if self._listener is not None:
            self._listener.on_avatar_hash(str(sender.bare), sha1)

    async def fetch_pep_avatar(self, jid: str, item_id: str) -> bytes | None:
        iq = self._client.make_iq_get()
        iq["to"] = jid
        pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
        items = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}items", {"node": NS_DATA})
        ET.SubElement(items, f"{{{NS_PUBSUB}}}item", {"id": item_id})
        try:
            result = await request(iq, f"read the avatar of {jid}")
        except RequestRefused as exc:
            if exc.condition in NOTHING_THERE:
                return None
            raise
        data = result.xml.find(
            f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item/{{{NS_DATA}}}data"
        )
        return None if data is None else decode_base64(data.text)

    async def _vcard(self, jid: str | None) -> Any | None:
        iq = self._client.make_iq_get()
        if jid:
            iq["to"] = jid
        ET.SubElement(iq.xml, f"{{{NS_VCARD}}}vCard")
        try:
            result = await request(iq, f"read the vCard of {jid or 'the account'}")
        except RequestRefused as exc:
            if exc.condition in NOTHING_THERE:
                return None
            raise
        return result.xml.find(f"{{{NS_VCARD}}}vCard")

    async def fetch_vcard_photo(self, jid: str) -> bytes | None:
        vcard = await self._vcard(jid)
        binval = None if vcard is None else vcard.find(f"{{{NS_VCARD}}}PHOTO/{{{NS_VCARD}}}BINVAL")
        if binval is None or not (binval.text or "").strip():
            return None
        return decode_base64(binval.text)

    # -- writing ------------------------------------------------------------------------

    async def _publish(self, node: str, item_id: str, payload: Any) -> None:
        iq = self._client.make_iq_set()
        pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
        publish = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish", {"node": node})
        item = ET.SubElement(publish, f"{{{NS_PUBSUB}}}item", {"id": item_id})
        item.append(payload)
        await request(iq, f"publish {node}")

    async def publish_avatar(self, data: bytes, info: AvatarInfo) -> None:
        element = ET.Element(f"{{{NS_DATA}}}data")
        element.text = base64.b64encode(data).decode("ascii")
        await self._publish(NS_DATA, info.id, element)
        metadata = ET.Element(f"{{{NS_METADATA}}}metadata")
        attrs = {"id": info.id, "bytes": str(info.bytes), "type": info.type}
        if info.width and info.height:
            attrs |= {"width": str(info.width), "height": str(info.height)}
        ET.SubElement(metadata, f"{{{NS_METADATA}}}info", attrs)
        await self._publish(NS_METADATA, info.id, metadata)
        self._own_hash = info.id
        await self._update_vcard(data, info.type)

    async def clear_avatar(self) -> None:
        await self._publish(NS_METADATA, "current", ET.Element(f"{{{NS_METADATA}}}metadata"))
        self._own_hash = ""
        await self._update_vcard(None, "")

    async def _server_converts(self) -> bool:
        try:
            info = await self._client.plugin["xep_0030"].get_info(
                jid=JID(self._account), cached=True, timeout=10
            )
        except Exception as exc:  # (no answer: do the vCard ourselves)
            log.debug("%s: no disco#info of the account: %s", self._account, exc)
            return False
        if isinstance(info, Iq):
            info = info["disco_info"]
        return info is not None and CONVERSION in info["features"]

    async def _update_vcard(self, data: bytes | None, mime: str) -> None:
        """XEP-0153 for clients that read only vCards: our vCard's PHOTO, the rest of it
        kept. Best effort: a server without vCards still has the XEP-0084 avatar."""
        if await self._server_converts():
            return
        try:
            vcard = await self._vcard(None)
            if vcard is None:
                vcard = ET.Element(f"{{{NS_VCARD}}}vCard")
            for old in vcard.findall(f"{{{NS_VCARD}}}PHOTO"):
                vcard.remove(old)
            if data is not None:
                photo = ET.SubElement(vcard, f"{{{NS_VCARD}}}PHOTO")
                ET.SubElement(photo, f"{{{NS_VCARD}}}TYPE").text = mime
                ET.SubElement(photo, f"{{{NS_VCARD}}}BINVAL").text = base64.b64encode(data).decode(
                    "ascii"
                )
            iq = self._client.make_iq_set()
            iq.xml.append(vcard)
            await request(iq, "update the vCard")
        except RequestRefused as exc:
            log.info("%s: vCard not updated: %s", self._account, exc)

    def set_own_hash(self, sha1: str | None) -> None:
        self._own_hash = sha1

    def _add_hash(self, stanza: Any) -> Any:
        xml = getattr(stanza, "xml", None)
        if (
            xml is None
            or xml.tag != "{jabber:client}presence"
            or xml.get("type") not in (None, "")
            or self._own_hash is None
            or xml.find(f"{{{NS_UPDATE}}}x") is not None
        ):
            return stanza
        x = ET.SubElement(xml, f"{{{NS_UPDATE}}}x")
        ET.SubElement(x, f"{{{NS_UPDATE}}}photo").text = self._own_hash or None
        return stanza
