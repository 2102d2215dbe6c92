"""Contact details over XMPP: vCard4 in PEP (XEP-0292, node ``urn:xmpp:vcard4``), else
the vcard-temp vCard (XEP-0054); software version (XEP-0092); a client's name from its
XEP-0115 capabilities; and the fingerprint of the server's certificate.

Parsing stops after :data:`~chinwag.core.contact_details.MAX_ELEMENTS` elements and keeps
:data:`~chinwag.core.contact_details.MAX_FIELDS` fields (see
:class:`~chinwag.core.contact_details.VCardBuilder`)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import ET

from chinwag.core.contact_details import (
    MAX_ELEMENTS,
    SoftwareVersion,
    VCard,
    VCardBuilder,
)
from chinwag.core.errors import RequestRefused
from chinwag.xmpp import tls
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.iq import request

log = logging.getLogger(__name__)

NS_VCARD4 = "urn:ietf:params:xml:ns:vcard-4.0"
NODE_VCARD4 = "urn:xmpp:vcard4"
NS_VCARD_TEMP = "vcard-temp"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NOTHING_THERE = frozenset(("item-not-found", "feature-not-implemented", "service-unavailable"))
#: vCard4 property -> (our key, the value elements to read, in order).
_V4: dict[str, tuple[str, tuple[str, ...]]] = {
    "fn": ("fn", ("text",)),
    "nickname": ("nickname", ("text",)),
    "email": ("email", ("text",)),
    "tel": ("tel", ("uri", "text")),
    "org": ("org", ("text",)),
    "title": ("title", ("text",)),
    "bday": ("bday", ("date", "date-time", "text")),
    "note": ("note", ("text",)),
    "url": ("url", ("uri",)),
}
#: vcard-temp element -> (our key, the path of its value ("" : its own text)).
_TEMP: dict[str, tuple[str, str]] = {
    "FN": ("fn", ""),
    "NICKNAME": ("nickname", ""),
    "EMAIL": ("email", "USERID"),
    "TEL": ("tel", "NUMBER"),
    "ORG": ("org", "ORGNAME"),
    "TITLE": ("title", ""),
    "BDAY": ("bday", ""),
    "DESC": ("note", ""),
    "URL": ("url", ""),
}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_vcard4(vcard: Any) -> VCard:
    """The fields of a ``<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/>``."""
    out = VCardBuilder()
    for prop in itertools.islice(vcard, MAX_ELEMENTS):
        known = _V4.get(_local(prop.tag) if isinstance(prop.tag, str) else "")
        if known is None:
            continue
        key, values = known
        for name in values:
            value = prop.find(f"{{{NS_VCARD4}}}{name}")
            if value is not None and value.text:
                text = value.text
                if key == "tel" and text.startswith("tel:"):
                    text = text[4:]
                if key == "email" and text.startswith("mailto:"):
                    text = text[7:]
                out.add(key, text)
                break
    return out.build()


def parse_vcard_temp(vcard: Any) -> VCard:
    """The fields of a ``<vCard xmlns='vcard-temp'/>``."""
    out = VCardBuilder()
    for element in itertools.islice(vcard, MAX_ELEMENTS):
        known = _TEMP.get(_local(element.tag) if isinstance(element.tag, str) else "")
        if known is None:
            continue
        key, path = known
        if path:
            value = element.find(f"{{{NS_VCARD_TEMP}}}{path}")
            out.add(key, value.text if value is not None else "")
        else:
            out.add(key, element.text)
    return out.build()


class ProfileFeature:
    """The details side of one connection (see the module docstring)."""

    def __init__(self, client: ChinwagClient) -> None:
        self._client = client

    async def _get(self, iq: Any, what: str) -> Any | None:
        try:
            return await request(iq, what)
        except RequestRefused as exc:
            if exc.condition in NOTHING_THERE or exc.condition == "forbidden":
                return None
            raise

    async def fetch_vcard(self, jid: str) -> VCard:
        iq = self._client.make_iq_get()
        iq["to"] = jid
        pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
        ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}items", {"node": NODE_VCARD4, "max_items": "1"})
        result = await self._get(iq, f"read the vCard of {jid}")
        if result is not None:
            vcard = result.xml.find(
                f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item/"
                f"{{{NS_VCARD4}}}vcard"
            )
            if vcard is not None:
                return parse_vcard4(vcard)
        iq = self._client.make_iq_get()
        iq["to"] = jid
        ET.SubElement(iq.xml, f"{{{NS_VCARD_TEMP}}}vCard")
        result = await self._get(iq, f"read the vCard of {jid}")
        vcard = None if result is None else result.xml.find(f"{{{NS_VCARD_TEMP}}}vCard")
        return VCard() if vcard is None else parse_vcard_temp(vcard)

    async def software_version(self, full_jid: str) -> SoftwareVersion:
        iq = self._client.make_iq_get()
        iq["to"] = full_jid
        iq["query"] = "jabber:iq:version"
        result = await request(iq, f"ask {full_jid} for its version")
        query = result.xml.find("{jabber:iq:version}query")
        if query is None:
            return SoftwareVersion()

        def text(name: str) -> str:
            element = query.find(f"{{jabber:iq:version}}{name}")
            return " ".join((element.text or "").split())[:200] if element is not None else ""

        return SoftwareVersion(text("name"), text("version"), text("os"))

    async def client_name(self, full_jid: str, caps_node: str) -> str:
        _, _, ver = caps_node.rpartition("#")
        if not ver:
            return ""
        try:
            info = await self._client.plugin["xep_0115"].get_caps(JID(full_jid), verstring=ver)
        except (InvalidJID, IqError, IqTimeout) as exc:
            log.debug("no capabilities for %s: %s", full_jid, exc)
            return ""
        if info is None:
            return ""
        for _category, _type, _lang, name in info["identities"]:
            if name:
                return str(name)[:200]
        return ""

    def server_fingerprint(self) -> str:
        transport = self._client.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_object is None:
            return ""
        der = ssl_object.getpeercert(binary_form=True)
        return tls.fingerprint(der) if der else ""
