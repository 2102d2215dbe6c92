"""The gateways' HTTP servers (aiohttp, on the one asyncio loop that is the Qt loop).

Each gateway listens on the loopback addresses only (127.0.0.1, and ::1 on the same port
where the machine has IPv6), and a request whose peer is anything else is refused (403)
whatever the socket: defence in depth. Bodies over 1 MiB are refused before they are
parsed (413). The ports chosen (0 picks a free one) are written to the log and to
``gateways.json`` in the state folder, where scripts find them.

Slow and half-open connections are cut off, with no task of ours per connection (a timer
each, beside aiohttp's own task):

- a connection must deliver a whole request head (request line and headers) within
  :data:`HEAD_SECONDS` of being opened or of its last answer, else it is closed. This is
  aiohttp's keep-alive timer, given that bound: aiohttp 3.14 arms it when the connection
  is made and again after each answer, and bytes arriving do not put it off, so it closes
  a connection that sends nothing and one that sends its head a byte at a time alike
  (tests/gateways/test_gateway_timeouts.py holds it to that). An idle keep-alive
  connection is closed after the same time (a new one costs nothing on loopback).
- a request's body must have arrived whole within :data:`BODY_SECONDS` of its head
  (:func:`body_deadline`); one that has not (a Content-Length and no body, or a body
  trickling in) has its connection closed. Nothing else is timed: a handler may take
  as long as it needs once the request is in (a long poll holds for up to 180 s).

A client that goes away while its request is handled has that handler cancelled
(aiohttp's ``handler_cancellation``): a long poll whose client closed its connection
stops waiting instead of holding its place until its timeout. A long poll's connection
is not read while it waits (on the Qt loop every socket being read costs each turn of
the loop); :class:`HangupWatch` looks at all of them together every
:data:`HANGUP_SECONDS` for a client that hung up, and closes those connections. What a request
changes (a message sent, an operation id used) runs under :func:`finish_anyway`, so it is
done whole or not at all, never cut off halfway by the client leaving.

:class:`Gateways` runs what the settings and the command line ask for; each gateway is an
``aiohttp.web.Application`` made by its module from the API layer."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import resource
import select
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from chinwag.gateways.settings import STATE_FILE

log = logging.getLogger(__name__)

#: How often the connections of waiting long polls are checked for a client gone.
HANGUP_SECONDS = 2.0

#: Largest request body read at all (gateways.md: refused before parsing).
MAX_BODY = 1024 * 1024
#: A connection must deliver a whole request head within this many seconds of being
#: opened or of its last answer (it is also how long an idle connection is kept).
HEAD_SECONDS = 20.0
#: A request's body must be in whole within this many seconds of its head (1 MiB at
#: most: even at 100 kB/s that is ten seconds).
BODY_SECONDS = 30.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


class _MalformedIsNoCrash(logging.Filter):
    """aiohttp logs a request that is not well-formed HTTP (answered 400 and closed) as an
    error with its traceback; it is the client's fault, not a crash: a warning in one
    line. Every other error stays as aiohttp logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and record.levelno >= logging.ERROR:
            reason = str(exc.message).splitlines()[0] if exc.message else type(exc).__name__
            record.msg = f"{record.getMessage()}: not well-formed HTTP ({reason[:200]})"
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


#: The log aiohttp's server writes to for the gateways.
http_log = logging.getLogger("chinwag.gateways.http")
http_log.addFilter(_MalformedIsNoCrash())


def is_loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_loopback(request.remote):
        log.warning("gateway: refused a request from %s (loopback only)", request.remote)
        raise web.HTTPForbidden(text="Chinwag's gateways answer this machine only\n")
    return await handler(request)


def body_deadline(seconds: float) -> Middleware:
    """A middleware closing the connection of a request whose body is not in whole
    ``seconds`` after its head. It only sets a timer (no task, nothing read ahead): a
    handler waiting on the body then gets the lost connection, answered as 408 on a
    connection that is gone, so nothing is logged as an error."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content.is_eof():  # no body, or all of it here already
            return await handler(request)
        cut_off = False

        def cut() -> None:
            nonlocal cut_off
            transport = request.transport
            if request.content.is_eof() or transport is None:
                return
            cut_off = True
            log.warning(
                "gateway: closed a connection from %s whose request body was not in within %g s",
                request.remote,
                seconds,
            )
            transport.close()

        timer = asyncio.get_running_loop().call_later(seconds, cut)
        try:
            return await handler(request)
        except ConnectionError:
            if cut_off:
                raise web.HTTPRequestTimeout() from None
            raise
        finally:
            timer.cancel()

    return deadline


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit of open files to the hard one (a desktop's default of 1,024
    would not hold a thousand long polls); returns the limits now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d: %s", soft, exc)
    return soft, hard


def _bind(port: int) -> list[socket.socket]:
    """Listening sockets on 127.0.0.1 (``port``; 0: a free one) and on ::1 with the same
    port when IPv6 is there."""
    v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        v4.bind(("127.0.0.1", port))
    except OSError:
        v4.close()
        raise
    chosen = v4.getsockname()[1]
    sockets = [v4]
    with contextlib.suppress(OSError):
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            v6.bind(("::1", chosen))
            sockets.append(v6)
        except OSError:
            v6.close()
    for sock in sockets:
        sock.listen(1024)
        sock.setblocking(False)
    return sockets


@dataclass
class Gateways:
    """The running gateways: name -> port. ``head_seconds`` and ``body_seconds`` bound
    how long a request's head and body may take to come in (tests shorten them)."""

    state_dir: Path
    head_seconds: float = HEAD_SECONDS
    body_seconds: float = BODY_SECONDS
    ports: dict[str, int] = field(default_factory=dict)
    _runners: list[web.AppRunner] = field(default_factory=list)
    _named: dict[str, web.AppRunner] = field(default_factory=dict)

    async def start(self, name: str, app: web.Application, port: int) -> int:
        """Serve ``app`` as gateway ``name`` on ``port`` (0: a free one); returns the port.
        Raises OSError when the port cannot be had (in use, not allowed)."""
        app.middlewares.insert(0, body_deadline(self.body_seconds))
        app.middlewares.insert(0, loopback_only)
        sockets = _bind(port)
        # aiohttp's keep-alive timer is the request head's deadline (see the module's
        # docstring).
        runner = web.AppRunner(
            app,
            access_log=None,
            logger=http_log,
            keepalive_timeout=self.head_seconds,
            handle_signals=False,
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            for sock in sockets:
                site = web.SockSite(runner, sock)
                await site.start()
        except BaseException:
            await runner.cleanup()
            for sock in sockets:
                sock.close()
            raise
        self._runners.append(runner)
        self._named[name] = runner
        chosen = int(sockets[0].getsockname()[1])
        self.ports[name] = chosen
        log.info("gateway %s listening on 127.0.0.1:%d (loopback only)", name, chosen)
        self._write_state()
        return chosen

    def _write_state(self) -> None:
        from chinwag.system.config import write_atomic

        try:
            write_atomic(self.state_dir / STATE_FILE, json.dumps(_state(self.ports)) + "\n")
        except OSError as exc:
            log.warning("could not write %s: %s", self.state_dir / STATE_FILE, exc)

    async def stop(self, name: str) -> bool:
        """Stop gateway ``name`` (its connections are closed; the others go on); False
        when it was not running."""
        runner = self._named.pop(name, None)
        if runner is None:
            return False
        self._runners.remove(runner)
        self.ports.pop(name, None)
        await runner.cleanup()
        log.info("gateway %s stopped", name)
        if self.ports:
            self._write_state()
        else:
            with contextlib.suppress(OSError):
                (self.state_dir / STATE_FILE).unlink()
        return True

    async def close(self) -> None:
        self._named.clear()
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
        if self.ports:
            self.ports.clear()
            with contextlib.suppress(OSError):
                (self.state_dir / STATE_FILE).unlink()


def _state(ports: Mapping[str, int]) -> dict[str, object]:
    return {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()}


async def finish_anyway(work: Awaitable[T]) -> T:
    """``work``'s result; should the client go meanwhile (the handler is cancelled),
    ``work`` still runs to its end (its outcome is then logged, as nobody is left to
    tell)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_orphan_outcome)
        raise


def _orphan_outcome(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()  # (retrieved: no "never retrieved" error from asyncio)
    if exc is not None:
        log.info("gateway: a request whose client went away ended with %r", exc, exc_info=exc)


def make_app() -> web.Application:
    """An application with the gateways' common limits."""
    return web.Application(client_max_size=MAX_BODY)


class HangupWatch:
    """Connections that are not read while their request waits (a long poll), checked
    together for a client that hung up: one ``poll(2)`` over all of them every
    ``every`` seconds, one timer while any waits, nothing per connection. A connection
    whose client closed it (or that failed) is closed here, which ends its request
    (aiohttp cancels the handler)."""

    def __init__(self, every: float = HANGUP_SECONDS) -> None:
        self.every = every
        self._waiting: dict[int, asyncio.BaseTransport] = {}
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    @contextlib.contextmanager
    def paused(self, transport: asyncio.Transport | None) -> Any:
        """While the block runs, ``transport`` is not read and is watched instead."""
        sock = transport.get_extra_info("socket") if transport is not None else None
        if transport is None or sock is None or transport.is_closing():
            yield
            return
        fd = sock.fileno()
        transport.pause_reading()
        self._waiting[fd] = transport
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hangups")
        try:
            yield
        finally:
            if self._waiting.get(fd) is transport:
                del self._waiting[fd]
            if not transport.is_closing():
                transport.resume_reading()

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.every)
            self.sweep()

    def sweep(self) -> int:
        """Close the watched connections whose client is gone; returns how many."""
        if not self._waiting:
            return 0
        poller = select.poll()
        gone_mask = select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL
        for fd in self._waiting:
            poller.register(fd, select.POLLRDHUP)
        closed = 0
        for fd, events in poller.poll(0):
            transport = self._waiting.get(fd)
            if events & gone_mask and transport is not None:
                del self._waiting[fd]
                transport.close()
                closed += 1
        return closed

    async def close(self) -> None:
        self._waiting.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
