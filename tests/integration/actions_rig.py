"""The XMPP layer on its own against the rig's Prosody, for the issue-11 actions
(XEP-0308 corrections, XEP-0424 retractions, XEP-0444 reactions, XEP-0461 replies): a
real :class:`SlixmppConnection` whose listener records what the connection hands up to
the core, and slixmpp peers that load slixmpp's own plugins for those XEPs.

Everything waits on what arrives: a peer sends a plain "sync" message after what it
tests, and since one sender's stanzas arrive in order, once that has arrived everything
sent before it has been handled."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from helpers import account_for
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.errors import ChinwagError
from chinwag.core.models import (
    Bookmark,
    Contact,
    ConversationKind,
    Message,
    Presence,
    Show,
    StreamState,
)
from chinwag.xmpp.connection import SlixmppConnection
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

#: slixmpp's plugins for what is tested (their dependencies come along: 0334, 0359,
#: 0422, 0428).
PEER_PLUGINS = ("xep_0030", "xep_0308", "xep_0424", "xep_0444", "xep_0461")

_tokens = itertools.count(1)


class RecordingListener:
    """A :class:`~chinwag.core.ports.ConnectionListener` that records the messages and
    chat states the connection hands up, lets a test wait for one, and acknowledges
    each batch at once (``done``)."""

    def __init__(self) -> None:
        self.conn: SlixmppConnection | None = None
        self.messages: list[Message] = []
        self.receipt_to: list[str] = []
        self.chat_states: list[tuple[str, str]] = []
        #: (room, inviter, reason, password, direct) as the connection hands them up.
        self.invitations: list[tuple[str, str, str, str, bool]] = []
        self.batches = 0
        self.unacknowledged = 0
        self._waiters: list[tuple[Callable[[Message], bool], asyncio.Future[Message]]] = []

    def after(self, mark: int) -> list[Message]:
        """The messages recorded after the first ``mark``."""
        return self.messages[mark:]

    async def wait(self, pred: Callable[[Message], bool], timeout: float = 20.0) -> Message:
        """The first recorded message matching ``pred``, already here or still to come."""
        for message in self.messages:
            if pred(message):
                return message
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        entry = (pred, fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.remove(entry)

    # -- ConnectionListener -------------------------------------------------------------

    def on_session_started(self, resumed: bool) -> None:
        assert self.conn is not None
        if not resumed:
            self.conn.send_presence(Show.ONLINE, "", 0)

    def on_disconnected(self, error: ChinwagError | None) -> None:
        pass

    def on_messages(
        self,
        messages: Sequence[Message],
        receipt_to: Sequence[str],
        done: Callable[[], None] | None = None,
    ) -> None:
        assert len(messages) == len(receipt_to)
        self.batches += 1
        self.messages.extend(messages)
        self.receipt_to.extend(receipt_to)
        if done is not None:
            done()
        else:
            self.unacknowledged += 1
        for message in messages:
            for pred, fut in list(self._waiters):
                if not fut.done() and pred(message):
                    fut.set_result(message)

    def on_acked(self, uid: str, peer: str) -> None:
        pass

    def stream_state(self) -> StreamState | None:
        return None

    async def save_stream_state(self, state: StreamState | None) -> None:
        pass

    def on_message_error(self, uid: str, peer: str, reason: str) -> None:
        pass

    def on_receipt(self, uid: str, peer: str) -> None:
        pass

    def on_displayed(
        self,
        uid: str,
        peer: str,
        from_self: bool,
        kind: ConversationKind = ConversationKind.CHAT,
        nick: str = "",
        occupant_id: str = "",
    ) -> None:
        pass

    def on_chat_state(
        self, peer: str, state: str, kind: ConversationKind = ConversationKind.CHAT, nick: str = ""
    ) -> None:
        self.chat_states.append((peer, state))

    def on_roster(self, contacts: Sequence[Contact] | None, version: str, full: bool) -> None:
        pass

    def roster_version(self) -> str:
        return ""

    def idle_seconds(self, asker: str) -> int | None:
        return None

    def on_presence(self, jid: str, presence: Presence) -> None:
        pass

    def on_subscription(self, jid: str, kind: str, nick: str) -> None:
        pass

    def on_stanza_id(self, uid: str, peer: str, stanza_id: str) -> None:
        pass

    def on_blocklist(self, jids: Sequence[str], blocked: bool, full: bool) -> None:
        pass

    def on_invitation(
        self, room: str, inviter: str, reason: str, password: str, direct: bool
    ) -> None:
        self.invitations.append((room, inviter, reason, password, direct))

    def on_bookmarks(self, changed: Sequence[Bookmark], removed: Sequence[str], full: bool) -> None:
        pass

    def on_user_data(self, jid: str, node: str, data: str | None) -> None:
        pass


class Chinwag:
    """Chinwag's XMPP layer for one account: the real connection and its recorder."""

    def __init__(self, server: ProsodyServer, jid: str, password: str) -> None:
        self.jid = jid
        self.rec = RecordingListener()
        self.conn = SlixmppConnection(
            account_for(server, jid, resource="chinwag-test"), password, self.rec
        )
        self.rec.conn = self.conn

    @property
    def full_jid(self) -> str:
        return str(self.conn.client.boundjid.full)

    def send(self, message: Message) -> None:
        self.conn.send_message(message)

    async def archive(self) -> list[Message]:
        """Everything in our archive, as the catch-up reads it."""
        found: list[Message] = []
        async for page, _last in self.conn.archive_pages(None, 0.0):
            found.extend(page)
        return found


class Peer(XmppPeer):
    """A slixmpp contact with slixmpp's plugins for the XEPs under test, recording every
    ``<message/>`` it receives (slixmpp's own "message" event skips bodiless ones)."""

    def __init__(self, server: ProsodyServer, jid: str, password: str) -> None:
        super().__init__(server, jid, password)
        for plugin in PEER_PLUGINS:
            self.client.register_plugin(plugin)
        self.stanzas: asyncio.Queue[Any] = asyncio.Queue()
        self.client.register_handler(
            Callback("test: every message", MatchXPath("{jabber:client}message"), self._got)
        )

    def _got(self, stanza: Any) -> None:
        if stanza["type"] != "error":
            self.stanzas.put_nowait(stanza)

    async def receive(self, timeout: float = 20.0) -> Any:
        """The next ``<message/>`` received that is not a receipt or a chat state alone."""
        while True:
            stanza = await asyncio.wait_for(self.stanzas.get(), timeout)
            if stanza["body"] or any(
                stanza.xml.find(tag) is not None
                for tag in (
                    "{urn:xmpp:message-correct:0}replace",
                    "{urn:xmpp:message-retract:1}retract",
                    "{urn:xmpp:reactions:0}reactions",
                    "{urn:xmpp:reply:0}reply",
                )
            ):
                return stanza

    def react(self, to: str, uid: str, reactions: Sequence[str]) -> None:
        """Reactions with slixmpp's plugin, typed "chat" as clients send them (its
        ``send_reactions`` leaves the type out, and Prosody makes no carbon copy of a
        bodiless "normal" message)."""
        msg = self.client.make_message(mto=to, mtype="chat")
        self.client.plugin["xep_0444"].set_reactions(msg, uid, reactions)
        msg.enable("store")
        msg.send()

    def stanza(self, to: str, body: str = "", *elements: str, mtype: str = "chat") -> Any:
        """A message to ``to`` with ``elements`` (XML text, each with its namespace)."""
        msg = self.client.make_message(mto=to, mbody=body or None, mtype=mtype)
        for text in elements:
            msg.xml.append(ET.fromstring(text))
        return msg

    def send(self, to: str, body: str = "", *elements: str) -> str:
        """Send :meth:`stanza`; return its id."""
        msg = self.stanza(to, body, *elements)
        msg.send()
        return str(msg["id"])

    async def sync(self, chinwag: Chinwag, to: str | None = None) -> Message:
        """Send a plain message and wait until ``chinwag`` has it (a sent carbon, when
        this peer is one of ``chinwag``'s own devices: then pass ``to``)."""
        token = f"sync {next(_tokens)}"
        self.send_chat(to or chinwag.jid, token)
        return await chinwag.rec.wait(lambda m: m.body == token)


@contextlib.asynccontextmanager
async def chinwag_side(
    server: ProsodyServer, jid: str, password: str, *, connect: bool = True
) -> AsyncIterator[Chinwag]:
    side = Chinwag(server, jid, password)
    try:
        if connect:
            await side.conn.connect()
        yield side
    finally:
        await side.conn.disconnect()


@contextlib.asynccontextmanager
async def peer(server: ProsodyServer, jid: str, password: str) -> AsyncIterator[Peer]:
    p = Peer(server, jid, password)
    await p.login()
    try:
        yield p
    finally:
        await p.logout()
