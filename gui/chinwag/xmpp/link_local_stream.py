"""XEP-0174 section 6: the XML stream between two link-local peers over one TCP
connection, with no server, no TLS and no SASL.

What a peer sends is untrusted: the parser refuses a DTD, an entity declaration, a
comment or a processing instruction (RFC 6120 11.1), caps the bytes of the stream header
and of every stanza (:data:`MAX_STANZA_BYTES`) and the nesting depth, and the stream is
closed when the peer says nothing for :data:`IDLE_TIMEOUT` seconds (or sends no header
within :data:`HEADER_TIMEOUT`). A peer that breaks a rule gets a stream error and the
connection is closed; nothing it sends can block the loop for longer than it takes to
parse the capped bytes.

No TLS: XEP-0174 streams are plain TCP on the local link (as Pidgin's Bonjour and
Telepathy Salut do); XEP-0174 leaves TLS optional and no link-local client offers it
without certificates nobody can check. We neither offer nor accept ``<starttls/>``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

log = logging.getLogger(__name__)

NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
STREAM = f"{{{NS_STREAMS}}}stream"

#: The largest stanza (and stream header) a peer may send, in bytes: a message of
#: :data:`~chinwag.core.models.MAX_MESSAGE_CHARS` characters, escaped, fits.
MAX_STANZA_BYTES = 512 * 1024
MAX_HEADER_BYTES = 4096
#: The most bytes written to a peer and not taken by it yet: a peer that reads nothing
#: (while it sends requests we answer) has its connection dropped, not our memory filled.
MAX_WRITE_BUFFER = 8 * MAX_STANZA_BYTES
#: Deeper nesting than this inside one stanza is refused (no stanza of ours needs 12).
MAX_DEPTH = 32
#: Seconds a peer may take to send its stream header after the connection is made.
HEADER_TIMEOUT = 10.0
#: Seconds without a byte from the peer before the stream is closed (either side
#: opens a new one when it has something to say).
IDLE_TIMEOUT = 300.0


class StreamViolation(Exception):
    """The peer broke a rule of the stream; ``condition`` is the stream error sent."""

    def __init__(self, condition: str, text: str) -> None:
        super().__init__(text)
        self.condition = condition


class _Builder:
    """An ElementTree parser target that builds one stanza at a time (children of the
    stream root), hands each on when it ends, and refuses what XMPP forbids."""

    def __init__(
        self,
        on_header: Callable[[dict[str, str]], None],
        on_stanza: Callable[[ET.Element], None],
        on_end: Callable[[], None],
        on_between: Callable[[], None] = lambda: None,
    ) -> None:
        self._on_header = on_header
        self._on_stanza = on_stanza
        self._on_end = on_end
        self._on_between = on_between
        self._stack: list[ET.Element] = []
        self._depth = 0
        self._text: list[str] = []

    def _flush_text(self) -> None:
        if not self._text:
            return
        text = "".join(self._text)
        self._text = []
        if not self._stack:  # (whitespace between stanzas)
            return
        top = self._stack[-1]
        if len(top):
            last = top[-1]
            last.tail = (last.tail or "") + text
        else:
            top.text = (top.text or "") + text

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._flush_text()
        self._depth += 1
        if self._depth == 1:
            if tag != STREAM:
                raise StreamViolation("invalid-namespace", f"the stream opens with {tag}")
            self._on_header(dict(attrib))
            return
        if self._depth > MAX_DEPTH:
            raise StreamViolation("policy-violation", "the stanza is nested too deeply")
        el = ET.Element(tag, attrib)
        if self._stack:
            self._stack[-1].append(el)
        self._stack.append(el)

    def end(self, tag: str) -> None:
        self._flush_text()
        self._depth -= 1
        if self._depth == 0:
            self._on_end()
            return
        el = self._stack.pop()
        if not self._stack:
            self._on_stanza(el)

    def data(self, text: str) -> None:
        if self._stack:
            self._text.append(text)
        else:
            self._on_between()  # (text between stanzas, parsed: nothing of it is held)

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise StreamViolation("restricted-xml", "a DTD is not allowed in XMPP")

    def comment(self, text: str) -> None:
        raise StreamViolation("restricted-xml", "a comment is not allowed in XMPP")

    def pi(self, target: str, text: str | None = None) -> None:
        raise StreamViolation("restricted-xml", "a processing instruction is not allowed")

    def close(self) -> None:
        return None


class StreamParser:
    """Feeds bytes to expat; calls back with the header's attributes, each stanza (an
    Element in ``{jabber:client}`` or another namespace), and the stream's end. Raises
    :class:`StreamViolation` on anything refused."""

    def __init__(
        self,
        on_header: Callable[[dict[str, str]], None],
        on_stanza: Callable[[ET.Element], None],
        on_end: Callable[[], None],
    ) -> None:
        self._header_seen = False

        def header(attrs: dict[str, str]) -> None:
            self._header_seen = True
            self._pending = 0
            on_header(attrs)

        def stanza(el: ET.Element) -> None:
            self._pending = 0
            on_stanza(el)

        def between() -> None:
            self._pending = 0

        self._builder = _Builder(header, stanza, on_end, between)
        self._parser = ET.XMLParser(target=self._builder)
        #: Bytes fed since the last stanza (or the header, or text between stanzas)
        #: ended: what expat may be holding, including a start tag not finished yet
        #: (which it holds whole and parses again with every read).
        self._pending = 0

    def feed(self, data: bytes) -> None:
        # Counted piece by piece as it is parsed: a peer cannot make us hold more than
        # the cap (give or take a piece) of a stanza that never ends, and one read
        # holding many small stanzas is fine.
        for start in range(0, len(data), 4096):
            piece = data[start : start + 4096]
            self._pending += len(piece)
            try:
                self._parser.feed(piece)
            except ET.ParseError as exc:
                raise StreamViolation("not-well-formed", str(exc)) from None
            if not self._header_seen:
                if self._pending > MAX_HEADER_BYTES:
                    raise StreamViolation("policy-violation", "the stream header is too large")
            elif self._pending > MAX_STANZA_BYTES:
                raise StreamViolation("policy-violation", "the stanza is too large")


def stream_header(own: str, peer: str) -> bytes:
    """Our stream header (XEP-0174 6.1: from and to are the service instance names)."""
    return (
        "<?xml version='1.0'?>"
        f"<stream:stream xmlns='{NS_CLIENT}' xmlns:stream='{NS_STREAMS}' "
        f"from={quoteattr(own)} to={quoteattr(peer)} version='1.0'>"
    ).encode()


FEATURES = f"<stream:features xmlns:stream='{NS_STREAMS}'/>".encode()
CLOSE = b"</stream:stream>"


def stream_error(condition: str) -> bytes:
    return (
        f"<stream:error><{condition} xmlns='{NS_STREAM_ERRORS}'/></stream:error>"
    ).encode() + CLOSE


class PeerStream(asyncio.Protocol):
    """One TCP connection carrying an XEP-0174 stream, either way round.

    ``admit(stream)`` (incoming) is asked once the connection is made, with
    :attr:`remote_ip` known: False closes it at once, unheard.

    ``on_header(stream, attrs)`` runs when the peer's header arrives (the owner checks
    who it is and, for an incoming stream, answers with :meth:`open`); until the owner
    calls :meth:`accept`, stanzas are held (at most :data:`HELD_STANZAS`).
    ``on_stanza(stream, element)`` gets each stanza after that; ``on_closed(stream)``
    runs once, when the connection is gone."""

    HELD_STANZAS = 64

    def __init__(
        self,
        own: str,
        on_header: Callable[[PeerStream, dict[str, str]], None],
        on_stanza: Callable[[PeerStream, ET.Element], None],
        on_closed: Callable[[PeerStream], None],
        *,
        outgoing_to: str = "",
        admit: Callable[[PeerStream], bool] | None = None,
    ) -> None:
        self.own = own
        #: The peer's service name: who we dialled, or (incoming) who the owner accepted.
        self.peer = outgoing_to
        self.outgoing = bool(outgoing_to)
        self.remote_ip = ""
        self._on_header = on_header
        self._on_stanza = on_stanza
        self._on_closed = on_closed
        self._admit = admit
        self._transport: asyncio.Transport | None = None
        self._parser = StreamParser(self._header, self._stanza, self._end)
        self._accepted = False
        self._held: list[ET.Element] = []
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        #: Set once the peer's header has come and the owner accepted the stream.
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ready.add_done_callback(_consume)

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peername: Any = transport.get_extra_info("peername")
        self.remote_ip = str(peername[0]) if peername else ""
        if not self.outgoing and self._admit is not None and not self._admit(self):
            self.abort()  # (too many connections from there: closed unheard)
            return
        self._arm(HEADER_TIMEOUT)
        if self.outgoing:
            transport.write(stream_header(self.own, self.peer))

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._arm(IDLE_TIMEOUT if self.ready.done() else HEADER_TIMEOUT)
        try:
            self._parser.feed(data)
        except StreamViolation as exc:
            log.info("link-local stream from %s refused: %s", self.remote_ip, exc)
            self.fail(exc.condition)

    def eof_received(self) -> bool | None:
        self.close()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("the stream closed before it opened"))
        self._on_closed(self)

    # -- the owner's side ---------------------------------------------------------------

    def accept(self, peer: str) -> None:
        """The peer is who it says (``peer``): answer (incoming), then pass its stanzas on."""
        self.peer = peer
        if not self.outgoing and self._transport is not None:
            self._transport.write(stream_header(self.own, peer) + FEATURES)
        self._accepted = True
        if not self.ready.done():
            self.ready.set_result(None)
        held, self._held = self._held, []
        for el in held:
            if not self._closed:
                self._on_stanza(self, el)

    def write(self, data: bytes) -> bool:
        """Write one stanza; False when the connection is gone (or dropped now: the
        peer has left :data:`MAX_WRITE_BUFFER` bytes unread)."""
        if self._transport is None or self._closed or self._transport.is_closing():
            return False
        if self._transport.get_write_buffer_size() + len(data) > MAX_WRITE_BUFFER:
            log.info("link-local peer %s reads nothing: dropped", self.peer or self.remote_ip)
            self._closed = True
            self._transport.abort()  # (not close(): that would wait for the peer to read)
            return False
        self._transport.write(data)
        return True

    def fail(self, condition: str) -> None:
        """Send a stream error and drop the connection."""
        if self._transport is not None and not self._closed:
            if not self.outgoing and not self.ready.done():
                # (the peer has not heard our header yet: errors come inside a stream)
                self._transport.write(stream_header(self.own, self.peer or "unknown"))
            self._transport.write(stream_error(condition))
        self.abort()

    def close(self) -> None:
        """End the stream cleanly."""
        if self._transport is not None and not self._closed:
            if self.ready.done():
                self._transport.write(CLOSE)
            self._transport.close()
        self._closed = True

    def abort(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()  # (after what was written: the error goes out)

    @property
    def open(self) -> bool:
        return not self._closed and self._transport is not None

    # -- the parser's callbacks -----------------------------------------------------------

    def _header(self, attrs: dict[str, str]) -> None:
        self._on_header(self, attrs)

    def _stanza(self, el: ET.Element) -> None:
        if el.tag == f"{{{NS_STREAMS}}}features":
            return  # (nothing offered on a link-local stream is used)
        if el.tag == f"{{{NS_STREAMS}}}error":
            log.info("link-local peer %s sent a stream error", self.peer or self.remote_ip)
            self.abort()
            return
        if not self._accepted:
            if len(self._held) >= self.HELD_STANZAS:
                raise StreamViolation(
                    "policy-violation", "too many stanzas before the stream opened"
                )
            self._held.append(el)
            return
        self._on_stanza(self, el)

    def _end(self) -> None:
        self.close()

    def _arm(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        if self._closed:
            return
        if self.ready.done():
            log.debug("link-local stream with %s idle: closing it", self.peer)
            self.close()
        else:
            log.info("link-local peer %s sent no stream header in time", self.remote_ip)
            self.fail("connection-timeout")


def _consume(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
