# dbus-next 0.2.3 ships py.typed but leaves most methods unannotated.
# mypy: disable-error-code="no-untyped-call"
"""The app's D-Bus connection: dbus-next's asyncio ``MessageBus`` with a correct writer.

Use :func:`connect_session_bus` to connect and :func:`close_message_bus` to close; both run
on the app's one event loop (the qasync ``QEventLoop``).

What is wrong in dbus-next 0.2.3
    ``dbus_next/aio/message_bus.py``, class ``_MessageWriter`` (lines 30-85):

    * ``write_callback`` (43-74) loops over the queue calling ``sock.send``/``sendmsg`` on
      the non-blocking socket (60, 63). A *short* write is handled (the offset is kept and
      it returns to wait, 65-71), but a write that finds the socket buffer already full
      raises ``BlockingIOError`` (EAGAIN), and the catch-all ``except Exception`` (72-74)
      treats that like a dead peer: it fails the message's future and calls
      ``bus._finalize(e)``, which unregisters the reader and writer and fails every pending
      call. The whole connection is gone, although the kernel only said "not now". Any burst
      larger than the socket buffer (about 200 KiB; ~1,000 small signals emitted in one go)
      does it: the loop writes whole small messages until one takes the buffer to its
      limit, and the next ``send`` then gets EAGAIN rather than a short write.
    * ``schedule_write`` (80-85), i.e. every ``MessageBus.send`` (309-327), calls
      ``loop.add_writer`` again. On qasync that builds a new ``QSocketNotifier`` per message
      (qasync ``_add_writer`` drops and replaces the existing one), and nothing is ever
      written before the next loop iteration.
    * Messages still queued when the bus disconnects keep unresolved futures forever
      (``_finalize``, 403-421, only removes the reader and writer).

What this module changes
    :class:`ChinwagMessageBus` is dbus-next's ``MessageBus`` with its ``_writer`` replaced by
    :class:`_BackpressureWriter` (and small additions: :meth:`ChinwagMessageBus.flush`,
    :attr:`ChinwagMessageBus.outgoing_backlog`, :attr:`ChinwagMessageBus.write_stalls`).
    The writer keeps a FIFO of marshalled messages. It writes as much as the socket takes
    right away (so nothing waits a loop iteration when the socket has room); on a short write
    it keeps the unsent tail of that message at the head of the queue, on EAGAIN it keeps
    everything, and in both cases it registers ``add_writer`` once and resumes exactly
    where it stopped when the socket becomes writable, then ``remove_writer`` when the queue
    is empty. Order is the order of ``send`` calls; file descriptors (``SCM_RIGHTS``) go
    with the first byte of their message. Only real socket errors (EPIPE, ECONNRESET, ...)
    end the connection, and then every queued message's future fails.

    Small additions serve the automation API's server side:
    :data:`current_call` (who is calling, for window-handle holders),
    :attr:`ChinwagMessageBus.on_bad_signature` (a call that names a member with the wrong
    argument types gets the API's InvalidArgument instead of upstream's "UnknownMethod"),
    no ``ObjectManager.InterfacesAdded``/``InterfacesRemoved`` broadcasts on each
    export (upstream sends them, with every property read, for objects no
    ObjectManager announces), and refused calls that are not logged as errors (below).

Refused calls
    ``dbus_next/message_bus.py``, ``BaseMessageBus._send_reply`` (626-661): its
    ``SendReply.__exit__`` calls ``_exit``, which sends the error reply for a ``DBusError``
    (or a ``ServiceError`` carrying the Python traceback for any other exception) and
    returns True to swallow it -- but ``__exit__`` drops that return value, so the
    exception is raised again after the reply went out. ``_on_message`` then logs it with
    ``logging.error`` and a traceback (for a coroutine method, asyncio's "Exception in
    callback" does). Every refused call -- a malformed address, a released handle, a
    read-only property -- became an ERROR with a traceback in the app's log, so any bus
    client could fill the log. :class:`_SendReply` replaces it: a refusal (a
    ``DBusError``, or an error reply sent directly) is one DEBUG line; any other
    exception is a bug, logged once with its traceback and answered with
    :attr:`ChinwagMessageBus.on_internal_error` (upstream's reply would show the script
    our traceback).

    Nothing else of dbus-next is touched: the reader, marshalling, the service and proxy
    layers are upstream's, and callers see a plain ``dbus_next.aio.MessageBus``. Once
    dbus-next handles EAGAIN itself, removing the subclass is a no-op for callers: have
    :func:`connect_session_bus` build ``dbus_next.aio.MessageBus`` and keep
    :func:`close_message_bus` (or drop it too if upstream closes its socket).

Memory
    The outgoing queue is deliberately unbounded: it is bounded by nothing but the peer
    (dbus-daemon) reading. The daemon reads eagerly up to its per-connection incoming limit
    (``max_incoming_bytes``, 1 GB in the stock session.conf), so in
    practice the backlog is short-lived. Producers that could emit without end should
    ``await bus.flush()`` (or the future ``send`` returns) now and then to follow the peer.

Socket leak
    dbus-next 0.2.3 never closes its socket: ``disconnect()`` only shuts it down, and a
    failed ``connect()`` (or constructor) leaves it open, which surfaces at garbage
    collection as ``ResourceWarning: unclosed <socket.socket ...>``. :func:`close_message_bus`
    closes any dbus-next aio bus completely, and :func:`connect_session_bus` closes the
    socket when connecting fails.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import contextvars
import logging
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dbus_next._private.constants import LITTLE_ENDIAN, PROTOCOL_VERSION, HeaderField
from dbus_next._private.marshaller import Marshaller
from dbus_next.aio.message_bus import MessageBus, _MessageWriter
from dbus_next.constants import BusType, MessageFlag, MessageType
from dbus_next.errors import DBusError
from dbus_next.message import Message
from dbus_next.signature import SignatureTree

from chinwag.automation.wire import DICTS, EncodedBody, PlainDict

if TYPE_CHECKING:
    from types import TracebackType

    from dbus_next.auth import Authenticator

__all__ = ["ChinwagMessageBus", "close_message_bus", "connect_session_bus", "current_call"]

log = logging.getLogger(__name__)

#: The method call being handled (set around each exported method, property getter and
#: setter, so a handler can see who calls: ``current_call.get().sender``). Coroutine
#: handlers see it too: their task copies the context when it is created.
current_call: contextvars.ContextVar[Message | None] = contextvars.ContextVar(
    "current_call", default=None
)


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None] | None, error: BaseException) -> None:
    """Fail a send future without asyncio logging "exception was never retrieved".

    Most ``send`` futures are never awaited (dbus-next ignores those of signals and
    replies); the connection loss itself is reported by ``wait_for_disconnect``. A caller
    that does await the future still gets the exception.
    """
    if future is not None and not future.done():
        future.set_exception(error)
        future.exception()  # marks it retrieved


def marshall(msg: Message, *, negotiate_unix_fd: bool = False) -> bytes:
    """The message's bytes: dbus-next's; for a body of one :class:`EncodedBody` (see
    :mod:`chinwag.automation.wire`), its header followed by those bytes; for a body whose
    last argument is a :class:`PlainDict`, the arguments before it as dbus-next writes
    them, then the dictionary written by :data:`DICTS`."""
    body = msg.body
    last = type(body[-1]) if body else None
    if last is PlainDict:
        data = _with_plain_dict(msg)
    elif last is EncodedBody and len(body) == 1:
        encoded: EncodedBody = body[0]
        if encoded.signature != msg.signature:
            raise ValueError(f"a {encoded.signature} body in a {msg.signature} message")
        data = encoded.data
    else:
        marshalled: bytes = msg._marshall(negotiate_unix_fd=negotiate_unix_fd)
        return marshalled
    return _header(msg, len(data)) + data


#: Endianness, type, flags, version, the body's length, serial, the fields' length.
_HEADER_START = struct.Struct("<BBBBIII")
_PADS = [b"\0" * n for n in range(8)]


def _header(msg: Message, body_length: int) -> bytes:
    """The message's header as dbus-next's ``Message._marshall`` writes it (``yyyyuua(yv)``,
    its fields in its order, padded to 8), for a body of ``body_length`` bytes (no fds)."""
    buf = bytearray(
        _HEADER_START.pack(
            LITTLE_ENDIAN,
            msg.message_type.value,
            msg.flags.value,
            PROTOCOL_VERSION,
            body_length,
            msg.serial,
            0,  # the fields' length, written below
        )
    )
    # 16 bytes: the fields (structs, aligned to 8) start here.
    for code, sig, value in (
        (HeaderField.PATH.value, b"o", msg.path),
        (HeaderField.INTERFACE.value, b"s", msg.interface),
        (HeaderField.MEMBER.value, b"s", msg.member),
        (HeaderField.ERROR_NAME.value, b"s", msg.error_name),
        (HeaderField.REPLY_SERIAL.value, b"u", msg.reply_serial),
        (HeaderField.DESTINATION.value, b"s", msg.destination),
        (HeaderField.SIGNATURE.value, b"g", msg.signature),
    ):
        if not value:
            continue
        buf += _PADS[-len(buf) % 8]
        # The code, then the variant's signature: 4 bytes, so the value is aligned.
        buf += bytes((code, 1)) + sig + b"\0"
        if sig == b"u":
            buf += struct.pack("<I", value)
            continue
        data = str(value).encode()
        if sig == b"g":
            buf += bytes((len(data),)) + data + b"\0"
        else:
            buf += struct.pack("<I", len(data)) + data + b"\0"
    struct.pack_into("<I", buf, 12, len(buf) - 16)
    buf += _PADS[-len(buf) % 8]
    return bytes(buf)


def _with_plain_dict(msg: Message) -> bytes:
    """The body of ``msg``, whose last argument is a :class:`PlainDict`."""
    types = SignatureTree._get(msg.signature).types
    if not types or types[-1].signature != "a{sv}":
        raise ValueError(f"a plain dictionary (a{{sv}}) last in a {msg.signature} message")
    before = msg.body[:-1]
    buf = bytearray()
    if before:
        marshaller = Marshaller("".join(t.signature for t in types[:-1]), before)
        buf = marshaller.marshall()
    DICTS.write(buf, msg.body[-1].values)
    return bytes(buf)


class _Outgoing:
    """One queued message: what is still to be written, its fds and its send future."""

    __slots__ = ("data", "future", "unix_fds")

    def __init__(
        self, data: memoryview, unix_fds: list[int], future: asyncio.Future[None] | None
    ) -> None:
        self.data = data
        self.unix_fds = unix_fds
        self.future = future


class _BackpressureWriter(_MessageWriter):
    """Drop-in for dbus-next 0.2.3's ``_MessageWriter`` that survives a full socket.

    Same entry points as upstream (``schedule_write``, ``buffer_message``,
    ``write_callback``), which ``MessageBus.send`` and ``MessageBus.connect`` call.
    """

    def __init__(self, bus: ChinwagMessageBus) -> None:
        super().__init__(bus)
        self.bus: ChinwagMessageBus = bus
        self.sock: socket.socket = bus._sock
        self.fd: int = bus._fd
        self.loop: asyncio.AbstractEventLoop = bus._loop
        self.negotiate_unix_fd: bool = bus._negotiate_unix_fd
        self.queue: deque[_Outgoing] = deque()
        self.waiting = False  # add_writer is registered
        self.stalls = 0  # times the socket was full and we had to wait for it
        self.error: BaseException | None = None  # set once the connection is lost

    def buffer_message(self, msg: Message, future: asyncio.Future[None] | None = None) -> None:
        data = marshall(msg, negotiate_unix_fd=self.negotiate_unix_fd)
        self.queue.append(_Outgoing(memoryview(data), list(msg.unix_fds or ()), future))

    def schedule_write(
        self, msg: Message | None = None, future: asyncio.Future[None] | None = None
    ) -> None:
        if msg is not None:
            if self.error is not None or self.bus._disconnected:
                _fail(future, self.error or ConnectionError("the D-Bus connection is closed"))
                return
            self.buffer_message(msg, future)
        # Write now if we can. Not before the Hello reply (connect() calls us again then),
        # nor while waiting for writability: then write_callback drains the queue, in order.
        if not self.waiting and self.bus.connected:
            self.write_callback()

    def write_callback(self) -> None:
        queue = self.queue
        try:
            while queue:
                head = queue[0]
                if head.unix_fds and self.negotiate_unix_fd:
                    fds = array.array("i", head.unix_fds)
                    ancdata = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)]
                    sent = self.sock.sendmsg([head.data], ancdata)
                    head.unix_fds = []  # the fds went with the first byte
                else:
                    sent = self.sock.send(head.data)
                if sent < len(head.data):  # short write: keep the tail, wait
                    head.data = head.data[sent:]
                    break
                queue.popleft()
                _resolve(head.future)
        except (BlockingIOError, InterruptedError):
            pass  # EAGAIN: the socket is full, nothing was written; wait below
        except Exception as error:  # the connection is really gone (EPIPE, ECONNRESET, ...)
            self.abort(error)
            # Finalize from the loop, not inside send(): BaseMessageBus._call registers its
            # reply handler after send() returns, and _finalize must fail that one too.
            self.loop.call_soon(self.bus._finalize, error)
            return
        if queue:
            if not self.waiting:
                self.stalls += 1
                self.loop.add_writer(self.fd, self.write_callback)
                self.waiting = True
        elif self.waiting:
            self.loop.remove_writer(self.fd)
            self.waiting = False

    def abort(self, error: BaseException) -> None:
        """The connection is gone: fail every queued message and stop watching the fd."""
        if not isinstance(error, OSError):  # e.g. the reader's EOFError after disconnect()
            closed = ConnectionError(f"the D-Bus connection is closed ({error!r})")
            closed.__cause__ = error
            error = closed
        if self.error is None:
            self.error = error
        if self.waiting:
            with contextlib.suppress(Exception):
                self.loop.remove_writer(self.fd)
            self.waiting = False
        while self.queue:
            _fail(self.queue.popleft().future, error)

    def drained(self) -> asyncio.Future[None]:
        """A future done when everything queued so far is written (or failed)."""
        if not self.queue:
            done: asyncio.Future[None] = self.loop.create_future()
            if self.error is None:
                done.set_result(None)
            else:
                _fail(done, self.error)
            return done
        last = self.queue[-1]
        if last.future is None:
            last.future = self.loop.create_future()
        return last.future


def _describe(call: Message) -> str:
    return f"{call.interface}.{call.member}({call.signature}) on {call.path} from {call.sender}"


class _SendReply:
    """What dbus-next hands a method handler as ``send_reply`` (and uses as a context
    manager around it), without re-raising what it answered; see "Refused calls" in the
    module docstring. Same interface as upstream's ``SendReply``: call it with the reply,
    ``with`` it around the handler, ``send_error(exc)``."""

    def __init__(self, bus: ChinwagMessageBus, call: Message) -> None:
        self._bus = bus
        self._call = call

    def __enter__(self) -> _SendReply:
        return self

    def __call__(self, reply: Message) -> None:
        if reply.message_type is MessageType.ERROR:
            text = reply.body[0] if reply.body else ""
            log.debug("refused %s: %s: %s", _describe(self._call), reply.error_name, text)
        self._send(reply)

    def _send(self, reply: Message) -> None:
        if not self._call.flags & MessageFlag.NO_REPLY_EXPECTED:
            self._bus.send(reply)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self._exit(exc_type, exc, tb)

    def send_error(self, exc: BaseException) -> None:
        self._exit(type(exc), exc, exc.__traceback__)

    def _exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None or exc is None:
            return False
        if isinstance(exc, DBusError):  # a refusal: the caller hears why, the log barely
            self(exc._as_message(self._call))
            return True
        if isinstance(exc, Exception):  # a bug: its traceback goes to the log, once
            log.error("%s failed", _describe(self._call), exc_info=(exc_type, exc, tb))
            self._send(self._bus.internal_error_reply(self._call, exc))
            return True
        return False  # KeyboardInterrupt, SystemExit, ...: not ours to answer


_ALWAYS_ANSWERED = (
    "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Peer",
    "org.freedesktop.DBus.Properties",
)


class ChinwagMessageBus(MessageBus):
    """dbus-next's asyncio ``MessageBus`` with :class:`_BackpressureWriter` as its writer.

    Everything else is upstream's; see the module docstring. Prefer
    :func:`connect_session_bus` to constructing it directly.
    """

    _writer: _BackpressureWriter

    #: Called as ``(call, member, expected signature)`` for a method call that names a
    #: member of an exported interface with other argument types than the member's, and
    #: for a ``Properties.Set`` with a value of another type; returns the error reply
    #: (upstream answers ``UnknownMethod``, as if the member did not exist, and
    #: ``InvalidSignature``).
    on_bad_signature: Callable[[Message, str, str], Message] | None = None

    #: Set while the app shuts down: the error reply for any call of an exported method
    #: (introspection and property reads still answer).
    refuse_calls: Callable[[Message], Message] | None = None

    #: Called as ``(call, exception)`` for an exception other than ``DBusError`` out of a
    #: handler (a bug, already logged); returns the error reply. By default
    #: ``org.freedesktop.DBus.Error.Failed`` naming the exception's type (upstream sends a
    #: ``ServiceError`` with the traceback).
    on_internal_error: Callable[[Message, Exception], Message] | None = None

    def __init__(
        self,
        bus_address: str | None = None,
        bus_type: BusType = BusType.SESSION,
        auth: Authenticator | None = None,
        negotiate_unix_fd: bool = False,
    ) -> None:
        # upstream annotates bus_address and auth as "str = None", "Authenticator = None"
        super().__init__(bus_address, bus_type, auth, negotiate_unix_fd)  # type: ignore[arg-type]
        self._writer = _BackpressureWriter(self)

    def _setup_socket(self) -> None:
        # Upstream leaves the socket open when connecting to the address fails.
        try:
            super()._setup_socket()
        except BaseException:
            _close_socket(self)
            raise

    def _send_reply(self, msg: Message) -> _SendReply:
        return _SendReply(self, msg)

    def internal_error_reply(self, call: Message, error: Exception) -> Message:
        """The reply to ``call`` whose handler raised ``error`` (not a ``DBusError``)."""
        if self.on_internal_error is not None:
            return self.on_internal_error(call, error)
        text = f"an internal error occurred ({type(error).__name__})"
        return Message.new_error(call, "org.freedesktop.DBus.Error.Failed", text)

    def _emit_interface_added(self, path: str, interface: Any) -> None:
        # Upstream broadcasts ObjectManager.InterfacesAdded, with every property read
        # through GetAll, for each export, although nothing here is an ObjectManager:
        # a window's History and a contact's presence computed and sent to the whole bus
        # for nobody. Objects are announced by the API's own signals instead.
        return

    def _emit_interface_removed(self, path: str, removed_interfaces: Any) -> None:
        return

    def _find_message_handler(self, msg: Message) -> Callable[[Message, Any], None] | None:
        if self.refuse_calls is not None and msg.interface not in _ALWAYS_ANSWERED:
            refusal = self.refuse_calls(msg)
            return lambda _msg, send_reply: send_reply(refusal)
        wrong = self._wrong_property_type(msg)
        if wrong is not None:
            return wrong
        handler: Callable[[Message, Any], None] | None = super()._find_message_handler(msg)
        if handler is None:
            return self._not_found(msg)
        found = handler

        def in_context(call: Message, send_reply: Any) -> None:
            token = current_call.set(call)
            try:
                found(call, send_reply)
            finally:
                current_call.reset(token)

        return in_context

    def _not_found(self, msg: Message) -> Callable[[Message, Any], None] | None:
        """The reply for a call nothing handles: the wrong argument types for a member
        that exists (:attr:`on_bad_signature`), or ``UnknownObject`` for a path with
        nothing exported (upstream says ``UnknownMethod`` for both)."""
        if msg.path not in self._path_exports:
            text = f"no object at {msg.path}"
            error = Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownObject", text)
            return lambda _msg, send_reply: send_reply(error)
        expected = self._member_signature(msg)
        if expected is None or self.on_bad_signature is None:
            return None
        error = self.on_bad_signature(msg, msg.member or "", expected)
        return lambda _msg, send_reply: send_reply(error)

    def _wrong_property_type(self, msg: Message) -> Callable[[Message, Any], None] | None:
        """``Properties.Set`` with a value of another type than the property's: the
        :attr:`on_bad_signature` reply (upstream: ``InvalidSignature``)."""
        if (
            self.on_bad_signature is None
            or msg.interface != "org.freedesktop.DBus.Properties"
            or msg.member != "Set"
            or msg.signature != "ssv"
        ):
            return None
        from dbus_next.service import ServiceInterface

        interface_name, name, value = msg.body
        for interface in self._path_exports.get(msg.path, []):
            if interface.name != interface_name:
                continue
            for prop in ServiceInterface._get_properties(interface):
                if prop.name == name and prop.signature != value.signature:
                    error = self.on_bad_signature(msg, name, prop.signature)
                    return lambda _msg, send_reply: send_reply(error)
        return None

    def _member_signature(self, msg: Message) -> str | None:
        """The signature of the exported member ``msg`` names, if it names one."""
        from dbus_next.service import ServiceInterface

        for interface in self._path_exports.get(msg.path, []):
            if msg.interface not in (None, interface.name):
                continue
            for method in ServiceInterface._get_methods(interface):
                if method.name == msg.member and not method.disabled:
                    return str(method.in_signature)
        return None

    def _finalize(self, err: Exception | None = None) -> None:
        self._writer.abort(err or ConnectionError("the D-Bus connection is closed"))
        super()._finalize(err)

    async def flush(self) -> None:
        """Wait until every message sent so far is written to the socket.

        Raises the connection error if the connection is lost first.
        """
        await asyncio.shield(self._writer.drained())

    @property
    def outgoing_backlog(self) -> int:
        """Messages queued (wholly or partly unwritten) because the socket was full."""
        return len(self._writer.queue)

    @property
    def write_stalls(self) -> int:
        """How often the socket was full and the writer waited for it (a diagnostic)."""
        return self._writer.stalls


async def connect_session_bus(address: str | None = None) -> ChinwagMessageBus:
    """Connect to the session bus (or ``address``) on the running loop.

    ``address`` defaults to ``DBUS_SESSION_BUS_ADDRESS`` (dbus-next's lookup). Returns a
    connected :class:`ChinwagMessageBus`, an ``dbus_next.aio.MessageBus``; close it with
    :func:`close_message_bus`. If connecting fails, the socket is closed before the error
    propagates.
    """
    bus = ChinwagMessageBus(bus_address=address, bus_type=BusType.SESSION)
    try:
        await bus.connect()
    except BaseException:
        await close_message_bus(bus)
        raise
    return bus


# The timeout bounds each wait separately; a caller's asyncio.timeout() would also cut the
# cleanup after them, which must always run.
async def close_message_bus(bus: MessageBus, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Close a ``dbus_next.aio.MessageBus`` completely, in any state; idempotent.

    A connected :class:`ChinwagMessageBus` first writes what it has queued (up to
    ``timeout``). Then the bus is disconnected and waited for (up to ``timeout``), its
    reader and writer are removed from the loop, pending calls fail, and the socket and its
    file object are closed (dbus-next 0.2.3 leaves them open). Works on a plain dbus-next
    bus too, including one whose connection already dropped.
    """
    if bus.connected:
        if isinstance(bus, ChinwagMessageBus):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.flush(), timeout)
        bus.disconnect()
        # asyncio.wait: neither raises the bus's error nor cancels the future on timeout
        await asyncio.wait([bus._disconnect_future], timeout=timeout)
    if not bus._disconnected:
        # Never connected, failed half-way, or the disconnect did not come in time: stop
        # watching the fd and fail pending calls, as a user disconnect (no error raised
        # from wait_for_disconnect).
        bus._user_disconnect = True
        bus._finalize(ConnectionError("the D-Bus connection was closed"))
    done = bus._disconnect_future
    if done.done() and not done.cancelled():
        done.exception()  # an unexpected drop was already reported; don't log it again
    _close_socket(bus)


def _close_socket(bus: MessageBus) -> None:
    for name in ("_stream", "_sock"):  # the file object holds a reference to the socket
        resource = getattr(bus, name, None)
        if resource is not None:
            with contextlib.suppress(OSError):
                resource.close()
