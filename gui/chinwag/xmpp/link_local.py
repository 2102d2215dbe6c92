"""XEP-0174 Serverless Messaging: a link-local account's
:class:`~chinwag.core.ports.XmppConnection`, so that to the core it is one more account.

- Presence is a DNS-SD service ``<name>._presence._tcp.local.`` published over mDNS
  (python-zeroconf's asyncio API, on the application's loop, bound to the interfaces of
  the network namespace it runs in; IPv4). Its TXT record carries txtvers, 1st, last,
  nick, status (avail, away, dnd), msg and port.p2pj; a change of status is a TXT
  update, Invisible withdraws the service. Several changes in a row publish the last.
- The roster is the set of peers browsed and resolved, in the group
  :data:`GROUP`; a peer's presence is its TXT record. It goes offline as soon as its
  service is withdrawn (its goodbye, or the records expiring in the mDNS cache), and
  leaves the list :data:`PEER_FORGET` seconds later unless it is back by then, so
  that people who have left do not pile up (the history stays).
- Messages go over XML streams on TCP (:mod:`chinwag.xmpp.link_local_stream`), built
  and read by the same modules as on a server (stanzas, receipts, chat states,
  markers, corrections, ...): ``"sent"`` means the peer's stream took the message,
  ``"delivered"`` that the peer answered its receipt (XEP-0184).
- A message to a peer that is not on the network waits here and goes when the peer
  comes back, or fails after :data:`PEER_WAIT` seconds with a reason saying so.

What a peer advertises is untrusted: names are cut to :data:`MAX_NAME_CHARS` and
stripped of control characters, an address that is loopback, multicast or unspecified
is never dialled, at most :data:`MAX_PEERS` peers are tracked and each is resolved by
one task at a time (a flood of announcements costs a bounded amount of work), and an
incoming stream is accepted only from a peer whose advertised address it comes from."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from xml.etree import ElementTree as ET

import ifaddr
from slixmpp.stanza import Iq as IqStanza
from slixmpp.stanza import Message as MessageStanza
from slixmpp.xmlstream.tostring import tostring
from zeroconf import IPVersion, NonUniqueNameException, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from chinwag.core import jid as jids
from chinwag.core.errors import (
    ChinwagError,
    InvalidAddress,
    RequestRefused,
    ResourceConflict,
    ServerUnreachable,
)
from chinwag.core.models import (
    AccountConfig,
    ArchiveSlice,
    Bookmark,
    Contact,
    ConversationKind,
    DiscoInfo,
    DiscoItemsPage,
    Message,
    Presence,
    Show,
    Subscription,
)
from chinwag.core.ports import ConnectionListener
from chinwag.xmpp import chatstates, markers, receipts, stanzas
from chinwag.xmpp.client import MESSAGE_FEATURES
from chinwag.xmpp.dispatch import MessageFeatures
from chinwag.xmpp.link_local_stream import NS_CLIENT, PeerStream
from chinwag.xmpp.messages import MessageDispatcher
from chinwag.xmpp.privacy import Privacy

if TYPE_CHECKING:
    from chinwag.xmpp.client import ChinwagClient

log = logging.getLogger(__name__)

SERVICE_TYPE = "_presence._tcp.local."
#: The roster group every peer on the network is in.
GROUP = "On this network"
#: Seconds a message to a peer that is not on the network waits for it to come back
#: before it fails (the reason names the wait). Ten minutes: a laptop's lid closed for a
#: moment should not fail a message, an evening away should.
PEER_WAIT = 600.0
#: Seconds a peer that left the network stays in the list (offline) before it is
#: removed from it: five minutes, so that one who restarts or closes the lid for a
#: moment stays where they were, and one who has gone for the day does not linger.
PEER_FORGET = 300.0
#: Seconds our service's PTR and TXT records live in the peers' caches (mDNS's usual is
#: 75 minutes): the peers' browsers ask again before that, so a Chinwag that vanished
#: with no goodbye (killed, its cable pulled) is seen offline within about two minutes.
RECORD_TTL = 120
#: The most peers tracked at once; announcements of more are ignored.
MAX_PEERS = 256
#: The longest name (nick, first, last) and status message taken from a peer's TXT.
MAX_NAME_CHARS = 64
MAX_STATUS_CHARS = 512
#: How long one resolve, one dial and an unknown incoming peer's resolution may take.
RESOLVE_TIMEOUT_MS = 3000
DIAL_TIMEOUT = 5.0
VERIFY_TIMEOUT = 5.0
#: Seconds between tries to reach a present peer that did not answer, while messages wait.
REDIAL_DELAY = 5.0
#: The most incoming connections kept open from one address, and from everywhere: more
#: are closed unheard (a peer opening thousands would use up our open files). One
#: address may be several profiles on one computer, each with a stream or two.
MAX_STREAMS_FROM_ONE_ADDRESS = 16
MAX_INCOMING_STREAMS = 2 * MAX_PEERS
#: How many resolves may run at once (the rest wait their turn).
RESOLVES_AT_ONCE = 8

_STATUS_TXT = {Show.AWAY: "away", Show.XA: "away", Show.DND: "dnd"}
_TXT_STATUS = {"away": Show.AWAY, "dnd": Show.DND}
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
)


def clean_text(raw: bytes | str | None, limit: int) -> str:
    """Untrusted TXT text as something safe to show: UTF-8 (bad bytes replaced), no
    control or bidi-override characters, blanks trimmed, at most ``limit`` characters."""
    if raw is None:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return _CONTROL.sub(" ", text[: limit * 2]).strip()[:limit]


def service_label(name: str) -> str:
    """``name`` cut to the 63 bytes of a DNS label (on a character boundary)."""
    data = name.encode()[:63]
    return data.decode("utf-8", "ignore")


def dialable(address: str) -> bool:
    """An address a peer may ask us to connect to: not loopback, multicast, unspecified,
    broadcast or reserved (someone else's service on this machine is not a peer)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (
        ip.is_loopback
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or address == "255.255.255.255"
    )


def local_addresses() -> list[str]:
    """The IPv4 addresses of this network namespace's interfaces, loopback left out."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and dialable(ip.ip) and ip.ip not in found:
                found.append(ip.ip)
    return found


@dataclass
class Peer:
    """One resolved ``_presence._tcp`` service."""

    jid: str
    service: str
    addresses: tuple[str, ...] = ()
    port: int = 0
    show: Show = Show.ONLINE
    status: str = ""
    name: str = ""
    present: bool = True


@dataclass
class _Queued:
    data: bytes
    uid: str  # a message of ours ("" : a receipt, a marker, ...)
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Published:
    show: Show
    status: str


class _Stanzas:
    """What the stanza builders and readers of :mod:`chinwag.xmpp` need of a client
    (``make_message``, ``register_handler``, ``message_features``, ``privacy``,
    ``account``), for the streams of a link-local account: a stanza sent is routed to
    the stream of the peer it is addressed to."""

    default_ns = NS_CLIENT
    use_message_ids = False

    def __init__(self, owner: LinkLocalConnection, account: AccountConfig) -> None:
        self._owner = owner
        self.account = account
        self.privacy = Privacy()
        self.message_features = MessageFeatures()
        for module in MESSAGE_FEATURES:
            module.register(self.message_features)
        self._handlers: list[Any] = []

    def make_message(
        self,
        mto: str,
        mbody: str | None = None,
        msubject: str | None = None,
        mtype: str | None = None,
        mhtml: str | None = None,
        mfrom: str | None = None,
        mnick: str | None = None,
    ) -> MessageStanza:
        message = MessageStanza(self, sto=mto, stype=mtype, sfrom=self.account.jid)
        message["body"] = mbody
        message["subject"] = msubject
        return message

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def register_handler(self, handler: Any) -> None:
        self._handlers.append(handler)

    def send(self, stanza: Any) -> None:
        self._owner.route(stanza)

    def deliver(self, stanza: MessageStanza) -> None:
        for handler in self._handlers:
            if handler.match(stanza):
                handler.run(stanza)


class LinkLocalConnection:
    """The :class:`~chinwag.core.ports.XmppConnection` of a link-local account."""

    def __init__(
        self,
        config: AccountConfig,
        listener: ConnectionListener,
        *,
        peer_wait: float | None = None,
        peer_forget: float | None = None,
    ) -> None:
        self._config = config
        self._own = config.jid
        self._listener = listener
        self._peer_wait = PEER_WAIT if peer_wait is None else peer_wait
        self._peer_forget = PEER_FORGET if peer_forget is None else peer_forget
        self._forget: dict[str, asyncio.TimerHandle] = {}  # gone peers, by address
        self._stanzas = _Stanzas(self, config)
        # The readers of a server account's messages, as they are (carbons and archive
        # results from a peer are refused there: a peer is never our own account).
        self._messages = MessageDispatcher(self._client, listener)
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._server: asyncio.Server | None = None
        self._port = 0
        self._info: AsyncServiceInfo | None = None
        self._want: _Published | None = None
        self._published: _Published | None = None
        self._sequence = 0
        self._wake = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._peers: dict[str, Peer] = {}  # by bare address
        self._services: dict[str, str] = {}  # service name -> bare address
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._resolves = asyncio.Semaphore(RESOLVES_AT_ONCE)
        self._peers_changed = asyncio.Event()
        self._streams: dict[str, PeerStream] = {}
        self._all_streams: set[PeerStream] = set()
        self._dialing: dict[str, asyncio.Task[None]] = {}
        self._redial: dict[str, asyncio.TimerHandle] = {}
        self._queues: dict[str, list[_Queued]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._too_many_logged = False

    @property
    def _client(self) -> ChinwagClient:
        # The features use only what _Stanzas has of a client (see there).
        return cast("ChinwagClient", self._stanzas)

    # -- XmppConnection: the connection ---------------------------------------------------

    @property
    def acks_enabled(self) -> bool:
        # A message is "sent" when the peer's stream took it (on_acked), not before.
        return True

    @property
    def port(self) -> int:
        """The TCP port our streams are accepted on (0: not listening)."""
        return self._port

    @property
    def service_name(self) -> str:
        return f"{service_label(self._own)}.{SERVICE_TYPE}"

    def peers(self) -> list[Peer]:
        return list(self._peers.values())

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        addresses = local_addresses()
        if not addresses:
            raise ServerUnreachable(
                "no network connection: this computer has no address on a network"
            )
        try:
            self._server = await loop.create_server(self._incoming, host="0.0.0.0", port=0)
            self._port = self._server.sockets[0].getsockname()[1]
            self._zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
        except (OSError, RuntimeError) as exc:  # (RuntimeError: no interface to use)
            await self._close_all()
            raise ServerUnreachable(
                f"cannot chat on the local network: {getattr(exc, 'strerror', None) or exc}"
            ) from exc
        self._wake = asyncio.Event()
        self._peers_changed = asyncio.Event()
        self._publisher = asyncio.create_task(self._publish_loop(), name=f"publish {self._own}")
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, SERVICE_TYPE, handlers=[self._on_service_change]
        )
        self._started = True
        # A fresh roster: the peers of an earlier run are found again if they are here.
        self._listener.on_roster([], "", True)
        self._listener.on_session_started(False)  # (sends our first presence: published)

    async def disconnect(self) -> None:
        started, self._started = self._started, False
        await self._close_all()
        if started:
            self._listener.on_disconnected(None)

    def abort(self) -> None:
        started, self._started = self._started, False
        task = asyncio.ensure_future(self._close_all(goodbye=False))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if started:
            self._listener.on_disconnected(
                ServerUnreachable("the local network connection was dropped")
            )

    async def _close_all(self, goodbye: bool = True) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            self._publisher = None
        for task in [*self._resolving.values(), *self._dialing.values()]:
            task.cancel()
        self._resolving.clear()
        self._dialing.clear()
        for handle in [*self._redial.values(), *self._forget.values()]:
            handle.cancel()
        self._redial.clear()
        self._forget.clear()
        for queue in self._queues.values():
            for item in queue:
                if item.timer is not None:
                    item.timer.cancel()
        self._queues.clear()  # (what waited is still queued in the store: sent next time)
        for stream in list(self._all_streams):
            if goodbye:
                stream.close()
            else:
                stream.abort()
        self._all_streams.clear()
        self._streams.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        browser, self._browser = self._browser, None
        zc, self._zc = self._zc, None
        info, self._info = self._info, None
        self._published = None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.async_cancel()
        if zc is not None:
            if info is not None and goodbye:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(await zc.async_unregister_service(info), 2.0)
            with contextlib.suppress(Exception):
                await zc.async_close()
        for peer in self._peers.values():
            peer.present = False
        self._peers.clear()
        self._services.clear()

    def _drop(self, error: ChinwagError) -> None:
        """Something the account cannot go on without failed (publishing our service)."""
        if not self._started:
            return
        self._started = False
        task = asyncio.ensure_future(self._close_all(goodbye=False))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._listener.on_disconnected(error)

    # -- our presence: the published service --------------------------------------------

    def send_presence(self, show: Show, status: str, priority: int) -> None:
        self._want = None if show in (Show.INVISIBLE, Show.OFFLINE) else _Published(show, status)
        self._wake.set()

    def _service_info(self, want: _Published) -> AsyncServiceInfo:
        user = self._own.partition("@")[0]
        nick = self._config.nickname or user
        properties = {
            "txtvers": "1",
            "1st": nick,
            "last": "",
            "nick": nick,
            "status": _STATUS_TXT.get(want.show, "avail"),
            "msg": want.status[:MAX_STATUS_CHARS],
            "port.p2pj": str(self._port),
            # A new value with every change: going back to an earlier status within a
            # second would otherwise repeat a TXT record the peers' caches still hold
            # (mDNS flushes the old record one second late), and they would not notice.
            "cw.seq": str(self._sequence),
        }
        self._sequence += 1
        host = re.sub("[^a-z0-9-]+", "-", self._own.lower()).strip("-")[:55] or "chinwag"
        return AsyncServiceInfo(
            SERVICE_TYPE,
            self.service_name,
            port=self._port,
            properties=properties,
            server=f"{host}.local.",
            other_ttl=RECORD_TTL,
            parsed_addresses=local_addresses(),
        )

    async def _publish_loop(self) -> None:
        """Publishes the presence wanted last, one change at a time."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            want, zc = self._want, self._zc
            if zc is None:
                return
            try:
                if want is None:
                    if self._info is not None:
                        info, self._info = self._info, None
                        await (await zc.async_unregister_service(info))
                elif self._info is None:
                    info = self._service_info(want)
                    await (await zc.async_register_service(info))
                    self._info = info
                elif want != self._published:
                    info = self._service_info(want)
                    await (await zc.async_update_service(info))
                    self._info = info
            except asyncio.CancelledError:
                raise
            except NonUniqueNameException:
                self._drop(
                    ResourceConflict(
                        f"another program on this network already chats as {self._own}"
                    )
                )
                return
            except Exception as exc:
                log.warning("%s: could not publish our presence: %s", self._own, exc)
                self._drop(ServerUnreachable(f"cannot announce ourselves on the network: {exc}"))
                return
            self._published = want

    # -- the peers: browsing and resolving ------------------------------------------------

    def _on_service_change(
        self,
        zeroconf: Any,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if not self._started or name == self.service_name or not name.endswith(SERVICE_TYPE):
            return
        if state_change is ServiceStateChange.Removed:
            self._peer_gone(name)
            return
        if name not in self._services and len(self._services) >= MAX_PEERS:
            if not self._too_many_logged:
                log.warning(
                    "%s: more than %d peers on the network: ignoring more", self._own, MAX_PEERS
                )
                self._too_many_logged = True
            return
        if name in self._resolving:
            self._dirty.add(name)  # (resolved again once the running resolve is done)
            return
        task = asyncio.create_task(self._resolve(name), name=f"resolve {name[:80]}")
        self._resolving[name] = task

    async def _resolve(self, name: str) -> None:
        try:
            while True:
                self._dirty.discard(name)
                zc = self._zc
                if zc is None:
                    return
                info = AsyncServiceInfo(SERVICE_TYPE, name)
                async with self._resolves:
                    found = await info.async_request(zc.zeroconf, RESOLVE_TIMEOUT_MS)
                if found:
                    self._peer_seen(name, info)
                if name not in self._dirty:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: could not resolve %r", self._own, name[:100])
        finally:
            if self._resolving.get(name) is asyncio.current_task():
                del self._resolving[name]

    def _peer_jid(self, name: str) -> str | None:
        instance = name[: -len(SERVICE_TYPE) - 1]
        if _CONTROL.search(instance):  # (an address shown everywhere: no tricks in it)
            return None
        try:
            address = jids.bare(instance)
        except InvalidAddress:
            return None
        if "@" not in address or address == self._own:
            return None
        return address

    def _peer_seen(self, name: str, info: AsyncServiceInfo) -> None:
        jid = self._peer_jid(name)
        if jid is None:
            log.info("%s: a peer with an unusable name %r is ignored", self._own, name[:100])
            return
        known = self._services.get(name)
        if known is None and len(self._services) >= MAX_PEERS:
            return
        owner = self._peers.get(jid)
        if owner is not None and owner.service != name:
            # Another service naming a present peer's address ('bob@host/x', 'Bob@Host'):
            # the first keeps it (its messages must not go to the newcomer's address).
            log.info("%s: %r names %s, already here: ignored", self._own, name[:100], jid)
            return
        self._services[name] = jid
        props: dict[bytes, bytes | None] = info.properties or {}

        def txt(key: str, limit: int = MAX_NAME_CHARS) -> str:
            return clean_text(props.get(key.encode()), limit)

        port = info.port or 0
        if not port:
            with contextlib.suppress(ValueError):
                port = int(txt("port.p2pj", 8))
        addresses = tuple(a for a in info.parsed_addresses(IPVersion.V4Only) if dialable(a))
        nick = txt("nick") or " ".join(p for p in (txt("1st"), txt("last")) if p)
        show = _TXT_STATUS.get(txt("status"), Show.ONLINE)
        status = txt("msg", MAX_STATUS_CHARS)
        previous = self._peers.get(jid)
        forget = self._forget.pop(jid, None)
        if forget is not None:  # back in time: still in the list
            forget.cancel()
        peer = Peer(jid, name, addresses, port if 0 < port < 65536 else 0, show, status, nick)
        self._peers[jid] = peer
        if previous is None or previous.name != nick:
            contact = Contact(self._own, jid, nick, (GROUP,), Subscription.BOTH)
            self._listener.on_roster([contact], "", False)
        if previous is None or (previous.show, previous.status, previous.present) != (
            show,
            status,
            True,
        ):
            self._listener.on_presence(jid, Presence(show, status))
        self._peers_changed.set()
        self._peers_changed = asyncio.Event()
        if self._queues.get(jid):
            self._dial(jid)

    def _peer_gone(self, name: str) -> None:
        jid = self._services.pop(name, None)
        self._dirty.discard(name)
        task = self._resolving.pop(name, None)
        if task is not None:
            task.cancel()
        if jid is None:
            return
        peer = self._peers.get(jid)
        if peer is None or peer.service != name:
            return  # (not the service the peer is known by)
        del self._peers[jid]
        peer.present = False
        self._listener.on_presence(jid, Presence(Show.OFFLINE))
        stream = self._streams.pop(jid, None)
        if stream is not None:
            stream.close()
        if self._started and jid not in self._forget:
            loop = asyncio.get_running_loop()
            self._forget[jid] = loop.call_later(self._peer_forget, self._forget_peer, jid)

    def _forget_peer(self, jid: str) -> None:
        """A peer gone for :data:`PEER_FORGET` seconds leaves the list."""
        self._forget.pop(jid, None)
        if not self._started or jid in self._peers:
            return
        gone = Contact(self._own, jid, "", (GROUP,), Subscription.REMOVE)
        self._listener.on_roster([gone], "", False)

    # -- streams --------------------------------------------------------------------------

    def _new_stream(self, outgoing_to: str = "") -> PeerStream:
        stream = PeerStream(
            self._own,
            self._on_header,
            self._on_stanza,
            self._on_closed,
            outgoing_to=outgoing_to,
            admit=self._admit,
        )
        self._all_streams.add(stream)
        return stream

    def _admit(self, stream: PeerStream) -> bool:
        """Whether a new incoming connection is kept (see :data:`MAX_INCOMING_STREAMS`)."""
        incoming = [s for s in self._all_streams if not s.outgoing and s.open and s is not stream]
        if len(incoming) >= MAX_INCOMING_STREAMS:
            return False
        ip = stream.remote_ip
        return sum(s.remote_ip == ip for s in incoming) < MAX_STREAMS_FROM_ONE_ADDRESS

    def _incoming(self) -> PeerStream:
        return self._new_stream()

    def _on_header(self, stream: PeerStream, attrs: dict[str, str]) -> None:
        claimed = attrs.get("from", "")
        to = attrs.get("to", "")
        if to:
            try:
                ok = jids.bare(to) == self._own
            except InvalidAddress:
                ok = False
            if not ok:
                stream.fail("host-unknown")
                return
        if stream.outgoing:
            if claimed:
                try:
                    ok = jids.bare(claimed) == stream.peer
                except InvalidAddress:
                    ok = False
                if not ok:  # we reached someone else at the address the peer gave
                    log.info("%s: %s answered as %r", self._own, stream.peer, claimed[:100])
                    stream.fail("invalid-from")
                    return
            stream.accept(stream.peer)
            return
        try:
            jid = jids.bare(claimed)
        except InvalidAddress:
            stream.fail("invalid-from")
            return
        task = asyncio.create_task(self._verify(stream, jid), name=f"verify {jid[:80]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _from_peer(self, jid: str, ip: str) -> bool:
        peer = self._peers.get(jid)
        return peer is not None and ip in peer.addresses

    async def _verify(self, stream: PeerStream, jid: str) -> None:
        """An incoming stream names ``jid``: accepted once ``jid`` is a peer on the
        network whose advertised address the connection comes from (it may just be
        resolving it: we wait for that a little), else refused."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + VERIFY_TIMEOUT
        while not self._from_peer(jid, stream.remote_ip):
            left = deadline - loop.time()
            if left <= 0 or not stream.open:
                log.info(
                    "%s: a stream from %s claiming to be %r refused",
                    self._own,
                    stream.remote_ip,
                    jid[:100],
                )
                stream.fail("invalid-from")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._peers_changed.wait(), left)
        if not stream.open:
            return
        stream.accept(jid)
        current = self._streams.get(jid)
        if current is None or not current.open:
            self._streams[jid] = stream
        self._flush(jid)

    def _on_stanza(self, stream: PeerStream, el: ET.Element) -> None:
        if el.tag == f"{{{NS_CLIENT}}}message":
            message = MessageStanza(self._stanzas, xml=el, recv=True)
            # Who sent it is the peer the stream was accepted from, whatever it wrote.
            message["from"] = stream.peer
            message["to"] = self._own
            self._stanzas.deliver(message)
        elif el.tag == f"{{{NS_CLIENT}}}iq" and el.get("type") in ("get", "set"):
            iq = IqStanza(self._stanzas, xml=el)
            iq["from"] = stream.peer
            iq["to"] = self._own
            reply = iq.reply(clear=True)
            reply["error"]["type"] = "cancel"
            reply["error"]["condition"] = "service-unavailable"
            stream.write(self._serialise(reply))
        # (presence, answers to requests we never make: nothing on a link-local stream)

    def _on_closed(self, stream: PeerStream) -> None:
        self._all_streams.discard(stream)
        if self._streams.get(stream.peer) is stream:
            del self._streams[stream.peer]
            if self._started and self._queues.get(stream.peer):
                self._dial(stream.peer)

    def _dial(self, jid: str) -> None:
        if jid in self._dialing or not self._started:
            return
        task = asyncio.create_task(self._open(jid), name=f"dial {jid[:80]}")
        self._dialing[jid] = task

    async def _open(self, jid: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            peer = self._peers.get(jid)
            if peer is None or not peer.port:
                return
            for address in peer.addresses:
                stream = self._new_stream(outgoing_to=jid)
                try:
                    await asyncio.wait_for(
                        loop.create_connection(lambda s=stream: s, address, peer.port),  # type: ignore[misc]
                        DIAL_TIMEOUT,
                    )
                    await asyncio.wait_for(asyncio.shield(stream.ready), DIAL_TIMEOUT)
                except (OSError, TimeoutError, ConnectionError) as exc:
                    log.info("%s: cannot reach %s at %s: %s", self._own, jid, address, exc)
                    stream.abort()
                    self._all_streams.discard(stream)
                    continue
                self._streams[jid] = stream
                break
        finally:
            if self._dialing.get(jid) is asyncio.current_task():
                del self._dialing[jid]
        if jid in self._streams:
            self._flush(jid)
        elif self._queues.get(jid) and self._started and jid not in self._redial:
            self._redial[jid] = loop.call_later(REDIAL_DELAY, self._redial_now, jid)

    def _redial_now(self, jid: str) -> None:
        self._redial.pop(jid, None)
        if self._queues.get(jid) and jid in self._peers:
            self._dial(jid)

    # -- sending ---------------------------------------------------------------------------

    @staticmethod
    def _serialise(stanza: Any) -> bytes:
        return tostring(stanza.xml, xmlns=NS_CLIENT).encode()

    def route(self, stanza: Any, uid: str = "") -> None:
        """Send ``stanza`` to the peer it is addressed to: now if a stream with it is
        open, else once one is (``uid``: our message, acknowledged when written, failed
        when the peer does not come back in time)."""
        stanza = self._stanzas.privacy.outgoing(stanza)
        if stanza is None or not self._started:
            return
        jid = stanza["to"].bare
        data = self._serialise(stanza)
        stream = self._streams.get(jid)
        if (
            stream is not None
            and stream.open
            and not self._queues.get(jid)  # (in order: after what waits)
            and stream.write(data)
        ):
            if uid:
                self._listener.on_acked(uid, jid)
            return
        droppable = not uid and bool(chatstates.chat_state(stanza)) and not stanza["body"]
        if droppable and jid not in self._peers:
            return  # (nobody to tell that we type)
        queue = self._queues.setdefault(jid, [])
        if uid and any(item.uid == uid for item in queue):
            return  # (handed again after a reconnect of the account)
        item = _Queued(data, uid)
        if uid:
            item.timer = asyncio.get_running_loop().call_later(
                self._peer_wait, self._expired, jid, uid
            )
        queue.append(item)
        if jid in self._peers:
            self._dial(jid)

    def _flush(self, jid: str) -> None:
        stream = self._streams.get(jid)
        queue = self._queues.get(jid)
        if stream is None or not queue:
            return
        while queue:
            item = queue[0]
            if not stream.write(item.data):
                return
            queue.pop(0)
            if item.timer is not None:
                item.timer.cancel()
            if item.uid:
                self._listener.on_acked(item.uid, jid)
        del self._queues[jid]

    def _expired(self, jid: str, uid: str) -> None:
        queue = self._queues.get(jid, [])
        kept = [item for item in queue if item.uid != uid]
        if len(kept) == len(queue):
            return
        self._queues[jid] = kept
        wait = self._peer_wait
        span = f"{wait / 60:g} minutes" if wait >= 60 else f"{wait:g} seconds"
        where = "was not reachable" if jid in self._peers else "was not on the network"
        self._listener.on_message_error(
            uid, jid, f"{jid} {where} for {span} after the message was sent: not delivered"
        )

    def send_message(self, message: Message) -> None:
        if message.kind is not ConversationKind.CHAT:
            self._listener.on_message_error(
                message.uid, message.peer, "a link-local account has no rooms"
            )
            return
        self.route(stanzas.build_outgoing(self._client, message), message.uid)

    def unacked_uids(self) -> set[str]:
        return {item.uid for queue in self._queues.values() for item in queue if item.uid}

    def send_receipt(self, to: str, uid: str) -> None:
        receipts.send_receipt(self._client, to, uid)

    def send_displayed(
        self, to: str, uid: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        if kind is ConversationKind.CHAT:
            markers.send_displayed(self._client, to, uid, kind)

    def send_chat_state(
        self, to: str, state: str, kind: ConversationKind = ConversationKind.CHAT
    ) -> None:
        if kind is ConversationKind.CHAT:
            chatstates.send_chat_state(self._client, to, state, kind)

    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None:
        self._stanzas.privacy.set(chat_states=chat_states, read_markers=read_markers)

    # -- what a network without a server does not have -------------------------------------

    @staticmethod
    def _refused(what: str) -> RequestRefused:
        return RequestRefused(f"{what}: not on a link-local account", "feature-not-implemented")

    def join_room(self, room: str, nick: str, password: str = "", show: Show = Show.ONLINE) -> None:
        self._listener.on_room_error(
            room, "service-unavailable", "a link-local account has no rooms"
        )

    def leave_room(self, room: str, nick: str, status: str = "") -> None:
        return None

    def set_room_subject(self, room: str, subject: str) -> None:
        return None

    async def configure_room(self, room: str, fields: Mapping[str, str | Sequence[str]]) -> None:
        raise self._refused("rooms")

    def change_nick(self, room: str, nick: str) -> None:
        return None

    async def set_room_role(self, room: str, nick: str, role: str, reason: str = "") -> None:
        raise self._refused("rooms")

    async def set_room_affiliation(
        self, room: str, jid: str, affiliation: str, reason: str = ""
    ) -> None:
        raise self._refused("rooms")

    async def destroy_room(self, room: str, reason: str = "") -> None:
        raise self._refused("rooms")

    async def room_affiliations(self, room: str, affiliation: str) -> list[str]:
        raise self._refused("rooms")

    async def moderate_message(self, room: str, stanza_id: str, reason: str = "") -> None:
        raise self._refused("rooms")

    async def disco_info(self, jid: str) -> DiscoInfo:
        raise self._refused("service discovery")

    async def disco_items(self, jid: str, limit: int = 0, after: str = "") -> DiscoItemsPage:
        raise self._refused("service discovery")

    async def ping_occupant(self, room: str, nick: str) -> str:
        return "feature-not-implemented"

    def invite(
        self,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None:
        return None

    def decline(self, room: str, inviter: str, reason: str = "") -> None:
        return None

    def send_subscription(self, to: str, kind: str) -> None:
        return None  # (everyone on the network sees everyone's presence)

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None:
        raise self._refused("the contact list is the people on the network")

    async def roster_remove(self, jid: str) -> None:
        raise self._refused("the contact list is the people on the network")

    async def block(self, jids: Sequence[str]) -> None:
        raise self._refused("blocking")

    async def unblock(self, jids: Sequence[str]) -> None:
        raise self._refused("blocking")

    async def archive_pages(
        self, after_id: str | None, start: float | None, archive: str = ""
    ) -> AsyncIterator[tuple[list[Message], str]]:
        # No server, no archive: nothing to catch up on.
        nothing: list[tuple[list[Message], str]] = []
        for page in nothing:
            yield page

    async def archive_page_before(
        self, archive: str, before_id: str, limit: int, start: float | None = None
    ) -> ArchiveSlice:
        return ArchiveSlice()

    async def server_time(self) -> float | None:
        return None

    async def fetch_bookmarks(self) -> list[Bookmark]:
        return []

    async def publish_bookmark(self, bookmark: Bookmark) -> None:
        raise self._refused("bookmarks")

    async def retract_bookmark(self, room: str) -> None:
        raise self._refused("bookmarks")

    async def fetch_user_data(self, jid: str, node: str) -> str | None:
        return None

    async def publish_user_data(self, node: str, data: str) -> None:
        raise self._refused("published data")

    async def delete_user_data(self, node: str) -> None:
        return None
