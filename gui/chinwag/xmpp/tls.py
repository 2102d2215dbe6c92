"""Certificate trust: the system store (which honours ``SSL_CERT_FILE``) or, for a
self-signed server the user chose to trust, a pinned SHA-256 fingerprint. Never a silent
downgrade: there is no plaintext mode and no "accept anything"."""

from __future__ import annotations

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
