"""The gateways' HTTP servers (aiohttp, on the one asyncio loop that is the Qt loop).

Each gateway listens on the loopback addresses only (127.0.0.1, and ::1 on the same port
where the machine has IPv6), and a request whose peer is anything else is refused (403)
whatever the socket: defence in depth. Bodies over 1 MiB are refused before they are
parsed (413). The ports chosen (0 picks a free one) are written to the log and to
``gateways.json`` in the state folder, where scripts find them.

:class:`Gateways` runs what the settings and the command line ask for; each gateway is an
``aiohttp.web.Application`` made by its module from the API layer."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import resource
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)

#: Largest request body read at all (gateways.md: refused before parsing).
MAX_BODY = 1024 * 1024
STATE_FILE = "gateways.json"
#: How long a connection may stay open between requests.
KEEPALIVE_SECONDS = 75.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    """The running gateways: name -> port."""

    state_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    _runners: list[web.AppRunner] = field(default_factory=list)

    async def start(self, name: str, app: web.Application, port: int) -> int:
        """Serve ``app`` as gateway ``name`` on ``port`` (0: a free one); returns the port.
        Raises OSError when the port cannot be had (in use, not allowed)."""
        app.middlewares.insert(0, loopback_only)
        sockets = _bind(port)
        runner = web.AppRunner(
            app, access_log=None, keepalive_timeout=KEEPALIVE_SECONDS, handle_signals=False
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

    async def close(self) -> None:
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
        if self.ports:
            self.ports.clear()
            with contextlib.suppress(OSError):
                (self.state_dir / STATE_FILE).unlink()


def _state(ports: Mapping[str, int]) -> dict[str, object]:
    return {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()}


def make_app() -> web.Application:
    """An application with the gateways' common limits."""
    return web.Application(client_max_size=MAX_BODY)
