"""User data in PEP (XEP-0163): the Conversations API's ``custom_data`` (a node readable
by the account's presence subscribers), ``private_custom_data`` and the notification
choice (private PEP storage, XEP-0223), each a JSON text carried in a XEP-0335 JSON
container as the node's one item ``current``; and the nickname a person gives
themselves (XEP-0172), read only.

``+notify`` for the public node brings the changes of the people whose presence we see
and of the user's other clients; the private nodes' pushes come to the user's own
clients only (the server sends them to no one else). Built from raw stanzas; a push
whose sender is not the node's owner is refused."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.xmlstream import ET

from chinwag.core.errors import RequestRefused
from chinwag.core.ports import ConnectionListener
from chinwag.core.users import CUSTOM_DATA, NICK, NOTIFICATIONS, PRIVATE_CUSTOM_DATA
from chinwag.xmpp.client import ChinwagClient
from chinwag.xmpp.dispatch import Dispatcher, Inbound
from chinwag.xmpp.iq import request

log = logging.getLogger(__name__)

#: The public custom data (readable by whoever sees our presence); the private custom
#: data and the notification choice (the account's own).
PRIVATE_NODES = frozenset((PRIVATE_CUSTOM_DATA, NOTIFICATIONS))
NODES = frozenset((CUSTOM_DATA, *PRIVATE_NODES))
#: The nodes whose changes are pushed to us (``+notify``): ours, and the nickname people
#: publish (XEP-0172), which names a contact the user gave no name.
NOTIFIED = frozenset((*NODES, NICK))
NS_JSON = "urn:xmpp:json:0"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = f"{NS_PUBSUB}#event"
NS_OWNER = f"{NS_PUBSUB}#owner"
NS_DATA = "jabber:x:data"
ITEM = "current"
#: Where pushes are taken in the message dispatcher: after the bookmark pushes (15).
EVENTS = 16
#: Conditions of a read that mean "there is none" (no node, no item, no PEP).
NOTHING_THERE = frozenset(("item-not-found", "feature-not-implemented"))


def node_config(private: bool) -> Mapping[str, str]:
    return {
        "pubsub#persist_items": "true",
        "pubsub#max_items": "1",
        "pubsub#access_model": "whitelist" if private else "presence",
        "pubsub#send_last_published_item": "never" if private else "on_sub_and_presence",
    }


def _form(form_type: str, fields: Mapping[str, str]) -> Any:
    form = ET.Element(f"{{{NS_DATA}}}x", {"type": "submit"})
    for var, value in {"FORM_TYPE": form_type, **fields}.items():
        field = ET.SubElement(form, f"{{{NS_DATA}}}field", {"var": var})
        if var == "FORM_TYPE":
            field.set("type", "hidden")
        ET.SubElement(field, f"{{{NS_DATA}}}value").text = value
    return form


def payload_text(node: str, item: Any) -> str | None:
    """What an ``<item/>`` of ``node`` carries: the JSON text of its XEP-0335 container,
    or the nickname (XEP-0172); None when it carries neither."""
    tag = f"{{{NICK}}}nick" if node == NICK else f"{{{NS_JSON}}}json"
    element = item.find(tag)
    if element is None:
        return None
    return element.text or ""


class UserDataFeature:
    """Reading and writing the user data nodes of one connection (see the module)."""

    def __init__(
        self, client: ChinwagClient, listener: ConnectionListener, dispatcher: Dispatcher
    ) -> None:
        self._client = client
        self._listener = listener
        self._account = client.account.jid
        disco = client.plugin["xep_0030"]
        for node in NOTIFIED:
            disco.add_feature(f"{node}+notify")
        dispatcher.add("user data pushes", EVENTS, self._on_event)

    async def fetch(self, jid: str, node: str) -> str | None:
        """The text of ``jid``'s item of ``node`` (see :func:`payload_text`); None when
        there is none. Raises RequestRefused (``forbidden``: we may not read it)."""
        iq = self._client.make_iq_get()
        iq["to"] = jid
        pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
        ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}items", {"node": node, "max_items": "1"})
        try:
            result = await request(iq, f"read {node} of {jid}")
        except RequestRefused as exc:
            if exc.condition in NOTHING_THERE:
                return None
            raise
        item = result.xml.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item")
        return None if item is None else payload_text(node, item)

    async def publish(self, node: str, data: str) -> None:
        """Make ``data`` (a JSON text; the nickname itself for :data:`NICK`) the item of
        our ``node``, private or not as the node is (:data:`PRIVATE_NODES`)."""
        private = node in PRIVATE_NODES
        config = node_config(private)

        def publish_iq() -> Any:
            iq = self._client.make_iq_set()
            pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
            publish = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish", {"node": node})
            item = ET.SubElement(publish, f"{{{NS_PUBSUB}}}item", {"id": ITEM})
            tag = f"{{{NICK}}}nick" if node == NICK else f"{{{NS_JSON}}}json"
            ET.SubElement(item, tag).text = data
            options = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish-options")
            options.append(_form(f"{NS_PUBSUB}#publish-options", config))
            return iq

        what = f"publish {node}"
        try:
            await request(publish_iq(), what)
        except RequestRefused as exc:
            # precondition-not-met (a node configured otherwise): configure it, again.
            if exc.condition != "conflict":
                raise
            log.info("%s: the node %s is configured otherwise: reconfiguring", self._account, node)
            configure_iq = self._client.make_iq_set()
            owner = ET.SubElement(configure_iq.xml, f"{{{NS_OWNER}}}pubsub")
            configure = ET.SubElement(owner, f"{{{NS_OWNER}}}configure", {"node": node})
            configure.append(_form(f"{NS_PUBSUB}#node_config", config))
            await request(configure_iq, f"configure the node {node}")
            await request(publish_iq(), what)

    async def delete(self, node: str) -> None:
        """Remove our ``node`` with its item (nothing happens when there is none)."""
        iq = self._client.make_iq_set()
        owner = ET.SubElement(iq.xml, f"{{{NS_OWNER}}}pubsub")
        ET.SubElement(owner, f"{{{NS_OWNER}}}delete", {"node": node})
        try:
            await request(iq, f"remove {node}")
        except RequestRefused as exc:
            if exc.condition not in NOTHING_THERE:
                raise

    # -- pushes -------------------------------------------------------------------------

    def _on_event(self, inbound: Inbound) -> bool:
        xml = inbound.stanza.xml
        event = xml.find(f"{{{NS_EVENT}}}event")
        if event is None:
            return False
        ours = [child for child in event if child.get("node") in NOTIFIED]
        if not ours:
            return False
        owner = self._owner(xml.get("from"))
        if owner is None:
            log.warning("%s: user data push from %r refused", self._account, xml.get("from"))
            return True
        for child in ours:
            node = child.get("node") or ""
            if node in PRIVATE_NODES and owner != self._account:
                log.warning("%s: private data push from %s refused", self._account, owner)
                continue
            if child.tag in (f"{{{NS_EVENT}}}purge", f"{{{NS_EVENT}}}delete"):
                self._listener.on_user_data(owner, node, None)
                continue
            if child.tag != f"{{{NS_EVENT}}}items":
                continue
            for entry in child:
                if entry.tag == f"{{{NS_EVENT}}}retract":
                    self._listener.on_user_data(owner, node, None)
                elif entry.tag == f"{{{NS_EVENT}}}item":
                    text = payload_text(node, entry)
                    if text is not None:
                        self._listener.on_user_data(owner, node, text)
        return True

    def _owner(self, sender: str | None) -> str | None:
        return pep_owner(self._account, sender)


def pep_owner(account: str, sender: str | None) -> str | None:
    """Whose node a PEP push is about: its sender's bare address (a PEP service is the
    account's bare address; none: our own server on our behalf); None when the sender
    cannot be a PEP service (no user part, a resource, not an address)."""
    if not sender:
        return account
    try:
        jid = JID(sender)
    except InvalidJID:
        return None
    if jid.resource or not jid.user:
        return None
    return str(jid.bare)
