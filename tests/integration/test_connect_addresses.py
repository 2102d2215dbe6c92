"""Every address of every target is tried (issue 9, the windows, item 6): the first-run
dialog with ``alice@localhost`` failed with "Connect call failed ('::1', 5222)" where
127.0.0.1 answered. RFC 8305 (happy eyeballs) order and staggering, with real sockets,
and one clear sentence when nothing answers."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from chinwag.core.errors import ServerUnreachable
from chinwag.core.models import ConnectionState
from chinwag.xmpp import resolve
from chinwag.xmpp.connection import classify
from chinwag.xmpp.resolve import Address, Target
from conftest import CoreMaker
from rig.prosody import ProsodyServer

V4, V6 = socket.AF_INET, socket.AF_INET6


def v4(ip: str, port: int = 5222) -> Address:
    return Address(V4, (ip, port))


def v6(ip: str, port: int = 5222) -> Address:
    return Address(V6, (ip, port, 0, 0))


# -- order and wording ----------------------------------------------------------------------


def test_families_take_turns_starting_with_the_first_answer() -> None:
    answers = [v6("2001:db8::1"), v6("2001:db8::2"), v4("192.0.2.1"), v4("192.0.2.2")]
    assert resolve.interleave(answers) == [answers[0], answers[2], answers[1], answers[3]]
    first_v4 = [v4("192.0.2.1"), v6("2001:db8::1"), v6("2001:db8::2"), v4("192.0.2.1")]
    assert resolve.interleave(first_v4) == [first_v4[0], first_v4[1], first_v4[2]]
    assert resolve.interleave([]) == []


def test_one_sentence_when_nothing_answers() -> None:
    error = resolve.Unreachable([(Target("localhost", 5222), [v6("::1"), v4("127.0.0.1")])])
    assert (
        classify(error, "alice@localhost").message
        == "cannot reach the server of alice@localhost: nothing answers at localhost "
        "port 5222 (tried ::1 and 127.0.0.1)"
    )
    several = resolve.Unreachable(
        [
            (Target("a.example.org", 5222), [v4(f"192.0.2.{n}") for n in range(1, 7)]),
            (Target("192.0.2.9", 5223), [v4("192.0.2.9", 5223)]),
        ],
        [Target("b.example.org", 5222)],
    )
    assert str(several) == (
        "nothing answers at a.example.org port 5222 (tried 192.0.2.1, 192.0.2.2, 192.0.2.3, "
        "192.0.2.4 and 2 more) or at 192.0.2.9 port 5223, and no address found for b.example.org"
    )
    assert str(resolve.Unreachable([], [Target("nowhere.invalid", 5222)])) == (
        "no address found for nowhere.invalid"
    )


# -- real sockets ---------------------------------------------------------------------------


@pytest.fixture
def open_v4_closed_v6() -> Iterator[int]:
    """A port that 127.0.0.1 answers and ::1 refuses (bound there, not listening)."""
    with contextlib.ExitStack() as stack:
        for _ in range(20):
            listener = stack.enter_context(socket.socket(V4, socket.SOCK_STREAM))
            listener.bind(("127.0.0.1", 0))
            port = int(listener.getsockname()[1])
            closed = stack.enter_context(socket.socket(V6, socket.SOCK_STREAM))
            try:
                closed.bind(("::1", port))
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    pytest.skip("no IPv6 loopback here")
                continue  # ::1 has that port in use: pick another
            listener.listen()
            yield port
            return
        raise AssertionError("no port free on both loopbacks")


async def test_the_address_that_refuses_is_passed_over(open_v4_closed_v6: int) -> None:
    port = open_v4_closed_v6
    won = await resolve.race([v6("::1", port), v4("127.0.0.1", port)])
    assert won is not None
    sock, address = won
    with sock:
        assert address == v4("127.0.0.1", port)
        assert sock.getpeername() == ("127.0.0.1", port)


async def test_nothing_answers_on_either_family(open_v4_closed_v6: int) -> None:
    with socket.socket(V4, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: refuses
        port = int(closed.getsockname()[1])
        assert await resolve.race([v6("::1", port), v4("127.0.0.1", port)]) is None


async def test_a_silent_address_does_not_hold_up_the_next(open_v4_closed_v6: int) -> None:
    """An address that neither answers nor refuses (dropped packets): the next attempt
    starts after the connection attempt delay, and the first to connect wins."""
    port = open_v4_closed_v6
    silent = v6("2001:db8::1", port)  # documentation prefix: never answers
    started: list[Address] = []
    never = asyncio.get_running_loop().create_future()

    async def opener(address: Address) -> socket.socket:
        started.append(address)
        if address == silent:
            await never  # as long as the kernel would try
        return await resolve._open(address)

    won = await resolve.race([silent, v4("127.0.0.1", port)], delay=0.01, opener=opener)
    assert won is not None
    won[0].close()
    assert won[1] == v4("127.0.0.1", port)
    assert started == [silent, v4("127.0.0.1", port)]
    assert never.cancelled()  # the silent attempt was given up once the other won


# -- signing in -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def forwarder(port: int, to: tuple[str, int]) -> AsyncIterator[asyncio.Server]:
    """127.0.0.1:``port`` passed through to ``to`` (TLS runs end to end through it)."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*to)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        yield server


async def test_sign_in_by_domain_on_the_default_port(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    """The first-run dialog's case: no host set, so SRV, then the domain ``localhost``
    on port 5222, which slixmpp's resolver answers with ::1 first. Prosody listens on
    127.0.0.1 only (here through a pass-through on 127.0.0.1:5222)."""
    try:
        async with forwarder(5222, (prosody.host, prosody.port)):
            jid, password = prosody.make_user("alice")
            alice = await cores(prosody, jid, password, sign_in=False, host="", port=0)
            await alice.core.sign_in(jid, keep_trying=False)
            assert alice.core.state(jid) is ConnectionState.ONLINE
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        pytest.skip("port 5222 of 127.0.0.1 is taken on this machine")


async def test_sign_in_failure_names_the_addresses(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    with socket.socket(V4, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = int(closed.getsockname()[1])
        jid, password = prosody.make_user("alice")
        alice = await cores(prosody, jid, password, sign_in=False, host="127.0.0.1", port=port)
        with pytest.raises(ServerUnreachable) as caught:
            await alice.core.sign_in(jid, keep_trying=False)
    assert caught.value.message == (
        f"cannot reach the server of {jid}: nothing answers at 127.0.0.1 port {port}"
    )
