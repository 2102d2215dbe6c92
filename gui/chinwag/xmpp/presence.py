"""RFC 6121 presence: our own availability and status message, contacts' presence per
resource, subscription requests and answers; XEP-0115 capabilities are read along."""

from __future__ import annotations

from typing import Any

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.models import Presence, Show
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp.client import ChinwagClient

_SHOW_OUT = {
    Show.ONLINE: None,
    Show.CHAT: "chat",
    Show.AWAY: "away",
    Show.XA: "xa",
    Show.DND: "dnd",
}
#: A presence's <show/> as a Show (none: online).
SHOW_IN = {"": Show.ONLINE, "chat": Show.CHAT, "away": Show.AWAY, "xa": Show.XA, "dnd": Show.DND}
SUBSCRIPTION_KINDS = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")


CAPS_NODE = "https://chinwag.im"
NS_CAPS = "http://jabber.org/protocol/caps"


class PresenceFeature:
    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        self._caps_ver = ""
        caps = client.plugin["xep_0115"]
        caps.caps_node = CAPS_NODE
        # slixmpp adds caps to presence in an async send filter: a task per stanza, and
        # one left pending when the stream closes. We add them here instead.
        client.del_filter("out", caps._filter_add_caps)  # type: ignore[arg-type]
        # One raw handler: slixmpp names its presence events after <show/> (presence_dnd,
        # presence_away, ...), which is easy to miss; the type attribute is what counts.
        client.register_handler(
            Callback("Chinwag presence", MatchXPath("{jabber:client}presence"), self._dispatch)
        )

    def _dispatch(self, stanza: Any) -> None:
        kind = stanza.xml.get("type") or "available"
        if kind in ("available", "unavailable"):
            self._on_presence(stanza)
        elif kind in SUBSCRIPTION_KINDS:
            self._on_subscription(stanza)

    async def prepare_caps(self) -> None:
        """XEP-0115: hash our disco#info and answer queries for node#ver; once a session."""
        caps = self._client.plugin["xep_0115"]
        await caps.update_caps(broadcast=False)
        self._caps_ver = await caps.get_verstring(self._client.boundjid) or ""

    def _with_caps(self, presence: Any) -> Any:
        if self._caps_ver:
            c = presence.xml.makeelement(
                f"{{{NS_CAPS}}}c", {"hash": "sha-1", "node": CAPS_NODE, "ver": self._caps_ver}
            )
            presence.xml.append(c)
        return presence

    def send(self, show: Show, status: str, priority: int) -> None:
        if show is Show.OFFLINE:
            self._client.send_presence(ptype="unavailable", pstatus=status or None)
            return
        if show is Show.INVISIBLE:
            # Appear offline: an unavailable broadcast while the stream stays up.
            self._client.send_presence(ptype="unavailable", pstatus=status or None)
            return
        presence = self._client.make_presence(
            pshow=_SHOW_OUT[show], pstatus=status or None, ppriority=priority
        )
        self._with_caps(presence).send()

    def send_subscription(self, to: str, kind: str) -> None:
        if kind not in SUBSCRIPTION_KINDS:
            raise ValueError(f"not a subscription kind: {kind!r}")
        self._client.send_presence(pto=to, ptype=kind)  # type: ignore[arg-type]

    def _on_presence(self, stanza: Any) -> None:
        sender = stanza["from"]
        if not sender.bare or sender.full == self._client.boundjid.full:
            return
        if stanza.xml.find("{http://jabber.org/protocol/muc#user}x") is not None:
            return  # a room's, about an occupant (see chinwag.xmpp.muc)
        if stanza.xml.get("type") == "unavailable":
            presence = Presence(status=stanza["status"] or "", resource=sender.resource)
        else:
            show = SHOW_IN.get(stanza["show"] or "", Show.ONLINE)
            caps = stanza.xml.find("{http://jabber.org/protocol/caps}c")
            node = f"{caps.get('node', '')}#{caps.get('ver', '')}" if caps is not None else ""
            try:
                priority = int(stanza["priority"] or 0)
            except ValueError:
                priority = 0
            presence = Presence(
                show=show,
                status=stanza["status"] or "",
                priority=priority,
                resource=sender.resource,
                caps_node=node,
            )
        self._listener.on_presence(sender.bare, presence)

    def _on_subscription(self, stanza: Any) -> None:
        nick = stanza.xml.find("{http://jabber.org/protocol/nick}nick")
        self._listener.on_subscription(
            stanza["from"].bare,
            stanza.xml.get("type"),
            (nick.text or "") if nick is not None else "",
        )
