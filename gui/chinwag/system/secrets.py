"""Passwords: in the system keyring (Secret Service) when one answers, else in a file
only the user can read (mode 0600), with a warning in the log, for machines without a
keyring (a headless server, a minimal desktop)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

from chinwag.system.config import write_atomic

log = logging.getLogger(__name__)
SERVICE = "im.chinwag.Chinwag"


def _session_bus_reachable() -> bool:
    """Whether a session bus can be there at all (so a Secret Service can answer), without
    connecting: importing keyring (and its cryptography) and timing out on a missing bus
    costs start-up time and memory on a headless machine."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not address:
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        return bool(runtime) and os.path.exists(os.path.join(runtime, "bus"))
    for part in address.split(";"):
        transport, _, params = part.partition(":")
        values = dict(p.partition("=")[::2] for p in params.split(",") if "=" in p)
        if transport != "unix" or "path" not in values or os.path.exists(values["path"]):
            return True  # abstract sockets and other transports: let keyring find out
    return False


def _keyring_usable() -> bool:
    if not _session_bus_reachable():
        log.debug("no session bus: no keyring")
        return False
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring | null.Keyring):
            return False
        # Probe it: a Secret Service that is registered but locked or absent raises here.
        keyring.get_password(SERVICE, "__probe__")
    except Exception as exc:
        log.debug("no usable keyring: %s", exc)
        return False
    return True


class KeyringSecretStore:
    def get_password(self, account: str) -> str | None:
        import keyring

        value: str | None = keyring.get_password(SERVICE, account)
        return value

    def set_password(self, account: str, password: str) -> None:
        import keyring

        keyring.set_password(SERVICE, account, password)

    def delete_password(self, account: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(SERVICE, account)


class FileSecretStore:
    """Passwords in a JSON file with mode 0600: the fallback when no keyring answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._warned = False

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("cannot read the password file %s: %s", self.path, exc)
            return {}
        if self.path.stat().st_mode & 0o077:
            log.warning("%s was readable by others; making it private", self.path)
            os.chmod(self.path, 0o600)
        return {str(k): str(v) for k, v in data.items()}

    def get_password(self, account: str) -> str | None:
        return self._load().get(account)

    def set_password(self, account: str, password: str) -> None:
        if not self._warned:
            log.warning(
                "no system keyring answers: keeping the password of %s in %s (readable only "
                "by you, but not encrypted)",
                account,
                self.path,
            )
            self._warned = True
        data = self._load()
        data[account] = password
        write_atomic(self.path, json.dumps(data, indent=2), mode=0o600)

    def delete_password(self, account: str) -> None:
        data = self._load()
        if data.pop(account, None) is not None:
            write_atomic(self.path, json.dumps(data, indent=2), mode=0o600)


def default_secret_store(fallback: Path) -> KeyringSecretStore | FileSecretStore:
    """The keyring when it answers, else the private file."""
    if _keyring_usable():
        return KeyringSecretStore()
    return FileSecretStore(fallback)


class LazySecretStore:
    """Chooses between the keyring and the file on first use, not at start-up: importing
    keyring and asking the Secret Service costs time the first window should not wait for."""

    def __init__(self, fallback: Path) -> None:
        self._fallback = fallback
        self._store: KeyringSecretStore | FileSecretStore | None = None

    def _chosen(self) -> KeyringSecretStore | FileSecretStore:
        if self._store is None:
            self._store = default_secret_store(self._fallback)
        return self._store

    def get_password(self, account: str) -> str | None:
        return self._chosen().get_password(account)

    def set_password(self, account: str, password: str) -> None:
        self._chosen().set_password(account, password)

    def delete_password(self, account: str) -> None:
        self._chosen().delete_password(account)
