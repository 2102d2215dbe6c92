"""Certificate trust: the system store (which honours ``SSL_CERT_FILE``) or, for a
self-signed server the user chose to trust, a pinned SHA-256 fingerprint. Never a silent
downgrade: there is no plaintext mode and no "accept anything"."""

from __future__ import annotations

import asyncio
import hashlib
import ssl


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:...`` or ``abcd...`` -> ``abcd...``; raises ValueError if not SHA-256 hex."""
    hexed = text.replace(":", "").replace(" ", "").strip().lower()
    if len(hexed) != 64 or any(c not in "0123456789abcdef" for c in hexed):
        raise ValueError("a certificate fingerprint is 64 hexadecimal digits (SHA-256)")
    return hexed


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def make_context(pinned: str) -> ssl.SSLContext:
    """A client context: full verification against the system store, or, when a
    fingerprint is pinned, no chain check here (the pin is checked right after the
    handshake, before anything is sent)."""
    if pinned:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_pin(ssl_object: ssl.SSLObject | ssl.SSLSocket, pinned: str) -> str | None:
    """None when the peer certificate matches ``pinned``; else its fingerprint."""
    der = ssl_object.getpeercert(binary_form=True)
    actual = fingerprint(der) if der else ""
    return None if actual == pinned else actual


async def fetch_certificate(
    host: str, port: int, domain: str, *, direct: bool, limit: float = 10.0
) -> bytes:
    """The DER certificate a server presents, without trusting it: so a user can be shown
    the fingerprint of a certificate the system store refused. Only a stream header and
    STARTTLS are exchanged; nothing of the account is sent."""
    context = make_context("0" * 64)  # no chain check: we only read the certificate

    async def run() -> bytes:
        if direct:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=domain
            )
        else:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                (
                    "<?xml version='1.0'?><stream:stream to='" + domain + "' version='1.0' "
                    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                ).encode()
            )
            await reader.readuntil(b"</stream:features>")
            writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            await reader.readuntil(b"/>")  # <proceed .../>
            await writer.start_tls(context, server_hostname=domain)
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            der: bytes = ssl_object.getpeercert(binary_form=True) if ssl_object else b""
            return der
        finally:
            writer.close()

    return await asyncio.wait_for(run(), limit)
