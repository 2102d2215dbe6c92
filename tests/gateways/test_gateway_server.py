"""The gateways' common HTTP server: loopback only, 1 MiB bodies, the port file."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import logging
import resource
import socket
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from chinwag.gateways.server import (
    MAX_BODY,
    STATE_FILE,
    Gateways,
    HangupWatch,
    is_loopback,
    make_app,
    raise_open_files_limit,
)


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.2", False),
        ("::ffff:10.0.0.2", False),
        ("fe80::1%eth0", False),
        ("", False),
        (None, False),
        ("not an address", False),
    ],
)
def test_loopback_addresses(peer: str | None, loopback: bool) -> None:
    assert is_loopback(peer) is loopback


async def echo_length(request: web.Request) -> web.Response:
    return web.Response(text=str(len(await request.read())))


async def test_a_gateway_listens_on_loopback_and_says_where(tmp_path: Path) -> None:
    gateways = Gateways(tmp_path)
    app = make_app()
    app.router.add_post("/echo", echo_length)
    port = await gateways.start("xmlrpc", app, 0)
    try:
        assert json.loads((tmp_path / STATE_FILE).read_text()) == {
            "xmlrpc": {"host": "127.0.0.1", "port": port}
        }
        async with ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/echo", data=b"x" * 1000) as reply:
                assert reply.status == 200
                assert await reply.text() == "1000"
            async with http.post(
                f"http://127.0.0.1:{port}/echo", data=io.BytesIO(b"x" * (MAX_BODY + 1))
            ) as reply:
                assert reply.status == 413
        # nothing listens on another address of this machine
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(ConnectionRefusedError):
                await asyncio.wait_for(asyncio.open_connection(other, port), 10)
    finally:
        await gateways.close()
    assert not (tmp_path / STATE_FILE).exists()


async def test_one_gateway_stops_and_the_other_goes_on(tmp_path: Path) -> None:
    gateways = Gateways(tmp_path)
    apps = []
    for _ in range(2):
        app = make_app()
        app.router.add_post("/echo", echo_length)
        apps.append(app)
    first = await gateways.start("xmlrpc", apps[0], 0)
    second = await gateways.start("rest", apps[1], 0)
    try:
        assert await gateways.stop("xmlrpc")
        assert not await gateways.stop("xmlrpc")  # (not running: nothing to do)
        assert gateways.ports == {"rest": second}
        assert json.loads((tmp_path / STATE_FILE).read_text()) == {
            "rest": {"host": "127.0.0.1", "port": second}
        }
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", first), 10)
        async with (
            ClientSession() as http,
            http.post(f"http://127.0.0.1:{second}/echo", data=b"xy") as reply,
        ):
            assert await reply.text() == "2"
        assert await gateways.stop("rest")
        assert not (tmp_path / STATE_FILE).exists()
    finally:
        await gateways.close()


async def test_a_port_in_use_is_an_error_not_a_crash(tmp_path: Path) -> None:
    gateways = Gateways(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use") as refused:
            await gateways.start("rest", make_app(), taken.getsockname()[1])
    assert refused.value.errno == errno.EADDRINUSE
    assert gateways.ports == {}


def test_the_open_files_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        now, _ = raise_open_files_limit()
        assert now == (hard if hard != resource.RLIM_INFINITY else max(1024, 65536))
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == now
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if is_loopback(address) or address == "0.0.0.0" else address


async def test_a_handler_crash_is_still_logged_as_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    gateways = Gateways(tmp_path)
    app = make_app()
    app.router.add_get("/crash", crash)
    port = await gateways.start("test", app, 0)
    try:
        async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/crash") as reply:
            assert reply.status == 500
    finally:
        await gateways.close()
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


async def test_the_hangup_watch_closes_only_connections_whose_client_left() -> None:
    """Connections not read while they wait are checked all at once: the one whose
    client closed is closed; the one whose client is still there is left alone and is
    read again once it no longer waits."""
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def keep(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(keep, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    watch = HangupWatch(every=3600)  # swept by hand here
    try:
        _, leaving = await asyncio.open_connection("127.0.0.1", port)
        staying_reader, staying = await asyncio.open_connection("127.0.0.1", port)
        server_sides = [await accepted.get(), await accepted.get()]
        gone_side, kept_side = (w.transport for w in server_sides)
        with watch.paused(gone_side), watch.paused(kept_side):  # type: ignore[arg-type]
            assert len(watch) == 2
            assert not kept_side.is_reading()  # type: ignore[attr-defined]
            leaving.close()
            await leaving.wait_closed()
            assert watch.sweep() == 1  # (on loopback the FIN is there once it is sent)
            assert gone_side.is_closing()
            assert not kept_side.is_closing()
            assert len(watch) == 1
        assert kept_side.is_reading()  # type: ignore[attr-defined]
        assert len(watch) == 0
        staying.close()
        await staying.wait_closed()
        del staying_reader
        for writer in server_sides:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    finally:
        await watch.close()
        server.close()
        await server.wait_closed()
