"""The upload's HTTP request as the upload server sees it: the slot's headers, the
length, the body whole, and ``Expect: 100-continue`` (the server answers the headers
before the body comes, as curl asks it to: Prosody streams such a body to its file)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from chinwag.core.attachments import UploadSlot
from chinwag.xmpp.http_upload import XmppFileTransport


async def test_the_put_asks_to_continue_and_carries_the_file_whole(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    async def put(request: web.Request) -> web.Response:
        seen["expect"] = request.headers.get("Expect")
        seen["length"] = request.headers.get("Content-Length")
        seen["token"] = request.headers.get("Authorization")
        seen["body"] = await request.read()
        return web.Response(status=201)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_put("/slot/file.bin", put)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    data = bytes(range(256)) * 8192  # 2 MiB (over the size that asks first), every byte
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    url = f"http://127.0.0.1:{port}/slot/file.bin"
    slot = UploadSlot(url, url, (("Authorization", "Bearer slot-token"),))
    transport = XmppFileTransport(lambda _account: None)
    progress: list[int] = []
    try:
        await transport.upload(
            "me@localhost", slot, path, len(data), "application/octet-stream", progress.append
        )
    finally:
        await transport.close()
        await runner.cleanup()
    assert seen["expect"] == "100-continue"
    assert seen["length"] == str(len(data))
    assert seen["token"] == "Bearer slot-token"
    assert seen["body"] == data
    assert progress[-1] == len(data)


async def test_without_an_answer_to_the_ask_the_body_goes_after_a_while(tmp_path: Path) -> None:
    """A server that never answers ``100 Continue`` (Prosody, for bodies under its buffer
    size) still gets the body: after a second, as curl does; never a wait until the read
    timeout. A body of 1 MiB or less does not ask at all."""
    import asyncio

    from chinwag.xmpp import http_upload

    seen: list[tuple[str | None, bytes]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        fields = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )
        fields = {k.lower(): v for k, v in fields.items()}
        body = await reader.readexactly(int(fields["content-length"]))
        seen.append((fields.get("expect"), body))
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = XmppFileTransport(lambda _account: None)
    try:
        for size in (http_upload.EXPECT_CONTINUE_FROM + 1, 1000):
            path = tmp_path / f"{size}.bin"
            path.write_bytes(b"x" * size)
            url = f"http://127.0.0.1:{port}/{size}.bin"
            async with asyncio.timeout(30):  # (a hang guard: the read timeout is 60 s)
                await transport.upload(
                    "me@localhost", UploadSlot(url, url), path, size, "", lambda _sent: None
                )
    finally:
        await transport.close()
        server.close()
        await server.wait_closed()
    assert [(expect, len(body)) for expect, body in seen] == [
        ("100-continue", http_upload.EXPECT_CONTINUE_FROM + 1),
        (None, 1000),
    ]
