"""XEP-0402 PEP Native Bookmarks: the account's group chat bookmarks as items of its PEP
node ``urn:xmpp:bookmarks:1`` (one item per room, its id the room's address), published
private to the account (``pubsub#access_model`` whitelist, persistent, as many items as
the server keeps) and retracted to remove one; ``+notify`` brings the changes made on the
user's other devices as pushes.

Old data is read too: XEP-0048 bookmarks (``storage:bookmarks``) in private XML storage
(XEP-0049) and in PEP (node ``storage:bookmarks``, item ``current``), merged with the
native ones, which win for a room both have. We never write XEP-0048 storage except to
take a removed room out of it, so that it does not come back at the next sign-in.

Built from raw stanzas: every item is read on its own, and one that is malformed (no
``<conference/>``, an id that is no room address) is logged and left out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import ET, tostring

from chinwag.core.errors import InvalidAddress, RequestRefused
from chinwag.core.jid import room_address
from chinwag.core.models import Bookmark
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import Dispatcher, Inbound
from chinwag.xmpp.iq import request

log = logging.getLogger(__name__)

NS = "urn:xmpp:bookmarks:1"
NOTIFY = f"{NS}+notify"
NS_LEGACY = "storage:bookmarks"
NS_PRIVATE = "jabber:iq:private"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = f"{NS_PUBSUB}#event"
NS_OWNER = f"{NS_PUBSUB}#owner"
NS_DATA = "jabber:x:data"
#: Where pushes are taken in the message dispatcher: after archive results, before
#: carbons (a push is a headline from our own account, never a chat message).
EVENTS = 15
#: XEP-0402 section 3: how the node must be (XEP-0223's private profile, and every item
#: kept); sent with each publish and, when an existing node differs, set on the node.
NODE_CONFIG: Mapping[str, str] = {
    "pubsub#persist_items": "true",
    "pubsub#max_items": "max",
    "pubsub#send_last_published_item": "never",
    "pubsub#access_model": "whitelist",
}
#: Conditions of a read that mean "there are none" (no node yet, no PEP, no storage).
NOTHING_THERE = frozenset(("item-not-found", "feature-not-implemented", "service-unavailable"))


def _text(element: Any, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def read_conference(account: str, item: Any) -> Bookmark | None:
    """The bookmark of one XEP-0402 ``<item/>``; None (logged) when it is malformed."""
    conference = item.find(f"{{{NS}}}conference")
    if conference is None:
        log.info("%s: a bookmark item without a conference, left out", account)
        return None
    try:
        room = room_address(item.get("id") or "")
    except InvalidAddress as exc:
        log.info("%s: a bookmark of no room, left out: %s", account, exc.message)
        return None
    extensions = conference.find(f"{{{NS}}}extensions")
    return Bookmark(
        account=account,
        room=room,
        name=conference.get("name") or "",
        nick=_text(conference, f"{{{NS}}}nick"),
        password=_text(conference, f"{{{NS}}}password"),
        autojoin=_truthy(conference.get("autojoin")),
        extensions=tostring(extensions) if extensions is not None else "",
    )


def read_storage(account: str, storage: Any) -> list[Bookmark]:
    """The bookmarks of a XEP-0048 ``<storage/>``; malformed ones are left out."""
    found = []
    for conference in storage.findall(f"{{{NS_LEGACY}}}conference"):
        try:
            room = room_address(conference.get("jid") or "")
        except InvalidAddress as exc:
            log.info("%s: an old bookmark of no room, left out: %s", account, exc.message)
            continue
        found.append(
            Bookmark(
                account=account,
                room=room,
                name=conference.get("name") or "",
                nick=_text(conference, f"{{{NS_LEGACY}}}nick"),
                password=_text(conference, f"{{{NS_LEGACY}}}password"),
                autojoin=_truthy(conference.get("autojoin")),
            )
        )
    return found


def conference_element(bookmark: Bookmark) -> Any:
    """The XEP-0402 ``<conference/>`` of ``bookmark``, its extensions as they were."""
    conference = ET.Element(f"{{{NS}}}conference")
    if bookmark.name:
        conference.set("name", bookmark.name)
    conference.set("autojoin", "true" if bookmark.autojoin else "false")
    if bookmark.nick:
        ET.SubElement(conference, f"{{{NS}}}nick").text = bookmark.nick
    if bookmark.password:
        ET.SubElement(conference, f"{{{NS}}}password").text = bookmark.password
    if bookmark.extensions:
        try:
            extensions = ET.fromstring(bookmark.extensions)
        except ET.ParseError:
            log.warning("%s: the extensions of %s are not XML: left out", *_who(bookmark))
        else:
            if extensions.tag == f"{{{NS}}}extensions":
                conference.append(extensions)
    return conference


def _who(bookmark: Bookmark) -> tuple[str, str]:
    return bookmark.account, bookmark.room


def _form(form_type: str, fields: Mapping[str, str]) -> Any:
    form = ET.Element(f"{{{NS_DATA}}}x", {"type": "submit"})
    for var, value in {"FORM_TYPE": form_type, **fields}.items():
        field = ET.SubElement(form, f"{{{NS_DATA}}}field", {"var": var})
        if var == "FORM_TYPE":
            field.set("type", "hidden")
        ET.SubElement(field, f"{{{NS_DATA}}}value").text = value
    return form


class BookmarksFeature:
    """The bookmarks of one connection (see the module)."""

    def __init__(
        self, client: ChinwagClient, listener: ConnectionListener, dispatcher: Dispatcher
    ) -> None:
        self._client = client
        self._listener = listener
        self._account = client.account.jid
        #: The XEP-0048 storage last read (private XML storage, PEP), to take a removed
        #: room out of it; None: none was found.
        self._private: Any = None
        self._legacy_pep: Any = None
        # In our disco#info, and so in our caps: the server sends us the node's changes.
        client.plugin["xep_0030"].add_feature(NOTIFY)
        dispatcher.add("bookmark pushes", EVENTS, self._on_event)

    # -- reading ------------------------------------------------------------------------

    async def fetch(self) -> list[Bookmark]:
        native, pep, private = await asyncio.gather(
            self._fetch_native(), self._fetch_legacy_pep(), self._fetch_private()
        )
        merged = {b.room: b for b in private}
        merged.update((b.room, b) for b in pep)
        merged.update((b.room, b) for b in native)  # XEP-0402 wins
        return list(merged.values())

    def _items_iq(self, node: str) -> Any:
        iq = self._client.make_iq_get()
        pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
        ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}items", {"node": node})
        return iq

    async def _fetch_native(self) -> list[Bookmark]:
        try:
            result = await request(self._items_iq(NS), "read the bookmarks")
        except RequestRefused as exc:
            if exc.condition in NOTHING_THERE:
                return []
            raise
        items = result.xml.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items")
        if items is None:
            return []
        found = []
        for item in items.findall(f"{{{NS_PUBSUB}}}item"):
            bookmark = read_conference(self._account, item)
            if bookmark is not None:
                found.append(bookmark)
        return found

    async def _fetch_legacy_pep(self) -> list[Bookmark]:
        self._legacy_pep = None
        try:
            result = await request(self._items_iq(NS_LEGACY), "read the old bookmarks")
        except RequestRefused as exc:
            log.debug("%s: no XEP-0048 bookmarks in PEP: %s", self._account, exc.message)
            return []
        storage = result.xml.find(
            f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item/{{{NS_LEGACY}}}storage"
        )
        if storage is None:
            return []
        self._legacy_pep = storage
        return read_storage(self._account, storage)

    async def _fetch_private(self) -> list[Bookmark]:
        self._private = None
        iq = self._client.make_iq_get()
        query = ET.SubElement(iq.xml, f"{{{NS_PRIVATE}}}query")
        ET.SubElement(query, f"{{{NS_LEGACY}}}storage")
        try:
            result = await request(iq, "read the old bookmarks")
        except RequestRefused as exc:
            log.debug("%s: no XEP-0048 bookmarks in private storage: %s", self._account, exc)
            return []
        storage = result.xml.find(f"{{{NS_PRIVATE}}}query/{{{NS_LEGACY}}}storage")
        if storage is None:
            return []
        self._private = storage
        return read_storage(self._account, storage)

    # -- changing -----------------------------------------------------------------------

    async def publish(self, bookmark: Bookmark) -> None:
        what = f"bookmark {bookmark.room}"
        await self._publish_item(NS, bookmark.room, conference_element(bookmark), what)

    async def _publish_item(self, node: str, item_id: str, payload: Any, what: str) -> None:
        def publish_iq() -> Any:
            iq = self._client.make_iq_set()
            pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
            publish = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish", {"node": node})
            item = ET.SubElement(publish, f"{{{NS_PUBSUB}}}item", {"id": item_id})
            item.append(payload)
            options = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish-options")
            options.append(_form(f"{NS_PUBSUB}#publish-options", NODE_CONFIG))
            return iq

        try:
            await request(publish_iq(), what)
        except RequestRefused as exc:
            # precondition-not-met (a node made by another client, configured otherwise):
            # make it private and keep every item, then publish again (XEP-0223 5.1).
            if exc.condition != "conflict":
                raise
            log.info("%s: the node %s is configured otherwise: reconfiguring", self._account, node)
            await self._configure(node)
            await request(publish_iq(), what)

    async def _configure(self, node: str) -> None:
        iq = self._client.make_iq_set()
        pubsub = ET.SubElement(iq.xml, f"{{{NS_OWNER}}}pubsub")
        configure = ET.SubElement(pubsub, f"{{{NS_OWNER}}}configure", {"node": node})
        configure.append(_form(f"{NS_PUBSUB}#node_config", NODE_CONFIG))
        await request(iq, f"configure the node {node}")

    async def retract(self, room: str) -> None:
        iq = self._client.make_iq_set()
        pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
        retract = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}retract", {"node": NS, "notify": "true"})
        ET.SubElement(retract, f"{{{NS_PUBSUB}}}item", {"id": room})
        try:
            await request(iq, f"remove the bookmark of {room}")
        except RequestRefused as exc:
            if exc.condition not in NOTHING_THERE:
                raise
        await self._forget_legacy(room)

    async def _forget_legacy(self, room: str) -> None:
        """Take ``room`` out of the XEP-0048 storage we read it from, the rest as it was."""
        private = _without(self._private, room)
        if private is not None:
            iq = self._client.make_iq_set()
            query = ET.SubElement(iq.xml, f"{{{NS_PRIVATE}}}query")
            query.append(private)
            await request(iq, f"remove the old bookmark of {room}")
            self._private = private
        pep = _without(self._legacy_pep, room)
        if pep is not None:
            await self._publish_item(
                NS_LEGACY, "current", pep, f"remove the old bookmark of {room}"
            )
            self._legacy_pep = pep

    # -- pushes -------------------------------------------------------------------------

    def _on_event(self, inbound: Inbound) -> bool:
        xml = inbound.stanza.xml
        event = xml.find(f"{{{NS_EVENT}}}event")
        if event is None:
            return False
        ours = [child for child in event if child.get("node") == NS]
        if not ours:
            return False
        if not self._from_own_account(xml.get("from")):
            log.warning("%s: bookmark push from %s refused", self._account, xml.get("from"))
            return True
        changed: list[Bookmark] = []
        removed: list[str] = []
        full = False
        for child in ours:
            if child.tag in (f"{{{NS_EVENT}}}purge", f"{{{NS_EVENT}}}delete"):
                full, changed, removed = True, [], []
                continue
            if child.tag != f"{{{NS_EVENT}}}items":
                continue
            for entry in child:
                if entry.tag == f"{{{NS_EVENT}}}item":
                    bookmark = read_conference(self._account, entry)
                    if bookmark is not None:
                        changed.append(bookmark)
                elif entry.tag == f"{{{NS_EVENT}}}retract":
                    try:
                        removed.append(room_address(entry.get("id") or ""))
                    except InvalidAddress:
                        continue
        if changed or removed or full:
            self._listener.on_bookmarks(changed, removed, full)
        return True

    def _from_own_account(self, sender: str | None) -> bool:
        """PEP pushes of our own node come from our bare address (or, from our server on
        its behalf, with no ``from``); anyone else's are forged."""
        if not sender:
            return True
        try:
            return bool(JID(sender).bare == self._client.boundjid.bare)
        except InvalidJID:
            return False


def _without(storage: Any, room: str) -> Any:
    """A copy of a XEP-0048 ``<storage/>`` without the conference of ``room``; None when
    there is no storage or the room is not in it."""
    if storage is None:
        return None
    kept = ET.Element(storage.tag, storage.attrib)
    found = False
    for child in storage:
        if child.tag == f"{{{NS_LEGACY}}}conference":
            try:
                if room_address(child.get("jid") or "") == room:
                    found = True
                    continue
            except InvalidAddress:
                pass
        kept.append(child)
    return kept if found else None
