"""Review of "no sign-in without encryption, and say so at once": a server that offers
STARTTLS and then refuses it."""

from __future__ import annotations

import asyncio

import pytest

from chinwag.core.errors import TlsFailure
from chinwag.core.models import ConnectionState
from conftest import CoreMaker

STREAM_HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='x' from='example.org' "
    b"version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
    b"</mechanisms></stream:features>"
)


class RefusingTls:
    """Offers STARTTLS, answers ``<failure/>`` and closes the stream (RFC 6120 5.4.2.2),
    as a server whose TLS set-up is broken does."""

    def __init__(self) -> None:
        self.connections = 0
        self.seen = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while data := await reader.read(65536):
                text = data.decode(errors="replace")
                self.seen += text
                if "<stream:stream" in text:
                    writer.write(STREAM_HEADER)
                if "<starttls" in text:
                    writer.write(
                        b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"
                    )
                    await writer.drain()
                    break
                await writer.drain()
        finally:
            writer.close()


async def test_a_refused_starttls_fails_at_once_with_tls_failure(cores: CoreMaker) -> None:
    refusing = RefusingTls()
    server = await asyncio.start_server(refusing.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        fake = type("Fake", (), {"host": "127.0.0.1", "port": port})()
        client = await cores(fake, "alice@example.org", "secret-password", sign_in=False)
        with pytest.raises(TlsFailure):
            await client.core.sign_in("alice@example.org")
        assert client.core.state("alice@example.org") is ConnectionState.FAILED
        assert refusing.connections == 1
        assert "secret-password" not in refusing.seen
    finally:
        server.close()
        await server.wait_closed()
