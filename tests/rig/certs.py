"""Throwaway X.509 material for the test rig, made with the ``cryptography`` package.

Two independent things are produced:

* :func:`make_rig_pki` -- a private CA plus a server certificate signed by it whose
  subjectAltName covers ``localhost``, ``conference.localhost`` and the IP ``127.0.0.1``.
  Clients trust the rig server by trusting the CA (``SSL_CERT_FILE``, see the ``ca_env``
  fixture), exactly like a real deployment with a public CA.
* :func:`make_untrusted_cert` -- an unrelated self-signed certificate with the same names.
  A server run with it must be *rejected* by any client using a default SSL context; it
  is the "untrusted certificate" case (wrong CA, not a wrong host name).
* :func:`issue_server_cert` -- another server certificate from the rig CA, with the names
  and validity asked for: one for another host, or one that has expired, which clients
  that trust the CA must still reject.

:func:`sha256_fingerprint` gives the SHA-256 of a certificate's DER bytes as lowercase hex
without colons (the form used for certificate pinning); :func:`pem_fingerprint` does the
same for a PEM file.

Keys are RSA-2048: Prosody 0.12's default cipher list excludes ECDSA suites for TLS 1.2,
so RSA keeps both TLS 1.2 and 1.3 clients working. The certificates follow the rules that
OpenSSL's strict mode (``VERIFY_X509_STRICT``, default in Python 3.13) enforces: key
identifiers, critical basic constraints, key usage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DNS_NAMES: tuple[str, ...] = ("localhost", "conference.localhost")
DEFAULT_IP_ADDRESSES: tuple[str, ...] = ("127.0.0.1",)
_VALIDITY = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(days=1)


@dataclass(frozen=True)
class ServerCert:
    """A server certificate and key on disk, and what a client needs to trust it.

    ``ca_cert_path`` is the certificate a client has to trust (the rig CA for a CA-signed
    certificate; the certificate itself for a self-signed one).
    """

    cert_path: Path
    key_path: Path
    ca_cert_path: Path
    fingerprint: str
    """SHA-256 of the server certificate's DER bytes, lowercase hex, no colons."""
    self_signed: bool


@dataclass(frozen=True)
class RigPki:
    """The rig CA and the server certificate it signed."""

    ca_cert_path: Path
    ca_key_path: Path
    server: ServerCert


def sha256_fingerprint(der: bytes) -> str:
    """Return the SHA-256 of DER-encoded certificate bytes as lowercase hex, no colons."""
    return hashlib.sha256(der).hexdigest()


def cert_fingerprint(cert: x509.Certificate) -> str:
    """Return :func:`sha256_fingerprint` of a loaded certificate."""
    return sha256_fingerprint(cert.public_bytes(serialization.Encoding.DER))


def pem_fingerprint(path: Path) -> str:
    """Return :func:`sha256_fingerprint` of the (first) certificate in a PEM file."""
    return cert_fingerprint(x509.load_pem_x509_certificate(path.read_bytes()))


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chinwag test rig"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(dns_names: Sequence[str], ip_addresses: Sequence[str]) -> x509.SubjectAlternativeName:
    general_names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    general_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    return x509.SubjectAlternativeName(general_names)


def _leaf_usage(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    return builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=True,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    ).add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        critical=False,
    )


def make_rig_pki(
    directory: Path,
    dns_names: Sequence[str] = DEFAULT_DNS_NAMES,
    ip_addresses: Sequence[str] = DEFAULT_IP_ADDRESSES,
) -> RigPki:
    """Create a throwaway CA and a server certificate signed by it, in ``directory``.

    Files written: ``ca.crt``, ``ca.key``, ``server.crt``, ``server.key``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    ca_key = _new_key()
    ca_name = _name("Chinwag test rig CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    srv_key = _new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0]))
        .issuer_name(ca_name)
        .public_key(srv_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(dns_names, ip_addresses), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(srv_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
    )
    srv_cert = _leaf_usage(builder).sign(ca_key, hashes.SHA256())

    ca_cert_path, ca_key_path = directory / "ca.crt", directory / "ca.key"
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    _write_cert(ca_cert, ca_cert_path)
    _write_key(ca_key, ca_key_path)
    _write_cert(srv_cert, cert_path)
    _write_key(srv_key, key_path)
    return RigPki(
        ca_cert_path=ca_cert_path,
        ca_key_path=ca_key_path,
        server=ServerCert(
            cert_path=cert_path,
            key_path=key_path,
            ca_cert_path=ca_cert_path,
            fingerprint=cert_fingerprint(srv_cert),
            self_signed=False,
        ),
    )


def make_untrusted_cert(
    directory: Path,
    dns_names: Sequence[str] = DEFAULT_DNS_NAMES,
    ip_addresses: Sequence[str] = DEFAULT_IP_ADDRESSES,
) -> ServerCert:
    """Create a self-signed server certificate unrelated to the rig CA, in ``directory``.

    It carries the same names as the trusted server certificate, so a client rejects it
    only because nobody vouches for it. Files: ``untrusted.crt``, ``untrusted.key``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    key = _new_key()
    name = _name(f"{dns_names[0]} (untrusted, self-signed)")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(dns_names, ip_addresses), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
            critical=False,
        )
    )
    cert = _leaf_usage(builder).sign(key, hashes.SHA256())
    cert_path, key_path = directory / "untrusted.crt", directory / "untrusted.key"
    _write_cert(cert, cert_path)
    _write_key(key, key_path)
    return ServerCert(
        cert_path=cert_path,
        key_path=key_path,
        ca_cert_path=cert_path,
        fingerprint=cert_fingerprint(cert),
        self_signed=True,
    )


def issue_server_cert(
    pki: RigPki,
    directory: Path,
    *,
    dns_names: Sequence[str] = DEFAULT_DNS_NAMES,
    ip_addresses: Sequence[str] = DEFAULT_IP_ADDRESSES,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    name: str = "issued",
) -> ServerCert:
    """A server certificate signed by the rig CA, in ``directory`` (``<name>.crt`` and
    ``<name>.key``): by default like the rig's own; ``dns_names``/``ip_addresses`` for
    another host, ``not_before``/``not_after`` (UTC) for an expired one."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = _new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - _BACKDATE)
        .not_valid_after(not_after or now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(dns_names, ip_addresses), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    cert = _leaf_usage(builder).sign(ca_key, hashes.SHA256())
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    _write_cert(cert, cert_path)
    _write_key(key, key_path)
    return ServerCert(
        cert_path=cert_path,
        key_path=key_path,
        ca_cert_path=pki.ca_cert_path,
        fingerprint=cert_fingerprint(cert),
        self_signed=False,
    )
