"""RFC 6121 presence: our own availability and status message, contacts' presence per
resource, subscription requests and answers; XEP-0115 capabilities are read along
(:class:`CapsReader`: each distinct capability asked about once, never per presence)."""

from __future__ import annotations

import asyncio
import copy
import logging
from asyncio import Future
from typing import Any, TypeVar

from slixmpp.exceptions import IqError, IqTimeout, XMPPError
from slixmpp.stanza import Iq
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


log = logging.getLogger(__name__)

CAPS_NODE = "https://chinwag.im"
NS_CAPS = "http://jabber.org/protocol/caps"
#: The most distinct capabilities (XEP-0115 verification strings) asked about on one
#: connection: a room of 500 clients has a handful; one that makes up a new string per
#: occupant gets no query per occupant.
MAX_CAPS_ASKED = 64
#: How long a capabilities query may wait for its answer (seconds).
CAPS_TIMEOUT = 30
#: After a presence that announced a change of our capabilities, how long the next such
#: announcement waits (seconds): a switch flipped many times quickly costs every contact
#: two presences at most (the first change, and where the flipping ended).
CAPS_ANNOUNCE_GAP = 2.0

T = TypeVar("T")


def _at_once(future: Future[T]) -> T:
    """The result of a slixmpp API call that its static (synchronous) handler answers:
    done on return, so our hash changes with no await in between."""
    if not future.done():
        raise RuntimeError("a slixmpp API handler that does not answer at once")
    return future.result()


class CapsReader:
    """XEP-0115 for the presences of others (contacts, room occupants): the
    disco#info of a verification string is asked for once, of the first entity that
    announced it, whatever the answer; a presence with a string asked about already
    costs a look-up and nothing else: no query, no task, no write.

    This replaces slixmpp's handler, which runs a task per presence and, for a string
    whose answer did not come or did not verify, asks again for every presence that
    carries it (a room's join: one query per occupant), and for an unknown hash asks
    every sender. What verifies is cached where slixmpp keeps it (``get_caps``)."""

    def __init__(self, client: ChinwagClient) -> None:
        self._client = client
        #: The strings asked about on this connection (answered or not).
        self.asked: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        caps = client.plugin["xep_0115"]
        self._hashes = frozenset(caps.hashes)
        client.remove_handler("Entity Capabilities")
        client.register_handler(
            Callback(
                "Chinwag capabilities",
                MatchXPath(f"{{jabber:client}}presence/{{{NS_CAPS}}}c"),
                self._on_presence,
            )
        )

    def _on_presence(self, stanza: Any) -> None:
        if stanza.xml.get("type") in ("unavailable", "error"):
            return
        sender = stanza["from"]
        if sender == self._client.boundjid:
            return
        c = stanza.xml.find(f"{{{NS_CAPS}}}c")
        ver, algo, node = c.get("ver") or "", c.get("hash") or "", c.get("node") or ""
        if not ver or algo not in self._hashes or ver in self.asked:
            return  # (legacy caps without a hash say nothing we could check)
        if len(self.asked) >= MAX_CAPS_ASKED:
            return
        self.asked.add(ver)
        task = asyncio.get_running_loop().create_task(
            self._ask(sender, node, ver, algo), name=f"caps {ver}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ask(self, jid: Any, node: str, ver: str, algo: str) -> None:
        caps = self._client.plugin["xep_0115"]
        try:
            info = await self._client.plugin["xep_0030"].get_info(
                jid, f"{node}#{ver}", cached=False, timeout=CAPS_TIMEOUT
            )
            if isinstance(info, Iq):
                info = info["disco_info"]
            # (caches it, as slixmpp's own handler would, when the string verifies)
            if not await caps._validate_caps(info, algo, ver):
                log.info("%s: the capabilities %s do not verify", jid, ver)
        except (IqError, IqTimeout, XMPPError) as exc:
            log.info("%s: no capabilities for %s: %s", jid, ver, exc)


class PresenceFeature:
    def __init__(self, client: ChinwagClient, listener: ConnectionListener) -> None:
        self._client = client
        self._listener = listener
        self._caps_ver = ""
        #: The ver of our last available presence, and that presence (None while
        #: offline or invisible, and before the first of a session).
        self._announced_ver = ""
        self._last: tuple[Show, str, int] | None = None
        #: Running after an announcement of new capabilities (see CAPS_ANNOUNCE_GAP).
        self._gap: asyncio.TimerHandle | None = None
        self.announce_gap = CAPS_ANNOUNCE_GAP
        self.caps_reader = CapsReader(client)
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

    def prepare_caps(self) -> None:
        """XEP-0115: hash our disco#info and answer queries for node#ver; once a session,
        before its first presence."""
        self._last = None
        self._hash()

    def features_changed(self, *, online: bool) -> None:
        """Our disco#info changed (a privacy switch): hash it again and, ``online`` with
        an available presence out, announce the new hash in the same presence again; a
        change soon after an announcement is announced at the end of the gap, with the
        hash of then (none when that is what was announced). (Offline, the core hands
        the switches over as the session starts again.)"""
        if not self._caps_ver:
            return  # (not hashed yet this session: prepare_caps will hash what is then)
        self._hash()
        if online and self._gap is None:
            self._announce()

    def _announce(self) -> None:
        """Our available presence again, if its hash is not the one announced last."""
        if self._last is None or self._announced_ver == self._caps_ver:
            return
        self.send(*self._last)
        self._gap = asyncio.get_running_loop().call_later(self.announce_gap, self._gap_over)

    def _gap_over(self) -> None:
        self._gap = None
        self._announce()

    def stream_ended(self) -> None:
        """The stream is gone (it may be resumed): nothing is announced on it meanwhile;
        a resumed stream is told what changed (:meth:`features_changed`)."""
        if self._gap is not None:
            self._gap.cancel()
            self._gap = None

    def _hash(self) -> None:
        """slixmpp's ``update_caps``, but with a copy of the info at node#ver: the live
        one changes with the privacy switches and node#ver must keep answering what was
        hashed. Synchronous: no presence can go out between a change and its hash."""
        disco = self._client.plugin["xep_0030"]
        caps = self._client.plugin["xep_0115"]
        info = copy.copy(_at_once(disco.api["get_info"](None, None, None, None)))
        ver = caps.generate_verstring(info, caps.hash)
        _at_once(disco.set_info(node=f"{CAPS_NODE}#{ver}", info=info))
        _at_once(caps.cache_caps(ver, info))
        self._caps_ver = ver

    def _with_caps(self, presence: Any) -> Any:
        if self._caps_ver:
            c = presence.xml.makeelement(
                f"{{{NS_CAPS}}}c", {"hash": "sha-1", "node": CAPS_NODE, "ver": self._caps_ver}
            )
            presence.xml.append(c)
        return presence

    def send(self, show: Show, status: str, priority: int) -> None:
        if show in (Show.OFFLINE, Show.INVISIBLE):
            # (Invisible, appear offline: an unavailable broadcast while the stream
            # stays up.)
            self._last = None
            self._client.send_presence(ptype="unavailable", pstatus=status or None)
            return
        presence = self._client.make_presence(
            pshow=_SHOW_OUT[show], pstatus=status or None, ppriority=priority
        )
        self._last = (show, status, priority)
        self._announced_ver = self._caps_ver
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
