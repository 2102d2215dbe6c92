"""Finding rooms and checking we are still in one, the client's side:

- XEP-0030 service discovery (disco#info, disco#items) with XEP-0059 paging of the
  items: the core finds the server's group chat service and lists its public rooms;
- XEP-0410 MUC self-ping: a XEP-0199 ping to our own occupant address, whose answer says
  whether the room still has us.

Answers are read with bounds (items, names, form values): a service may send anything."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import ET

from chinwag.core.errors import RequestRefused
from chinwag.core.models import DiscoIdentity, DiscoInfo, DiscoItem, DiscoItemsPage
from chinwag.xmpp.iq import request

if TYPE_CHECKING:
    from chinwag.xmpp.client import ChinwagClient

NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_DATA = "jabber:x:data"
NS_PING = "urn:xmpp:ping"

#: The most items one answer is read for (a service listing more is cut there).
MAX_ITEMS = 10_000
#: The most identities, features, forms and fields of one disco#info answer read.
MAX_INFO_ENTRIES = 1_000
#: The longest name, node, or form value kept.
MAX_TEXT_CHARS = 1_024


def _text(value: str | None) -> str:
    return (value or "")[:MAX_TEXT_CHARS]


async def disco_info(client: ChinwagClient, jid: str) -> DiscoInfo:
    iq = client.make_iq_get(ito=JID(jid))
    ET.SubElement(iq.xml, f"{{{NS_INFO}}}query")
    result = await request(iq, f"tell what {jid} is")
    return read_info(jid, result.xml.find(f"{{{NS_INFO}}}query"))


def read_info(jid: str, query: Any) -> DiscoInfo:
    """A disco#info ``<query/>`` read (None: an empty answer)."""
    if query is None:
        return DiscoInfo(jid)
    identities: list[DiscoIdentity] = []
    features: set[str] = set()
    forms: dict[str, dict[str, tuple[str, ...]]] = {}
    for child in list(query)[:MAX_INFO_ENTRIES]:
        if child.tag == f"{{{NS_INFO}}}identity":
            identities.append(
                DiscoIdentity(
                    _text(child.get("category")), _text(child.get("type")), _text(child.get("name"))
                )
            )
        elif child.tag == f"{{{NS_INFO}}}feature":
            features.add(_text(child.get("var")))
        elif child.tag == f"{{{NS_DATA}}}x" and child.get("type") == "result":
            fields: dict[str, tuple[str, ...]] = {}
            for field in child.findall(f"{{{NS_DATA}}}field")[:MAX_INFO_ENTRIES]:
                var = _text(field.get("var"))
                values = field.findall(f"{{{NS_DATA}}}value")[:MAX_INFO_ENTRIES]
                if var:
                    fields[var] = tuple(_text(v.text) for v in values)
            form_type = fields.pop("FORM_TYPE", ("",))
            if form_type and form_type[0] and form_type[0] not in forms:  # (the first wins)
                forms[form_type[0]] = fields
    return DiscoInfo(jid, tuple(identities), frozenset(features), forms)


async def disco_items(
    client: ChinwagClient, jid: str, limit: int = 0, after: str = ""
) -> DiscoItemsPage:
    iq = client.make_iq_get(ito=JID(jid))
    query = ET.SubElement(iq.xml, f"{{{NS_ITEMS}}}query")
    if limit > 0:
        rsm = ET.SubElement(query, f"{{{NS_RSM}}}set")
        ET.SubElement(rsm, f"{{{NS_RSM}}}max").text = str(limit)
        if after:
            ET.SubElement(rsm, f"{{{NS_RSM}}}after").text = after
    result = await request(iq, f"list what {jid} has")
    return read_items(result.xml.find(f"{{{NS_ITEMS}}}query"))


def read_items(query: Any) -> DiscoItemsPage:
    """A disco#items ``<query/>`` read (None: an empty answer); items whose address is
    malformed are left out."""
    if query is None:
        return DiscoItemsPage()
    items: list[DiscoItem] = []
    for item in query.findall(f"{{{NS_ITEMS}}}item")[:MAX_ITEMS]:
        try:
            address = str(JID(item.get("jid") or ""))
        except InvalidJID:
            continue
        if address:
            items.append(DiscoItem(address, _text(item.get("name")), _text(item.get("node"))))
    rsm = query.find(f"{{{NS_RSM}}}set")
    if rsm is None:
        return DiscoItemsPage(tuple(items))
    last = rsm.find(f"{{{NS_RSM}}}last")
    count = rsm.find(f"{{{NS_RSM}}}count")
    total = (count.text or "").strip() if count is not None else ""
    return DiscoItemsPage(
        tuple(items),
        _text(last.text).strip() if last is not None else "",
        int(total) if total.isdigit() and len(total) < 10 else None,
        paged=True,
    )


async def ping_occupant(client: ChinwagClient, room: str, nick: str) -> str:
    """XEP-0410: "" when ``room/nick`` answered our ping, else the error condition
    ("timeout": no answer)."""
    iq = client.make_iq_get(ito=JID(f"{room}/{nick}"))
    ET.SubElement(iq.xml, f"{{{NS_PING}}}ping")
    try:
        await request(iq, f"ping ourselves in {room}")
    except RequestRefused as exc:
        return exc.condition or "undefined-condition"
    return ""
