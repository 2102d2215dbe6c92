"""Gateway keys: the only credentials the script gateways take (``gateways.md``, common
rules). Never the XMPP password.

A key is 256 random bits, shown once when it is made. What is kept of it, in
``gateway-keys.json`` in the settings folder (mode 0600), is a digest: SHA-256 for a REST
key; for an XML-RPC key the lowercase MD5 hex of the key, because the LiveJournal
protocol's ``hpassword`` and challenge methods need exactly that (so that digest is a
credential itself: whoever reads the file can log in to the XML-RPC gateway; the file is
the user's alone, and the README says so).

Each key belongs to one account (the XML-RPC ``username``; the UCWA ``me``) and a REST key
has scopes (:data:`SCOPES`). ``chinwag-remote gateway-key`` writes the file; a running
Chinwag reads it again whenever it has changed, so a key made or revoked counts at the
next request. Writes are atomic and serialised by a lock file, so two commands at once
never lose one's change. Standard library only (``chinwag-remote`` imports this)."""

from __future__ import annotations

import contextlib
import enum
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "gateway-keys.json"
FORMAT_VERSION = 1
#: UCWA's scopes: start conversations and send; read the event channel and what comes in.
INITIATE = "Conversations.Initiate"
RECEIVE = "Conversations.Receive"
SCOPES = (INITIATE, RECEIVE)
#: Bytes of randomness in a key (256 bits).
KEY_BYTES = 32


class KeyKind(enum.StrEnum):
    XMLRPC = "xmlrpc"
    REST = "rest"


class KeyFileError(Exception):
    """The key file cannot be read or written (its text says why, for the user)."""


@dataclass(frozen=True, slots=True)
class GatewayKey:
    """What is kept of one key (never the key itself)."""

    id: str
    kind: KeyKind
    account: str
    digest: str
    scopes: tuple[str, ...] = ()
    label: str = ""
    created: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "account": self.account,
            "digest": self.digest,
            "scopes": list(self.scopes),
            "label": self.label,
            "created": self.created,
        }


def md5_hex(text: str) -> str:
    """Lowercase MD5 hex of ``text``'s UTF-8, as the LiveJournal protocol computes it."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest_of(kind: KeyKind, key: str) -> str:
    return md5_hex(key) if kind is KeyKind.XMLRPC else sha256_hex(key)


def _parse(item: object) -> GatewayKey | None:
    if not isinstance(item, dict):
        return None
    try:
        kind = KeyKind(item["kind"])
        scopes = tuple(str(s) for s in item.get("scopes", ()) if s in SCOPES)
        return GatewayKey(
            id=str(item["id"]),
            kind=kind,
            account=str(item["account"]).lower(),
            digest=str(item["digest"]).lower(),
            scopes=scopes if kind is KeyKind.REST else (),
            label=str(item.get("label", "")),
            created=float(item.get("created", 0.0)),
        )
    except (KeyError, ValueError, TypeError):
        return None


class GatewayKeys:
    """The key file, read again when it changes (a stat per look-up)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._keys: tuple[GatewayKey, ...] = ()

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> tuple[GatewayKey, ...]:
        """Every key, as the file says now (none when there is no file or it is damaged:
        a damaged file lets no one in rather than stopping Chinwag)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, ()
            return ()
        except OSError as exc:
            log.warning("gateway keys: cannot read %s: %s", self.path, exc)
            return self._keys
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._keys = tuple(self._read())
            self._stamp = stamp
        return self._keys

    def _read(self) -> Iterator[GatewayKey]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("gateway keys: %s is unreadable (%s): no key is accepted", self.path, exc)
            return
        items = data.get("keys", []) if isinstance(data, dict) else []
        for item in items if isinstance(items, list) else []:
            key = _parse(item)
            if key is None:
                log.warning("gateway keys: an entry of %s is malformed and ignored", self.path)
            else:
                yield key

    def problem(self) -> str | None:
        """Why the file cannot be used as it is (unreadable, damaged), for the user; None
        when it can (or there is none yet)."""
        try:
            for _ in self._read_strict():
                pass
        except KeyFileError as exc:
            return str(exc)
        return None

    def rest_key(self, key: str) -> GatewayKey | None:
        """The REST key whose secret is ``key``, if one is kept."""
        digest = sha256_hex(key)
        found = None
        for entry in self.entries():
            if entry.kind is KeyKind.REST and hmac.compare_digest(entry.digest, digest):
                found = entry
        return found

    def xmlrpc_digests(self, account: str) -> tuple[str, ...]:
        """The MD5 hex digests of ``account``'s XML-RPC keys (what hpassword and the
        challenge response are checked against)."""
        account = account.lower()
        return tuple(
            k.digest for k in self.entries() if k.kind is KeyKind.XMLRPC and k.account == account
        )

    def accounts(self, kind: KeyKind) -> frozenset[str]:
        return frozenset(k.account for k in self.entries() if k.kind is kind)

    # -- writing (chinwag-remote) ----------------------------------------------------------

    def create(
        self,
        kind: KeyKind,
        account: str,
        scopes: Iterable[str] = (),
        label: str = "",
    ) -> tuple[GatewayKey, str]:
        """Make a key; returns what is kept and the key itself (shown once, never kept)."""
        chosen = tuple(dict.fromkeys(scopes)) if kind is KeyKind.REST else ()
        unknown = [s for s in chosen if s not in SCOPES]
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})")
        if kind is KeyKind.REST and not chosen:
            chosen = SCOPES
        secret = secrets.token_urlsafe(KEY_BYTES)
        with self._locked() as entries:
            taken = {e.id for e in entries}
            key_id = secrets.token_hex(4)
            while key_id in taken:
                key_id = secrets.token_hex(4)
            entry = GatewayKey(
                id=key_id,
                kind=kind,
                account=account.lower(),
                digest=digest_of(kind, secret),
                scopes=chosen,
                label=label,
                created=time.time(),
            )
            entries.append(entry)
        return entry, secret

    def revoke(self, key_id: str) -> GatewayKey | None:
        """Forget the key ``key_id`` (None: there is none by that id)."""
        with self._locked() as entries:
            for index, entry in enumerate(entries):
                if entry.id == key_id:
                    del entries[index]
                    return entry
        return None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[GatewayKey]]:
        from chinwag.system.config import write_atomic

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock = os.open(
                self.path.with_name(f".{self.path.name}.lock"), os.O_CREAT | os.O_RDWR, 0o600
            )
        except OSError as exc:
            raise KeyFileError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._stamp = None
            entries = list(self._read_strict())
            before = list(entries)
            yield entries
            if entries != before:
                text = json.dumps(
                    {"version": FORMAT_VERSION, "keys": [e.as_json() for e in entries]}, indent=2
                )
                try:
                    write_atomic(self.path, text + "\n", 0o600)
                except OSError as exc:
                    raise KeyFileError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(lock)

    def _read_strict(self) -> Iterator[GatewayKey]:
        """The file's keys for a change: a damaged file is not overwritten (its keys would
        be lost without a word)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise KeyFileError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
            items = data["keys"]
            parsed = [_parse(item) for item in items]
        except (ValueError, KeyError, TypeError):
            parsed = [None]
        if any(p is None for p in parsed):
            raise KeyFileError(f"{self.path} is damaged: mend or remove it first")
        yield from (p for p in parsed if p is not None)
