"""Sign-in: each way it can fail gives its own clear, typed error; registration; pinning."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from chinwag.core.errors import (
    AuthenticationFailed,
    CertificateUntrusted,
    RegistrationFailed,
    ServerUnreachable,
    TlsFailure,
)
from chinwag.core.models import ConnectionState
from conftest import CoreMaker

pytestmark = pytest.mark.prosody


async def test_wrong_password(prosody, cores: CoreMaker) -> None:
    jid, _ = prosody.make_user("alice")
    client = await cores(prosody, jid, "not-the-password", sign_in=False)
    with pytest.raises(AuthenticationFailed, match="refused the password"):
        await client.core.sign_in(jid)
    assert client.core.state(jid) is ConnectionState.FAILED  # no retry loop on a wrong password


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_server(prosody, cores: CoreMaker) -> None:
    jid, password = prosody.make_user("alice")
    client = await cores(prosody, jid, password, sign_in=False, port=_closed_port())
    with pytest.raises(ServerUnreachable, match="cannot reach"):
        await client.core.sign_in(jid, keep_trying=False)


async def test_untrusted_certificate(prosody_untrusted, cores: CoreMaker) -> None:
    jid, password = prosody_untrusted.make_user("alice")
    client = await cores(prosody_untrusted, jid, password, sign_in=False)
    with pytest.raises(CertificateUntrusted, match="not trusted") as caught:
        await client.core.sign_in(jid)
    assert client.core.state(jid) is ConnectionState.FAILED
    # what the user is shown to decide on: the certificate the server presented
    assert caught.value.fingerprint == prosody_untrusted.server_cert_fingerprint

    # "trust once": this run only, nothing saved
    session = client.core.sessions[jid]
    session.trusted_once = caught.value.fingerprint
    await client.core.sign_in(jid)
    assert client.core.state(jid) is ConnectionState.ONLINE
    assert client.core.accounts.get(jid).trusted_fingerprint == ""


async def test_pinned_fingerprint_accepts_self_signed_server(
    prosody_untrusted, cores: CoreMaker
) -> None:
    server = prosody_untrusted
    jid, password = server.make_user("alice")
    client = await cores(server, jid, password, trusted_fingerprint=server.server_cert_fingerprint)
    assert client.core.state(jid) is ConnectionState.ONLINE


async def test_wrong_pinned_fingerprint_is_refused(prosody, cores: CoreMaker) -> None:
    jid, password = prosody.make_user("alice")
    client = await cores(prosody, jid, password, sign_in=False, trusted_fingerprint="ab" * 32)
    with pytest.raises(CertificateUntrusted) as caught:
        await client.core.sign_in(jid)
    assert caught.value.fingerprint == prosody.server_cert_fingerprint


async def test_direct_tls(prosody, cores: CoreMaker) -> None:
    from chinwag.core.models import TlsMode

    jid, password = prosody.make_user("alice")
    client = await cores(prosody, jid, password, port=prosody.direct_tls_port, tls=TlsMode.DIRECT)
    assert client.core.state(jid) is ConnectionState.ONLINE


async def test_in_band_registration(prosody, cores: CoreMaker) -> None:
    jid = f"{prosody.unique_name('new')}@{prosody.domain}"
    client = await cores(prosody, jid, "s3cret-pass", sign_in=False)
    await client.core.sign_in(jid, register=True)
    assert client.core.state(jid) is ConnectionState.ONLINE

    again = await cores(prosody, jid, "other-pass", sign_in=False)
    with pytest.raises(RegistrationFailed, match="taken"):
        await again.core.sign_in(jid, register=True)


class StrippingServer:
    """A man in the middle that strips STARTTLS (and SASL) from the stream features."""

    def __init__(self, features: str) -> None:
        self.features = features
        self.seen = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            text = data.decode(errors="replace")
            self.seen += text
            if "<stream:stream" in text:
                writer.write(
                    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                    b"xmlns:stream='http://etherx.jabber.org/streams' id='x' "
                    b"from='example.org' version='1.0'>"
                    + f"<stream:features>{self.features}</stream:features>".encode()
                )
            for match in re.finditer(r"<iq [^>]*id=['\"]([^'\"]+)", text):
                if "xmpp-bind" in text:
                    writer.write(
                        f"<iq type='result' id='{match.group(1)}'><bind "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.org/r"
                        "</jid></bind></iq>".encode()
                    )
                else:
                    writer.write(f"<iq type='result' id='{match.group(1)}'/>".encode())
            await writer.drain()


@pytest.mark.parametrize(
    ("features", "register"),
    [
        ("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>", False),
        ("<register xmlns='http://jabber.org/features/iq-register'/>", True),
        (
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
            "<mechanism>PLAIN</mechanism></mechanisms>",
            False,
        ),
        (
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1"
            "</mechanism><mechanism>PLAIN</mechanism></mechanisms>",
            False,
        ),
    ],
    ids=["no-starttls", "registration-without-tls", "plain-without-starttls", "scram-no-tls"],
)
async def test_no_silent_downgrade_to_plaintext(
    cores: CoreMaker, features: str, register: bool
) -> None:
    mitm = StrippingServer(features)
    server = await asyncio.start_server(mitm.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        fake = type("Fake", (), {"host": "127.0.0.1", "port": port})()
        client = await cores(fake, "alice@example.org", "secret-password", sign_in=False)
        with pytest.raises(TlsFailure, match="did not offer encryption"):
            await client.core.sign_in("alice@example.org", register=register)
        assert client.core.state("alice@example.org") is ConnectionState.FAILED
        assert "secret-password" not in mitm.seen
    finally:
        server.close()
        await server.wait_closed()
