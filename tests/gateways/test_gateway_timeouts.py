"""Slow and half-open connections are cut off by the gateways' common server
(gateways/server.py), with raw sockets as the clients: one that sends nothing, one that
sends its request head a byte at a time, one that sends a head with a Content-Length and
then no body (or half of it). The bounds are shortened to half a second; each test waits
for the server's end of the connection, with a guard far beyond the bound so that a
server that never cuts fails the test rather than hangs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from chinwag.gateways.server import Gateways, make_app, raise_open_files_limit

BOUND = 0.5
#: How long a test waits for the server to close before it fails: far beyond BOUND.
GUARD = 15.0
#: A slow client's pace (one byte per tick): its head alone takes longer than GUARD.
TICK = 0.05


async def echo(request: web.Request) -> web.Response:
    return web.Response(text=f"got {len(await request.read())}")


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def serve(tmp_path: Path, bound: float) -> tuple[Gateways, int]:
    gateways = Gateways(tmp_path, head_seconds=bound, body_seconds=bound)
    app = make_app()
    app.router.add_post("/echo", echo)
    app.router.add_get("/hello", hello)
    return gateways, await gateways.start("test", app, 0)


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[int]:
    gateways, port = await serve(tmp_path, BOUND)
    try:
        yield port
    finally:
        await gateways.close()


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    """All the server sends until it closes (a reset counts as closing)."""
    async with asyncio.timeout(GUARD):
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""


async def works(port: int) -> None:
    async with ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/hello") as reply:
            assert reply.status == 200
            assert await reply.text() == "hello"
        async with http.post(f"http://127.0.0.1:{port}/echo", data=b"x" * 5000) as reply:
            assert reply.status == 200
            assert await reply.text() == "got 5000"


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await read_to_end(reader) == b""
    finally:
        writer.close()
    await works(port)


async def test_a_head_sent_a_byte_at_a_time_is_cut_off(port: int) -> None:
    head = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 400 + b"\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    try:
        closed = False
        while not closed and sent < len(head):
            try:
                writer.write(head[sent : sent + 1])
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            # the client's pace: a byte a tick, or the server's end, whichever is first
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK):
                    closed = await read_to_end(reader) == b""
        assert sent < len(head), "the whole head went through: nothing cut it off"
    finally:
        writer.close()
    await works(port)


@pytest.mark.parametrize("body_sent", [b"", b"x" * 50], ids=["no body", "half the body"])
async def test_a_body_that_never_comes_is_cut_off(
    port: int, body_sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + body_sent
        )
        await writer.drain()
        assert await read_to_end(reader) == b""  # no answer: the connection is closed
    finally:
        writer.close()
    await works(port)
    assert "was not in within" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_whole_request_on_a_raw_socket_is_answered(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc")
        await writer.drain()
        status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 200")
        # kept alive afterwards, then closed when idle for the bound
        assert (await read_to_end(reader)).endswith(b"got 3")
    finally:
        writer.close()


async def test_many_half_open_connections_do_not_stop_a_normal_request(
    tmp_path: Path,
) -> None:
    raise_open_files_limit()
    gateways, port = await serve(tmp_path, 600.0)  # they stay open for the whole test
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for n in range(500):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            held.append((reader, writer))
            if n % 3 == 1:  # half a head
                writer.write(b"GET /hello HTTP/1.1\r\nHost: 127.0.")
            elif n % 3 == 2:  # a head and no body
                writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            await writer.drain()
        await works(port)
        assert not any(reader.at_eof() for reader, _ in held)
    finally:
        for _, writer in held:
            writer.close()
        await gateways.close()
