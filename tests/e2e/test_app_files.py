"""Chinwag's own files, with the app as a process (``python -m chinwag --background``) on
a private bus and a real Prosody:

* everything it keeps is private to the user (folders 0700, files 0600), also where an
  older version or an installer left it open;
* ``--debug`` logs every stanza, but never a password, neither the in-band registration's
  nor the SASL exchange (PLAIN and SCRAM);
* damaged files do not stop it: they are moved aside and the log says where; in a
  folder that cannot be changed nothing is touched and the log says so."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from chinwag.automation import names
from chinwag.core.models import Direction, Message
from chinwag.storage.message_store import SqliteMessageStore
from rig.app import AppProcess, start_app, wait_signed_in, write_profile
from rig.prosody import ProsodyServer
from rig.readonly import read_only

SUBS = ("config", "data", "state", "cache")


def chinwag_dirs(home: Path) -> list[Path]:
    return [home / sub / "chinwag" for sub in SUBS]


def open_modes(home: Path) -> dict[str, str]:
    """Every folder and file of Chinwag's whose mode lets others in, or is not the
    private one (0700 for folders, 0600 for files)."""
    found: dict[str, str] = {}
    for top in chinwag_dirs(home):
        for path in [top, *top.rglob("*")]:
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.lstat().st_mode)
            want = 0o700 if path.is_dir() else 0o600
            if mode != want:
                found[str(path.relative_to(home))] = oct(mode)
    return found


def loosen(home: Path) -> None:
    """As an older Chinwag (or install.sh's venv in the data folder) left the profile."""
    for top in chinwag_dirs(home):
        top.mkdir(parents=True, exist_ok=True)
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def asides(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.broken-*"))


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


async def stop(app: AppProcess) -> None:
    await app.close_clients()
    assert await app.terminate() == 0, app.diagnostics()


@pytest.fixture
async def apps() -> AsyncIterator[list[AppProcess]]:
    """Apps started by a test; killed if the test did not stop them."""
    started: list[AppProcess] = []
    yield started
    for app in started:
        await app.close_clients()
        if app.running():
            app.proc.kill()
            await app.proc.wait()


async def launch(
    apps: list[AppProcess],
    home: Path,
    env: dict[str, str],
    server: ProsodyServer,
    jid: str = "",
    password: str = "",
    *args: str,
) -> AppProcess:
    app = await start_app(home, env, jid, password, server, *args)
    apps.append(app)
    return app


async def answers(app: AppProcess) -> Any:
    """The API is up: a property read gets its reply."""
    client = await app.client()
    return await client.get(names.MESSENGER_PATH, names.MESSENGER, "MySigninName")


def log_text(app: AppProcess) -> str:
    return app.log_path.read_text(errors="replace") if app.log_path.exists() else ""


# --------------------------------------------------------------------------- private files


async def test_every_file_of_a_running_profile_is_private(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path, apps: list[AppProcess]
) -> None:
    jid, password = prosody.make_user("private")
    env = write_profile(tmp_path, jid, password, prosody)
    (tmp_path / "state" / "chinwag" / "chinwag.log").write_text("an old log\n")
    (tmp_path / "config" / "chinwag" / "ui.json").write_text("{}")
    loosen(tmp_path)
    assert open_modes(tmp_path)  # the test starts from an open profile

    app = await launch(apps, tmp_path, env, prosody, jid, password)
    client = await app.client()
    await wait_signed_in(app, client)
    data = tmp_path / "data" / "chinwag"
    # Running and signed in: the history, its -wal and -shm, the log all exist.
    present = {p.name for p in data.iterdir()}
    assert {"history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"} <= present
    assert open_modes(tmp_path) == {}, app.diagnostics()
    await stop(app)
    assert open_modes(tmp_path) == {}


# --------------------------------------------------------------------------- --debug log


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_no_password(app: AppProcess, jid: str, password: str) -> str:
    """The log and stderr carry stanzas but no form of the password; returns the log."""
    user = jid.partition("@")[0]
    secret = password.encode()
    forms = {
        password,
        b64(secret),
        b64(b"\0" + user.encode() + b"\0" + secret),
        b64(b"\0" + jid.encode() + b"\0" + secret),
        b64(jid.encode() + b"\0" + user.encode() + b"\0" + secret),
    }
    log = log_text(app)
    err = app.stderr_path.read_text(errors="replace")
    for where, text in (("log", log), ("stderr", err)):
        assert "SEND: " in text, f"nothing sent in the {where}"
        assert "RECV: " in text, f"nothing received in the {where}"
        for form in forms:
            assert form not in text, f"{form!r} is in the {where}"
    return log


async def test_debug_log_masks_in_band_registration_and_sasl_plain(
    prosody_factory: Callable[..., ProsodyServer],
    dbus_bus: Any,
    tmp_path: Path,
    apps: list[AppProcess],
) -> None:
    # PLAIN only: its <auth> is the base64 of the password itself.
    server = prosody_factory(
        extra_global_config=(
            'disable_sasl_mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "DIGEST-MD5" }'
        )
    )
    jid = f"{server.unique_name('ibr')}@{server.domain}"
    password = "Reg-" + base64.b32encode(os.urandom(10)).decode().lower()
    env = write_profile(tmp_path, "", "", server)
    app = await launch(apps, tmp_path, env, server, "", "", "--debug")
    client = await app.client()
    options = {
        "host": Variant("s", server.host),
        "port": Variant("u", server.port),
        "register": Variant("b", True),
    }
    assert await client.messenger("SigninWithOptions", "ssa{sv}", jid, password, options) == 0
    await wait_signed_in(app, client)
    await stop(app)

    log = assert_no_password(app, jid, password)
    assert re.search(r"<password>\*\*\*</password>", log), "the registration is not logged"
    assert re.search(r'<auth [^>]*mechanism="PLAIN"[^>]*>\*\*\*</auth>', log), (
        "the SASL <auth> is not logged"
    )
    assert re.search(r"<success [^>]*(?:/>|>(?:\*\*\*)?</success>)", log)


async def test_debug_log_masks_a_scram_sign_in(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path, apps: list[AppProcess]
) -> None:
    jid, password = prosody.make_user("scram")
    env = write_profile(tmp_path, jid, password, prosody)
    app = await launch(apps, tmp_path, env, prosody, jid, password, "--debug")
    await wait_signed_in(app, await app.client())
    await stop(app)

    log = assert_no_password(app, jid, password)
    assert re.search(r'<auth [^>]*mechanism="SCRAM-[^"]*"[^>]*>\*\*\*</auth>', log)
    for element in ("challenge", "response", "success"):
        assert re.search(rf"<{element} [^>]*>\*\*\*</{element}>", log), element
        assert not re.search(rf"<{element} [^>]*>(?!\*\*\*<)[^<]+</{element}>", log), element


# --------------------------------------------------------------------------- damaged files


def garbage_history(home: Path) -> None:
    (home / "data" / "chinwag" / "history.sqlite3").write_bytes(os.urandom(4096) * 2)


def truncated_history(home: Path) -> None:
    path = home / "data" / "chinwag" / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler (x)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 900,)] * 100)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def folder_history(home: Path) -> None:
    (home / "data" / "chinwag" / "history.sqlite3").mkdir()
    (home / "data" / "chinwag" / "history.sqlite3" / "note").write_text("in the way")


def list_accounts(home: Path) -> None:
    (home / "config" / "chinwag" / "accounts.json").write_text('[{"jid": "a@localhost"}]')


def accounts_not_a_list(home: Path) -> None:
    accounts = {"version": 1, "accounts": {"jid": "a@localhost"}}
    (home / "config" / "chinwag" / "accounts.json").write_text(json.dumps(accounts))


def garbage_view_settings(home: Path) -> None:
    (home / "config" / "chinwag" / "ui.json").write_bytes(b"\xff{not json")


@pytest.mark.parametrize(
    ("damage", "folder", "name"),
    [
        (garbage_history, "data", "history.sqlite3"),
        (truncated_history, "data", "history.sqlite3"),
        (folder_history, "data", "history.sqlite3"),
        (list_accounts, "config", "accounts.json"),
        (accounts_not_a_list, "config", "accounts.json"),
        (garbage_view_settings, "config", "ui.json"),
    ],
    ids=[
        "history-garbage",
        "history-truncated",
        "history-folder",
        "accounts-list",
        "accounts-not-list",
        "ui-garbage",
    ],
)
async def test_a_damaged_file_is_moved_aside_and_chinwag_starts(
    prosody: ProsodyServer,
    dbus_bus: Any,
    tmp_path: Path,
    apps: list[AppProcess],
    damage: Callable[[Path], None],
    folder: str,
    name: str,
) -> None:
    env = write_profile(tmp_path, "", "", prosody)
    damage(tmp_path)
    where = tmp_path / folder / "chinwag"
    before = snapshot(where)

    app = await launch(apps, tmp_path, env, prosody)
    assert await answers(app) == ""
    await stop(app)

    [aside] = asides(where, name)
    if before.get(name) is not None:
        assert aside.read_bytes() == before[name]  # kept as it was
    else:
        assert (aside / "note").exists()
    log = log_text(app)
    assert str(aside) in log, log
    assert "Traceback" not in log + app.stderr_path.read_text()
    if name == "history.sqlite3":
        store = SqliteMessageStore.open(where / name)  # a new, sound history
        await store.close()


async def test_bad_values_in_the_account_settings_keep_the_account(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path, apps: list[AppProcess]
) -> None:
    jid, password = prosody.make_user("badvalues")
    env = write_profile(tmp_path, jid, password, prosody, tls="bogus", priority="x")
    accounts = tmp_path / "config" / "chinwag" / "accounts.json"
    before = accounts.read_bytes()

    app = await launch(apps, tmp_path, env, prosody, jid, password)
    await wait_signed_in(app, await app.client())  # the account was kept, and works
    await stop(app)

    [aside] = asides(accounts.parent, "accounts.json")
    assert aside.read_bytes() == before
    saved = json.loads(accounts.read_text())["accounts"]
    assert [(a["jid"], a["tls"], a["priority"]) for a in saved] == [(jid, "starttls", 0)]
    log = log_text(app)
    assert "tls 'bogus'" in log
    assert str(aside) in log


# --------------------------------------------------------------------------- read-only folders


async def test_a_read_only_data_folder_is_left_untouched(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path, apps: list[AppProcess]
) -> None:
    jid, password = prosody.make_user("rodata")
    env = write_profile(tmp_path, jid, password, prosody)
    data = tmp_path / "data" / "chinwag"
    store = SqliteMessageStore.open(data / "history.sqlite3")
    old = await store.add_outgoing(
        Message(jid, "peer@localhost", Direction.OUTGOING, "from before", time.time(), sender=jid)
    )
    await store.close()
    before = snapshot(data)

    with read_only(data):
        app = await launch(apps, tmp_path, env, prosody, jid, password)
        await wait_signed_in(app, await app.client())  # the password file could be read
        await stop(app)
        assert snapshot(data) == before

    log = log_text(app)
    assert f"The history {data / 'history.sqlite3'} cannot be used" in log
    assert "kept in memory only" in log
    store = SqliteMessageStore.open(data / "history.sqlite3")
    try:
        assert [m.body for m in store.latest(old.key, 5)] == ["from before"]
    finally:
        await store.close()


async def test_a_history_folder_that_cannot_be_moved(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path, apps: list[AppProcess]
) -> None:
    env = write_profile(tmp_path, "", "", prosody)
    folder_history(tmp_path)
    data = tmp_path / "data" / "chinwag"
    before = snapshot(data)
    with read_only(data):
        app = await launch(apps, tmp_path, env, prosody)
        assert await answers(app) == ""
        await stop(app)
        assert snapshot(data) == before
    log = log_text(app)
    assert "cannot be moved aside" in log
    assert "kept in memory only" in log


async def test_a_read_only_state_folder_means_no_log_file(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path, apps: list[AppProcess]
) -> None:
    env = write_profile(tmp_path, "", "", prosody)
    state = tmp_path / "state" / "chinwag"
    with read_only(state):
        app = await launch(apps, tmp_path, env, prosody)
        assert await answers(app) == ""
        await stop(app)
        assert list(state.iterdir()) == []
    err = app.stderr_path.read_text()
    assert f"The log file {state / 'chinwag.log'} cannot be written" in err
    assert "Traceback" not in err
