"""Shared pytest setup for Chinwag: isolation, the Qt/asyncio loop, and the test rig.

Isolation (always on)
    * ``QT_QPA_PLATFORM=offscreen`` for the whole session (no display needed).
    * For the whole session, and again per test (autouse fixture :func:`isolated_env`),
      ``HOME``, ``XDG_CONFIG_HOME``, ``XDG_DATA_HOME``, ``XDG_STATE_HOME``,
      ``XDG_CACHE_HOME`` and ``XDG_RUNTIME_DIR`` point into temporary directories, so
      nothing can read or write the user's real configuration, data, keyring files or
      sockets.
    * ``DBUS_SESSION_BUS_ADDRESS`` and ``DBUS_SYSTEM_BUS_ADDRESS`` point at sockets that do
      not exist, so a test can reach no real bus (and hence no real Secret Service); a test
      that wants a bus asks for ``dbus_bus``, a private ``dbus-daemon``. Keyring is left
      alone: with no bus its Secret Service backend is unusable and the app must cope.

Async tests
    ``async def test_...`` (``asyncio_mode = "auto"``) run on a qasync ``QEventLoop`` bound
    to pytest-qt's ``qapp`` (see :mod:`rig.qtloop`), via pytest-asyncio's
    ``pytest_asyncio_loop_factories`` hook below. Inside such a test ``await`` anything,
    use ``loop.run_in_executor``/``asyncio.to_thread`` (qasync runs them on QThreads) and
    ``qtbot`` for widgets; prefer ``await``-ing (e.g. a future set from a slot) over
    ``qtbot.waitSignal``/``waitUntil``, which spin a nested Qt loop (that works, since the
    nested loop also runs asyncio callbacks, but it is re-entrant). At the pytest-timeout
    limit a test (or async fixture) stuck in the loop has its tasks cancelled and fails
    with their stacks; one that stays stuck ends the run (see rig.qtloop.LoopAwareTimeout).

Rig fixtures (``tests/rig``)
    ``rig_pki``, ``untrusted_cert``, ``ca_env``, ``prosody``, ``prosody_own``,
    ``prosody_factory``, ``prosody_untrusted``, ``dbus_bus``, ``isolated_env``. Tests using
    the Prosody fixtures are marked ``prosody`` and those using ``dbus_bus`` ``dbus``
    automatically, so ``-m "not prosody"`` deselects them.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import shutil
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rig.certs import RigPki, ServerCert, make_rig_pki, make_untrusted_cert
from rig.dbus import PrivateSessionBus, stop_all_buses
from rig.isolation import ISOLATED_VARS, IsolatedEnv, isolated_env_from, isolation_environ
from rig.procs import make_temp_dir, reap_orphans
from rig.prosody import PROSODY_BIN, ProsodyServer, stop_all
from rig.qtloop import LoopAwareTimeout, SignalWakeup, TimeoutRecord, new_qasync_loop

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # read when the QApplication is created

_PROSODY_FIXTURES = frozenset(
    {
        "prosody",
        "prosody_own",
        "prosody_factory",
        "prosody_untrusted",
        "_prosody_shared",
        "prosody_files",
    }
)
_TIMEOUT_RECORD = pytest.StashKey[TimeoutRecord]()
_TIMEOUT_GUARD = pytest.StashKey[LoopAwareTimeout]()
_CURRENT_ITEM: list[pytest.Item] = []  # the item whose protocol is running (for pdb)


@dataclass
class _SessionIsolation:
    directory: Path
    saved_environ: dict[str, str | None]


_SESSION_ISOLATION = pytest.StashKey[_SessionIsolation]()


# --------------------------------------------------------------------------- session hooks


def pytest_configure(config: pytest.Config) -> None:
    """Isolate the whole session before any fixture (pytest-qt's qapp included) runs."""
    reap_orphans()
    directory = make_temp_dir("session")
    runtime = directory / "run"
    runtime.mkdir(mode=0o700)
    env = isolation_environ(directory / "home", runtime)
    saved = {key: os.environ.get(key) for key in ISOLATED_VARS}
    os.environ.update(env)
    config.stash[_SESSION_ISOLATION] = _SessionIsolation(directory, saved)
    atexit.register(_stop_rig_children)


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_rig_children()
    isolation = config.stash.get(_SESSION_ISOLATION, None)
    if isolation is None:
        return
    del config.stash[_SESSION_ISOLATION]
    for key, value in isolation.saved_environ.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(isolation.directory, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the rig services they use (``-m "not prosody"`` etc.)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _PROSODY_FIXTURES:
            item.add_marker(pytest.mark.prosody)
        if "dbus_bus" in names:
            item.add_marker(pytest.mark.dbus)


# --------------------------------------------------------------------------- async tests


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Run every async test (and async fixture) on a qasync loop over the QApplication."""
    return {"qasync": new_qasync_loop}


@pytest.fixture(scope="session", autouse=True)
def _qapp_for_loops(qapp: Any) -> Iterator[Any]:
    """Create pytest-qt's QApplication before any loop factory needs it.

    Also route signals into the Qt loop, so timeouts can interrupt a test sitting in it.
    """
    wakeup = SignalWakeup()
    try:
        yield qapp
    finally:
        wakeup.close()


@pytest.fixture(autouse=True)
def _collect_garbage_in_main_thread() -> Iterator[None]:
    """After each test (and after its loop is closed), collect garbage in the main thread.

    A closed qasync loop, like any Qt object in a reference cycle, is freed by Python's
    cyclic GC, which runs in whichever thread happens to allocate. If that is a worker
    (``asyncio.to_thread`` runs on qasync QThreads) the QObjects die in the wrong thread:
    "QObject::~QObject: Timers cannot be stopped from another thread" and segfaults later.
    This fixture is set up before the pytest-asyncio runner, so it is torn down after it.
    """
    yield
    gc.collect()


def _stop_rig_children() -> None:
    stop_all()
    stop_all_buses()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """Use the loop-aware variant of pytest-timeout's "signal" method (rig.qtloop)."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own implementation
    record = TimeoutRecord(seconds=settings.timeout)
    guard = LoopAwareTimeout(item, settings, record, before_exit=_stop_rig_children)
    item.stash[_TIMEOUT_RECORD] = record
    item.stash[_TIMEOUT_GUARD] = guard
    guard.start()
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    """Keep the rig's timer running until the end of the test's protocol.

    pytest-timeout also cancels its timer at the first failure (from
    ``pytest_exception_interact``), which leaves the teardown after a failed test without
    any timeout -- and async fixture teardowns are where shutdown hangs show up. The rig's
    timer is cancelled by :func:`pytest_runtest_protocol` below, or when pdb starts.
    """
    return True if _TIMEOUT_GUARD in item.stash else None


def _cancel_guard(item: pytest.Item) -> None:
    guard = item.stash.get(_TIMEOUT_GUARD, None)
    if guard is not None:
        guard.cancel()
        del item.stash[_TIMEOUT_GUARD]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _CURRENT_ITEM[:] = [item]
    try:
        return (yield)
    finally:
        _cancel_guard(item)
        _CURRENT_ITEM.clear()


def pytest_enter_pdb(config: pytest.Config) -> None:
    """No timeout while someone debugs."""
    for item in _CURRENT_ITEM:
        _cancel_guard(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Explain a CancelledError that the rig's timeout caused."""
    report = yield
    record = item.stash.get(_TIMEOUT_RECORD, None)
    if (
        record is not None
        and record.cancelled_tasks
        and report.failed
        and call.excinfo is not None
        and call.excinfo.errisinstance(asyncio.CancelledError)
    ):
        report.longrepr = (
            f"Timeout: still running after {record.seconds:g}s (pytest-timeout); the test rig "
            f"cancelled the event loop's tasks, which ended the {call.when} phase. Their "
            f"stacks then:\n{record.stacks}"
        )
    return report


# --------------------------------------------------------------------------- isolation


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IsolatedEnv]:
    """Per-test HOME, XDG dirs, runtime dir and unreachable D-Bus addresses.

    ``XDG_RUNTIME_DIR`` is a short directory under /tmp (mode 0700) because unix socket
    paths are limited to 108 bytes; it is removed after the test.
    Example: ``def test_x(isolated_env): assert (isolated_env.config_home / "chinwag").is_dir()``
    """
    runtime = make_temp_dir("run")
    try:
        env = isolation_environ(tmp_path / "home", runtime)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield isolated_env_from(env)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


# --------------------------------------------------------------------------- certificates


@pytest.fixture(scope="session")
def rig_pki(tmp_path_factory: pytest.TempPathFactory) -> RigPki:
    """The rig CA and the server certificate it signed (session-wide, made once)."""
    return make_rig_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def untrusted_cert(tmp_path_factory: pytest.TempPathFactory) -> ServerCert:
    """A self-signed server certificate for localhost that nobody trusts."""
    return make_untrusted_cert(tmp_path_factory.mktemp("untrusted-pki"))


@pytest.fixture
def ca_env(rig_pki: RigPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the rig CA the *only* CA that default SSL contexts trust; returns its path.

    Sets ``SSL_CERT_FILE`` to the CA and ``SSL_CERT_DIR`` to an empty directory (the host
    may set it to the system store). Python's ``ssl.create_default_context()`` reads both
    each time a context is made, so set this up before creating clients (slixmpp builds its
    context in the constructor).
    """
    empty = tmp_path / "empty-ssl-cert-dir"
    empty.mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(rig_pki.ca_cert_path))
    monkeypatch.setenv("SSL_CERT_DIR", str(empty))
    return rig_pki.ca_cert_path


# --------------------------------------------------------------------------- prosody


def _require_prosody() -> None:
    if not Path(PROSODY_BIN).exists():
        pytest.fail(f"{PROSODY_BIN} is missing: install Debian's 'prosody' package", pytrace=False)


@pytest.fixture(scope="session")
def _prosody_shared(
    rig_pki: RigPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProsodyServer]:
    _require_prosody()
    server = ProsodyServer(tmp_path_factory.mktemp("prosody-shared"), cert=rig_pki.server)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def prosody(_prosody_shared: ProsodyServer, ca_env: Path) -> Iterator[ProsodyServer]:
    """The session-wide Prosody; clients trust it (``ca_env``). Do not stop/pause it.

    Make accounts with ``prosody.make_user("alice")`` (names are unique per call). A test
    that stops, restarts or pauses the server must use ``prosody_own``; one that leaves the
    shared server down fails in teardown (and the server is restarted for the next test).
    Example: ``jid, pw = prosody.make_user("alice"); connect(prosody.host, prosody.port)``
    """
    server = _prosody_shared
    if not server.running or server.paused:  # a previous test broke it
        server.cleanup()
        server.start()
    yield server
    if not server.running or server.paused:
        server.cleanup()
        server.start()
        pytest.fail(
            "the test stopped or paused the shared 'prosody' server; use 'prosody_own'",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def _prosody_files_shared(
    rig_pki: RigPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProsodyServer]:
    _require_prosody()
    server = ProsodyServer(
        tmp_path_factory.mktemp("prosody-files"), cert=rig_pki.server, file_share=True
    )
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def prosody_files(_prosody_files_shared: ProsodyServer, ca_env: Path) -> ProsodyServer:
    """A session-wide Prosody with the XEP-0363 upload component (``upload.localhost``,
    mod_http_file_share on ``https_port``, limit ``file_share_size_limit``); clients trust
    it (``ca_env``). Only tests that ask for it start it. Do not stop/pause it."""
    server = _prosody_files_shared
    if not server.running or server.paused:
        server.cleanup()
        server.start()
    return server


@pytest.fixture
def prosody_factory(
    rig_pki: RigPki, tmp_path: Path, ca_env: Path
) -> Iterator[Callable[..., ProsodyServer]]:
    """Start extra private servers: ``prosody_factory(**ProsodyServer kwargs)``.

    Each call makes a started server in its own directory under ``tmp_path``; all are
    killed after the test. Defaults to the rig certificate (trusted via ``ca_env``).
    Example: ``srv = prosody_factory(extra_global_config='c2s_timeout = 5')``
    """
    _require_prosody()
    servers: list[ProsodyServer] = []

    def make(**kwargs: Any) -> ProsodyServer:
        kwargs.setdefault("cert", rig_pki.server)
        server = ProsodyServer(tmp_path / f"prosody-{len(servers)}", **kwargs)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.cleanup()


@pytest.fixture
def prosody_own(prosody_factory: Callable[..., ProsodyServer]) -> ProsodyServer:
    """A private, started Prosody for this test only: stop/restart/pause it at will.

    Example: ``prosody_own.restart()`` (same ports, users and archives survive);
    ``await prosody_own.arestart()`` keeps the event loop running meanwhile.
    """
    return prosody_factory()


@pytest.fixture
def prosody_untrusted(
    prosody_factory: Callable[..., ProsodyServer], untrusted_cert: ServerCert
) -> ProsodyServer:
    """A private Prosody presenting a self-signed certificate clients must reject.

    Its ``server_cert_fingerprint`` is what a user would pin to accept it anyway.
    """
    return prosody_factory(cert=untrusted_cert)


# --------------------------------------------------------------------------- d-bus


@pytest.fixture
def dbus_bus(
    isolated_env: IsolatedEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PrivateSessionBus]:
    """A private session bus; ``DBUS_SESSION_BUS_ADDRESS`` points at it during the test.

    It has no activatable services (so no Secret Service). Example:
    ``bus = await dbus_next.aio.MessageBus(bus_address=dbus_bus.address).connect()`` and
    ``await rig.dbus.close_message_bus(bus)`` at the end (dbus-next leaks its socket
    otherwise, a ResourceWarning, i.e. an error here).
    """
    bus = PrivateSessionBus()
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.start())
        yield bus
    finally:
        bus.stop()
