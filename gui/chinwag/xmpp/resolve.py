"""Where the server of an account is, and the first of its addresses that answers.

RFC 6120 section 3.2 (SRV records ``_xmpp-client._tcp``, or ``_xmpps-client._tcp`` for
XEP-0368 direct TLS, in priority and weight order; the domain itself on the default port
when there are none) and RFC 8305 ("Happy Eyeballs" version 2): every address of every
target is tried, IPv6 and IPv4 interleaved, a new attempt started every
:data:`ATTEMPT_DELAY` seconds while the earlier ones are still under way, the first to
connect wins. slixmpp tries one address after another and reports each failure as
``connection_failed``; a server on 127.0.0.1 whose name also resolves to ``::1`` then
looked unreachable. When nothing answers, :class:`Unreachable` says in one sentence
where was tried.

Host names are resolved by the system (``getaddrinfo``: ``/etc/hosts``, mDNS and the
rest of the system's configuration apply); SRV records by slixmpp's DNS helper (aiodns)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: RFC 8305 section 5: the recommended "Connection Attempt Delay".
ATTEMPT_DELAY = 0.25
#: One address that neither answers nor refuses (dropped packets) is given up after this.
ATTEMPT_TIMEOUT = 10.0
#: Addresses named in an error, per target, before "and N more".
NAMED_ADDRESSES = 4

SockAddr = tuple[str, int] | tuple[str, int, int, int]


@dataclass(frozen=True, slots=True)
class Target:
    """A host and port to connect to (an SRV target, or the configured host)."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Address:
    """One resolved address of a target."""

    family: socket.AddressFamily
    sockaddr: SockAddr

    @property
    def ip(self) -> str:
        return self.sockaddr[0]


class Unreachable(Exception):
    """Nothing answered at any address of any target. ``str()`` is the reason, one
    sentence without socket detail: "nothing answers at localhost port 5222 (tried ::1
    and 127.0.0.1)"."""

    def __init__(
        self,
        tried: Sequence[tuple[Target, Sequence[Address]]],
        unresolved: Sequence[Target] = (),
    ) -> None:
        self.tried = list(tried)
        self.unresolved = list(unresolved)
        super().__init__(describe(self.tried, self.unresolved))


def describe(
    tried: Sequence[tuple[Target, Sequence[Address]]], unresolved: Sequence[Target] = ()
) -> str:
    """The reason :class:`Unreachable` gives."""
    parts = []
    for target, addresses in tried:
        ips = [a.ip for a in addresses]
        if len(ips) > NAMED_ADDRESSES:
            ips = [*ips[:NAMED_ADDRESSES], f"{len(ips) - NAMED_ADDRESSES} more"]
        if not ips or ips == [target.host]:
            parts.append(f"{target.host} port {target.port}")
        else:
            listed = ips[0] if len(ips) == 1 else f"{', '.join(ips[:-1])} and {ips[-1]}"
            parts.append(f"{target.host} port {target.port} (tried {listed})")
    reason = f"nothing answers at {' or at '.join(parts)}" if parts else ""
    if unresolved:
        names = " or ".join(sorted({t.host for t in unresolved}))
        found = f"no address found for {names}"
        reason = f"{reason}, and {found}" if reason else found
    return reason or "there is no address to connect to"


def interleave(addresses: Sequence[Address]) -> list[Address]:
    """RFC 8305 section 4: the resolver's order within each family, the families taking
    turns, starting with the family of the resolver's first answer; duplicates once."""
    families: dict[socket.AddressFamily, list[Address]] = {}
    seen: set[tuple[socket.AddressFamily, SockAddr]] = set()
    for address in addresses:
        key = (address.family, address.sockaddr)
        if key not in seen:
            seen.add(key)
            families.setdefault(address.family, []).append(address)
    ordered: list[Address] = []
    queues = list(families.values())
    while queues:
        for queue in queues:
            ordered.append(queue.pop(0))
        queues = [q for q in queues if q]
    return ordered


async def addresses_of(target: Target) -> list[Address]:
    """The target's addresses as the system resolves them, interleaved; [] when the
    name does not resolve."""
    loop = asyncio.get_running_loop()
    host = target.host[1:-1] if target.host.startswith("[") else target.host  # [::1]
    try:
        infos = await loop.getaddrinfo(
            host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as exc:
        log.info("cannot resolve %s: %s", target.host, exc)
        return []
    found = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family is socket.AF_INET6 and len(sockaddr) == 4:
            found.append(Address(family, (str(sockaddr[0]), int(sockaddr[1]), *sockaddr[2:])))
        elif family is socket.AF_INET and len(sockaddr) == 2:
            found.append(Address(family, (str(sockaddr[0]), int(sockaddr[1]))))
    return interleave(found)


async def srv_targets(domain: str, service: str) -> list[Target]:
    """The SRV targets of ``_<service>._tcp.<domain>`` in the order to try them;
    [] when there are none (or no DNS library to ask)."""
    from slixmpp.xmlstream.resolver import default_resolver, get_SRV

    resolver = default_resolver(loop=asyncio.get_running_loop())
    if resolver is None:
        return []
    try:
        records = await get_SRV(domain, 0, [service], resolver=resolver)
    except Exception as exc:  # a DNS library's error: as if there were no record
        log.info("no SRV records for %s: %s", domain, exc)
        return []
    # A target "." (RFC 2782) says the service is not offered there: skip it.
    return [Target(host, port) for _service, host, port in records if host and host != "."]


async def targets_for(
    domain: str, host: str | None, port: int | None, *, direct_tls: bool
) -> list[Target]:
    """Where to connect: the configured host and port, or the domain's SRV targets
    (``xmpps-client`` for direct TLS, ``xmpp-client`` for STARTTLS), or the domain on
    the default port."""
    default = 5223 if direct_tls else 5222
    if host:
        return [Target(host, port or default)]
    found = await srv_targets(domain, "xmpps-client" if direct_tls else "xmpp-client")
    return found or [Target(domain, default)]


async def _open(address: Address) -> socket.socket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(address.family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setblocking(False)
        async with asyncio.timeout(ATTEMPT_TIMEOUT):
            await loop.sock_connect(sock, address.sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


async def race(
    addresses: Sequence[Address],
    *,
    delay: float = ATTEMPT_DELAY,
    opener: Callable[[Address], Awaitable[socket.socket]] = _open,
) -> tuple[socket.socket, Address] | None:
    """RFC 8305 section 5: start a connection to each address in turn, the next when the
    last one failed or after ``delay``, keep the first that connects and close the rest.
    None when none did."""
    attempts: dict[asyncio.Task[socket.socket], Address] = {}
    waiting = list(addresses)
    try:
        while waiting or attempts:
            if waiting:
                address = waiting.pop(0)
                task = asyncio.ensure_future(opener(address))
                attempts[task] = address
            done, _ = await asyncio.wait(
                attempts, timeout=delay if waiting else None, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                address = attempts.pop(task)
                error = task.exception()
                if error is None:
                    return task.result(), address
                log.debug("no connection to %s: %s", address.sockaddr, error)
        return None
    finally:
        for task in attempts:
            task.cancel()
        for task in attempts:
            if task.done() and not task.cancelled() and task.exception() is None:
                task.result().close()  # connected as well, but later: not needed


async def connect(targets: Sequence[Target]) -> tuple[socket.socket, Target]:
    """A connected socket to the first target (in order) that has an address that
    answers; raises :class:`Unreachable` when none does."""
    tried: list[tuple[Target, list[Address]]] = []
    unresolved: list[Target] = []
    for target in targets:
        addresses = await addresses_of(target)
        if not addresses:
            unresolved.append(target)
            continue
        won = await race(addresses)
        if won is not None:
            sock, address = won
            log.debug("connected to %s port %s at %s", target.host, target.port, address.ip)
            return sock, target
        tried.append((target, addresses))
    raise Unreachable(tried, unresolved)
