"""The password stores: the private file fallback, and when the keyring is not tried."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chinwag.system import secrets
from chinwag.system.secrets import FileSecretStore, LazySecretStore


def test_file_store_keeps_passwords_private(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path / "passwords.json")
    store.set_password("a@x.org", "s3cret")
    store.set_password("b@x.org", "other")
    assert store.get_password("a@x.org") == "s3cret"
    assert stat.S_IMODE((tmp_path / "passwords.json").stat().st_mode) == 0o600
    store.delete_password("a@x.org")
    assert store.get_password("a@x.org") is None
    assert store.get_password("b@x.org") == "other"


def test_file_store_tightens_a_file_others_could_read(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    path.write_text('{"a@x.org": "pw"}')
    path.chmod(0o644)
    assert FileSecretStore(path).get_password("a@x.org") == "pw"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_session_bus_means_no_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'missing'}")
    assert not secrets._session_bus_reachable()
    store = LazySecretStore(tmp_path / "passwords.json")
    store.set_password("a@x.org", "pw")  # falls back to the file, with a warning
    assert (tmp_path / "passwords.json").exists()


def test_a_bus_socket_that_exists_lets_keyring_be_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = tmp_path / "bus"
    sock.touch()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={sock}")
    assert secrets._session_bus_reachable()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=/tmp/dbus-x")
    assert secrets._session_bus_reachable()
