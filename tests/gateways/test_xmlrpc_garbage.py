"""Garbage thrown at the XML-RPC endpoint over raw sockets: each gets a clear error (a
fault, or an HTTP 4xx) or a closed connection, nothing is logged as a crash, and the
gateway then still sends and lists a message as usual."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import xmlrpc.client
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.api_rig import BOB, ME, ApiLayerRig
from chinwag.gateways.keys import GatewayKeys, KeyKind
from chinwag.gateways.server import MAX_BODY, Gateways
from chinwag.gateways.xmlrpc import PATH, XmlRpcGateway

#: Far beyond the shortened bounds: a server that never answers fails the test.
GUARD = 15.0


class Rig:
    def __init__(self, api_rig: ApiLayerRig, port: int, key: str) -> None:
        self.api_rig = api_rig
        self.port = port
        self.key = key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def call(self, method: str, *params: object) -> dict[str, object]:
        def run() -> dict[str, object]:
            with xmlrpc.client.ServerProxy(self.url) as proxy:
                answer: dict[str, object] = getattr(proxy, method)(*params)
                return answer

        return await asyncio.to_thread(run)

    async def exchange(self, data: bytes) -> tuple[int | None, bytes]:
        """Sends ``data`` and reads until the server closes: (status, body), or (None,
        b"") when the connection was closed with no answer."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(data)
            # (the server may stop reading: what it said is still to be read)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            async with asyncio.timeout(GUARD):
                try:
                    answer = await reader.read()
                except ConnectionResetError:
                    answer = b""
        finally:
            writer.close()
        if not answer:
            return None, b""
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Rig]:
    api_rig = await ApiLayerRig.start(tmp_path)
    keys = GatewayKeys(tmp_path / "gateway-keys.json")
    _entry, key = keys.create(KeyKind.XMLRPC, ME)
    gateways = Gateways(tmp_path, head_seconds=2, body_seconds=2)
    port = await gateways.start("xmlrpc", XmlRpcGateway(api_rig.api, keys).app(), 0)
    try:
        yield Rig(api_rig, port, key)
    finally:
        await gateways.close()
        await api_rig.close()


def post(body: bytes, content_type: bytes = b"text/xml", *headers: bytes) -> bytes:
    lines = [
        b"POST " + PATH.encode() + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
        b"Content-Type: " + content_type,
        b"Content-Length: " + str(len(body)).encode(),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(body: bytes, chunk: int = 65536) -> bytes:
    head = (
        b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk]), body[i : i + chunk])
        for i in range(0, len(body), chunk)
    ]
    return head + b"".join(parts) + b"0\r\n\r\n"


def call_body(key: str, **extra: object) -> bytes:
    args = {"username": ME, "password": key, **extra}
    return xmlrpc.client.dumps((args,), "LJ.XMLRPC.getinbox").encode()


async def test_garbage_gets_a_clear_error_and_the_gateway_carries_on(
    gw: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    good = call_body(gw.key)
    depth = 20_000
    nested = (
        b"<methodCall><methodName>LJ.XMLRPC.getinbox</methodName><params><param>"
        + b"<value><array><data>" * depth
        + b"</data></array></value>" * depth
        + b"</param></params></methodCall>"
    )
    faults: dict[str, tuple[bytes, int]] = {
        "truncated XML": (post(good[: len(good) // 2]), 203),
        "empty body": (post(b""), 203),
        "JSON": (post(b'{"method": "LJ.XMLRPC.getinbox"}', b"application/json"), 203),
        "a form": (post(b"username=me&password=x", b"application/x-www-form-urlencoded"), 203),
        "multipart": (
            post(
                b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
                b"multipart/form-data; boundary=b",
            ),
            203,
        ),
        "invalid UTF-8": (post(good.replace(b"<string>", b"<string>\xc3\x28", 1)), 208),
        "a NUL byte": (post(good.replace(b"<string>", b"<string>\x00", 1)), 203),
        "not XML-RPC XML": (post(b"<?xml version='1.0'?><html><body/></html>"), 203),
        "arrays nested 20,000 deep": (post(nested), 203),
        "chunked, under 1 MiB": (chunked(good[:-10]), 203),
    }
    for name, (request, code) in faults.items():
        status, body = await gw.exchange(request)
        assert status == 200, name
        with pytest.raises(xmlrpc.client.Fault) as fault:
            xmlrpc.client.loads(body)
        assert fault.value.faultCode == code, (name, fault.value)

    huge = b"x" * (MAX_BODY + 1)
    refused: dict[str, tuple[bytes, set[int | None]]] = {
        "a 64 KiB header": (post(good, b"text/xml", b"X-Huge: " + b"h" * 65536), {400, 431}),
        "500 headers": (
            post(good, b"text/xml", *[b"X-Many-%d: x" % n for n in range(500)]),
            {400, 431},
        ),
        "a body over 1 MiB": (post(huge), {413}),
        "a chunked body over 1 MiB": (chunked(huge), {413}),
        "a bad chunk size": (chunked(good).replace(b"\r\n\r\n", b"\r\n\r\nzz\r\n", 1), {400}),
        "two Content-Lengths": (post(good, b"text/xml", b"Content-Length: 3"), {400}),
        "a negative Content-Length": (
            post(good).replace(b"Content-Length: %d" % len(good), b"Content-Length: -1"),
            {400},
        ),
        "an HTTP/0.9 request line": (b"GET " + PATH.encode() + b"\r\n", {400, None}),
        "a bare line": (b"hello\r\n\r\n", {400, None}),
        "a TLS hello": (
            bytes.fromhex("16030100a5010000a10303") + bytes(range(256)) * 4,
            {400, None},
        ),
        "bytes that are no protocol": (bytes(range(256))[::-1] * 64, {400, None}),
        "GET": (
            b"GET " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            {405},
        ),
    }
    for name, (request, statuses) in refused.items():
        status, _body = await gw.exchange(request)
        assert status in statuses, name

    # the gateway carries on: a message sent now goes out and is listed
    answer = await gw.call(
        "LJ.XMLRPC.sendmessage",
        {"username": ME, "password": gw.key, "to": BOB, "body": "still here"},
    )
    assert answer["sent_count"] == 1
    assert [m.body for m in gw.api_rig.connection.sent] == ["still here"]
    inbox = await gw.call("LJ.XMLRPC.getinbox", {"username": ME, "password": gw.key})
    assert [item["body"] for item in inbox["items"]] == ["still here"]  # type: ignore[attr-defined]
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, [r.getMessage() for r in crashes]
