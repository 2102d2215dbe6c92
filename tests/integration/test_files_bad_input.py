"""Files from the network are untrusted: a 200 MB offer, a server that lies about the
size, a link that is no http(s), a name that tries to climb out of the downloads
folder. Each is refused with a clear error, nothing is written outside the folder, and
nothing beyond the cap is fetched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from chinwag.core.attachments import TransferError, TransferFailure
from chinwag.core.files import name_from_url, safe_name, unique_path
from chinwag.xmpp.http_upload import XmppFileTransport

MB = 1024 * 1024


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    sent: dict[str, int] = {"big": 0, "liar": 0}

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = 200 * MB
        await response.prepare(request)
        if request.method == "GET":
            chunk = b"\0" * MB
            for _ in range(200):
                await response.write(chunk)
                sent["big"] += len(chunk)
        return response

    async def liar(request: web.Request) -> web.StreamResponse:
        # no length given; then more bytes than any cap
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"\0" * MB
        try:
            for _ in range(200):
                await response.write(chunk)
                sent["liar"] += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    app = web.Application()
    app.router.add_route("*", "/big.png", big)
    app.router.add_get("/liar.png", liar)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", sent
    finally:
        await runner.cleanup()


async def test_a_200_mb_offer_is_refused_from_its_length(server, tmp_path: Path) -> None:
    base, _sent = server
    transport = XmppFileTransport(lambda _account: None)
    try:
        remote = await transport.probe("me@localhost", f"{base}/big.png")
        assert remote.size == 200 * MB  # (what the auto-download policy reads: too big)
        with pytest.raises(TransferError) as caught:
            await transport.download(
                "me@localhost", f"{base}/big.png", tmp_path / "big.part", 100 * MB, lambda _: None
            )
    finally:
        await transport.close()
    assert caught.value.reason is TransferFailure.TOO_BIG
    assert "more than the" in str(caught.value)
    assert not (tmp_path / "big.part").exists()


async def test_a_server_lying_about_the_size_is_cut_at_the_cap(server, tmp_path: Path) -> None:
    base, _sent = server
    transport = XmppFileTransport(lambda _account: None)
    part = tmp_path / "liar.part"
    try:
        with pytest.raises(TransferError) as caught:
            await transport.download(
                "me@localhost", f"{base}/liar.png", part, 3 * MB, lambda _: None
            )
    finally:
        await transport.close()
    assert caught.value.reason is TransferFailure.TOO_BIG
    assert part.stat().st_size <= 3 * MB  # (the service deletes the .part file)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:x"])
async def test_only_http_links_are_fetched(url: str, tmp_path: Path) -> None:
    transport = XmppFileTransport(lambda _account: None)
    try:
        with pytest.raises(TransferError) as caught:
            await transport.download("me@localhost", url, tmp_path / "x", MB, lambda _: None)
    finally:
        await transport.close()
    assert caught.value.reason is TransferFailure.NOT_ALLOWED


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://h/f/..%2F..%2F.bashrc", "bashrc"),
        ("https://h/f/%2E%2E", "file"),
        ("https://h/f/a%5C..%5Cb.txt", "b.txt"),
        ("https://h/f/con%0Atrol%00.png", "con_trol_.png"),
        ("https://h/", "file"),
        ("https://h/f/" + "x" * 500 + ".jpg", "x" * 120 + ".jpg"),
    ],
)
def test_names_from_links_stay_in_the_folder(url: str, name: str, tmp_path: Path) -> None:
    got = name_from_url(url)
    assert got == name
    assert unique_path(tmp_path, got).parent == tmp_path


def test_a_taken_name_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"1")
    (tmp_path / "a (2).png.part").write_bytes(b"")
    assert unique_path(tmp_path, safe_name("a.png")).name == "a (3).png"
