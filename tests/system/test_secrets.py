"""The password stores: the private file fallback, when the keyring is not tried, and a
keyring that does not answer (a real Secret Service on a private bus that never replies,
as gnome-keyring does while its prompt waits for the user): nothing waits on it."""

from __future__ import annotations

import asyncio
import gc
import json
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import keyring.core
import pytest
from dbus_next import Message, MessageType
from dbus_next.aio import MessageBus

from chinwag.core.errors import PasswordUnavailable
from chinwag.system import secrets
from chinwag.system.secrets import FileSecretStore, KeyringBusy, KeyringThread, LazySecretStore
from integration.helpers import eventually
from rig.dbus import close_message_bus
from rig.readonly import read_only


async def test_file_store_keeps_passwords_private(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path / "passwords.json")
    await store.set_password("a@x.org", "s3cret")
    await store.set_password("b@x.org", "other")
    assert await store.get_password("a@x.org") == "s3cret"
    assert stat.S_IMODE((tmp_path / "passwords.json").stat().st_mode) == 0o600
    await store.delete_password("a@x.org")
    assert await store.get_password("a@x.org") is None
    assert await store.get_password("b@x.org") == "other"


async def test_file_store_tightens_a_file_others_could_read(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    path.write_text('{"a@x.org": "pw"}')
    path.chmod(0o644)
    assert await FileSecretStore(path).get_password("a@x.org") == "pw"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_no_session_bus_means_no_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'missing'}")
    assert not secrets._session_bus_reachable()
    store = LazySecretStore(tmp_path / "passwords.json")
    await store.set_password("a@x.org", "pw")  # falls back to the file, with a warning
    assert (tmp_path / "passwords.json").exists()
    assert await store.get_password("a@x.org") == "pw"
    assert await store.get_password("b@x.org") is None
    await store.delete_password("a@x.org")
    assert await store.get_password("a@x.org") is None


def test_a_bus_socket_that_exists_lets_keyring_be_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = tmp_path / "bus"
    sock.touch()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={sock}")
    assert secrets._session_bus_reachable()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=/tmp/dbus-x")
    assert secrets._session_bus_reachable()


# -- the keyring thread ---------------------------------------------------------------------


async def test_a_call_that_overruns_is_left_running_and_nothing_queues_behind_it() -> None:
    worker = KeyringThread()
    release = threading.Event()
    ran: list[str] = []

    def prompt() -> str:  # a keyring call waiting for the user
        release.wait()
        ran.append("prompt")
        return "answered"

    with pytest.raises(KeyringBusy, match="did not answer"):
        await worker.run("asking", prompt, seconds=0.05)
    assert worker.stuck == "asking"
    # While it is stuck, later calls are refused at once instead of waiting behind it.
    with pytest.raises(KeyringBusy, match="not finished asking"):
        await worker.run("later", lambda: ran.append("later"), seconds=60)
    release.set()  # the user answers: the keyring is used again
    await eventually(lambda: not worker.stuck, what="the stuck call to end")
    assert await worker.run("again", lambda: "fine", seconds=60) == "fine"
    assert ran == ["prompt"]


async def test_a_call_whose_caller_gave_up_before_it_started_never_runs() -> None:
    worker = KeyringThread()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow() -> bool:
        started.set()
        return release.wait()

    first = asyncio.ensure_future(worker.run("slow", slow, seconds=60))
    await eventually(started.is_set, what="the slow call to start")
    with pytest.raises(KeyringBusy):
        await worker.run("queued", lambda: ran.append("queued"), seconds=0.05)
    release.set()
    assert await first is True
    assert await worker.run("next", lambda: "ran", seconds=60) == "ran"
    assert ran == []  # the call given up on was skipped, not run late


async def test_errors_of_a_call_reach_its_caller() -> None:
    def broken() -> None:
        raise ValueError("broken backend")

    with pytest.raises(ValueError, match="broken backend"):
        await KeyringThread().run("failing", broken, seconds=60)


# -- a Secret Service that never answers ----------------------------------------------------


class SilentSecretService:
    """Owns ``org.freedesktop.secrets`` on the private bus and never replies to a call:
    what a Secret Service does while its prompt is up and nobody answers. ``store()``
    makes a :class:`LazySecretStore` that asks it."""

    def __init__(self, bus: MessageBus, directory: Path) -> None:
        self.bus = bus
        self.calls: list[str] = []
        self.stores: list[LazySecretStore] = []
        self._directory = directory
        bus.add_message_handler(self._swallow)

    def store(self) -> LazySecretStore:
        store = LazySecretStore(self._directory / "passwords.json", timeout=0.5)
        self.stores.append(store)
        return store

    async def leave(self) -> None:
        """Leave the bus: it answers the calls still waiting with an error, so the stuck
        keyring calls end."""
        await close_message_bus(self.bus)
        for store in self.stores:
            await eventually(lambda s=store: not s._thread.stuck, what="the stuck call to end")
            # One more call through the keyring thread: once it has run, the thread holds
            # nothing of the call before (its frame, its connection) any more.
            await store._thread.run("sync", lambda: None, 30.0)
        # keyring leaves the D-Bus connection of a call that failed unclosed (a
        # ResourceWarning when collected): collect it now, inside the test.
        gc.collect()

    def _swallow(self, msg: Message) -> bool:
        if msg.message_type is MessageType.METHOD_CALL:
            self.calls.append(f"{msg.interface}.{msg.member}")
            return True  # handled: no reply, ever
        return False


@pytest.fixture
async def silent_keyring(
    dbus_bus: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[SilentSecretService]:
    # keyring picks its backend once per process: let it look again, on this bus.
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    bus = await MessageBus(bus_address=dbus_bus.address).connect()
    service = SilentSecretService(bus, tmp_path)
    try:
        await bus.request_name("org.freedesktop.secrets")
        yield service
    finally:
        await service.leave()


silent = pytest.mark.filterwarnings("ignore::ResourceWarning")  # see leave()


@silent
async def test_a_keyring_that_never_answers_blocks_nothing(
    silent_keyring: SilentSecretService, tmp_path: Path
) -> None:
    path = tmp_path / "passwords.json"
    store = silent_keyring.store()
    # The service runs on this test's event loop: it can only see the call because the
    # keyring call does not run on the loop.
    saving = asyncio.ensure_future(store.set_password("a@x.org", "pw"))
    await eventually(lambda: silent_keyring.calls, what="the keyring to be asked")
    await saving  # gave up on the keyring, kept it in the file
    assert json.loads(path.read_text()) == {"a@x.org": "pw"}
    # Read from the file, without asking the keyring (which is still busy).
    asked = len(silent_keyring.calls)
    assert await store.get_password("a@x.org") == "pw"
    # Not in the file: the keyring would have to tell, and cannot.
    with pytest.raises(PasswordUnavailable, match=r"keyring did not give the password of b@x\.org"):
        await store.get_password("b@x.org")
    await store.set_password("b@x.org", "pw2")
    await store.delete_password("a@x.org")
    assert json.loads(path.read_text()) == {"b@x.org": "pw2"}
    assert len(silent_keyring.calls) == asked  # nothing more was sent to it


@silent
async def test_the_keyring_is_asked_again_once_its_stuck_call_ends(
    silent_keyring: SilentSecretService,
) -> None:
    store = silent_keyring.store()
    with pytest.raises(PasswordUnavailable):
        await store.get_password("a@x.org")
    with pytest.raises(PasswordUnavailable, match="not finished reading"):
        await store.get_password("a@x.org")  # at once: nothing waits behind it
    # The service goes away: the call ends with an error, and the store stops using the
    # keyring (there is none now).
    await silent_keyring.leave()
    assert await store.get_password("a@x.org") is None
    await store.set_password("a@x.org", "pw")
    assert await store.get_password("a@x.org") == "pw"


async def test_a_password_file_that_holds_no_object_is_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    path.write_text('["not", "passwords"]', encoding="utf-8")
    store = FileSecretStore(path)
    assert await store.get_password("a@example.org") is None
    await store.set_password("a@example.org", "pw")
    assert json.loads(path.read_text(encoding="utf-8")) == {"a@example.org": "pw"}


async def test_a_read_only_folder_leaves_the_file_untouched_and_raises_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "passwords.json"
    path.write_text(json.dumps({"a@example.org": "old"}), encoding="utf-8")
    path.chmod(0o644)
    store = FileSecretStore(path)
    with read_only(folder):
        assert await store.get_password("a@example.org") == "old"
        await store.set_password("b@example.org", "new")
        await store.delete_password("a@example.org")
        assert json.loads(path.read_text(encoding="utf-8")) == {"a@example.org": "old"}
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
