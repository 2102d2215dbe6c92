"""Self-tests of the test rig: each checks that a rig piece works *and* can fail.

If one of these fails, fix the rig (``tests/rig``, ``tests/conftest.py``) before trusting
any other test result. They cover: TLS against the rig CA (direct TLS and hand-made
STARTTLS), rejection of an untrusted certificate, accounts that authenticate (slixmpp),
restart/stop/pause of a private server, the private D-Bus, environment isolation, the
qasync loop under async tests, and (in a nested pytest run) that a hung async test and a
test that breaks the shared server are reported as failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import qasync
from dbus_next.aio.message_bus import MessageBus
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from rig.certs import RigPki, ServerCert, pem_fingerprint, sha256_fingerprint
from rig.dbus import PrivateSessionBus, close_message_bus
from rig.isolation import IsolatedEnv
from rig.peer import LoginFailed, XmppPeer
from rig.procs import OWNER_ENV
from rig.prosody import ProsodyError, ProsodyServer, free_port

TESTS_DIR = Path(__file__).resolve().parents[1]
STREAM_HEADER = (
    "<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client'"
    " xmlns:stream='http://etherx.jabber.org/streams'>"
)


async def _read_until(reader: asyncio.StreamReader, marker: bytes, timeout: float = 5.0) -> bytes:
    data = b""
    async with asyncio.timeout(timeout):
        while marker not in data:
            chunk = await reader.read(4096)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}; got {data!r}")
            data += chunk
    return data


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()


def _pids_owned_by(owner: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"{OWNER_ENV}={owner}".encode() in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


# --------------------------------------------------------------------------- TLS


async def test_direct_tls_verifies_against_rig_ca(prosody: ProsodyServer, ca_env: Path) -> None:
    ctx = ssl.create_default_context()  # trusts only the rig CA (ca_env)
    reader, writer = await asyncio.open_connection(
        prosody.host, prosody.direct_tls_port, ssl=ctx, server_hostname=prosody.domain
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        der = ssl_object.getpeercert(binary_form=True)
        assert der is not None
        assert sha256_fingerprint(der) == prosody.server_cert_fingerprint
        writer.write(STREAM_HEADER.format(domain=prosody.domain).encode())
        features = await _read_until(reader, b"</stream:features>")
        assert b"SCRAM-SHA-1" in features  # SASL offered only because TLS is up
        writer.write(b"</stream:stream>")
        await writer.drain()
    finally:
        await _close(writer)


async def test_starttls_by_hand(prosody: ProsodyServer) -> None:
    reader, writer = await asyncio.open_connection(prosody.host, prosody.port)
    try:
        writer.write(STREAM_HEADER.format(domain=prosody.domain).encode())
        features = await _read_until(reader, b"</stream:features>")
        assert b"urn:ietf:params:xml:ns:xmpp-tls" in features
        assert b"PLAIN" not in features  # no auth before TLS (c2s_require_encryption)
        writer.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        assert b"<proceed" in await _read_until(reader, b"/>")
        await writer.start_tls(ssl.create_default_context(), server_hostname=prosody.domain)
        writer.write(STREAM_HEADER.format(domain=prosody.domain).encode())
        features = await _read_until(reader, b"</stream:features>")
        assert b"urn:ietf:params:xml:ns:xmpp-sasl" in features
        writer.write(b"</stream:stream>")
        await writer.drain()
    finally:
        await _close(writer)


def test_rig_certificate_names_and_fingerprint(rig_pki: RigPki) -> None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(rig_pki.server.cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "conference.localhost"}
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    fingerprint = pem_fingerprint(rig_pki.server.cert_path)
    assert fingerprint == rig_pki.server.fingerprint
    assert len(fingerprint) == 64
    assert fingerprint == fingerprint.lower()
    assert ":" not in fingerprint


def test_untrusted_certificate_is_rejected(
    prosody_untrusted: ProsodyServer, untrusted_cert: ServerCert
) -> None:
    address = (prosody_untrusted.host, prosody_untrusted.direct_tls_port)
    # A default context (trusting only the rig CA here, via ca_env) must refuse it ...
    with (
        socket.create_connection(address, timeout=5) as sock,
        pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate"),
    ):
        ssl.create_default_context().wrap_socket(sock, server_hostname="localhost")
    # ... but it is a working TLS server, and its fingerprint is the one the rig reports.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(address, timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    assert sha256_fingerprint(der) == prosody_untrusted.server_cert_fingerprint
    assert untrusted_cert.fingerprint == prosody_untrusted.server_cert_fingerprint


def test_rig_ca_not_trusted_without_ca_env(
    prosody: ProsodyServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``ca_env`` the rig server is just as untrusted: the CA is really used."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SSL_CERT_DIR", str(empty))  # undo ca_env (part of 'prosody')
    monkeypatch.setenv("SSL_CERT_FILE", str(empty / "none.pem"))
    address = (prosody.host, prosody.direct_tls_port)
    with (
        socket.create_connection(address, timeout=5) as sock,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(sock, server_hostname="localhost")


# --------------------------------------------------------------------------- accounts


async def test_registered_user_can_log_in(prosody: ProsodyServer) -> None:
    jid, password = prosody.make_user("alice")
    assert jid.endswith("@localhost")
    async with XmppPeer(prosody, jid, password) as alice:
        assert alice.client.authenticated
    async with XmppPeer(prosody, jid, password, direct_tls=True) as alice_tls:
        assert alice_tls.client.authenticated


async def test_wrong_password_and_unknown_user_fail(prosody: ProsodyServer) -> None:
    jid, _ = prosody.make_user("carol")
    with pytest.raises(LoginFailed, match="authentication failed"):
        await XmppPeer(prosody, jid, "wrong password").login()
    with pytest.raises(LoginFailed, match="authentication failed"):
        await XmppPeer(prosody, f"{prosody.unique_name('nobody')}@localhost", "x").login()


async def test_untrusted_server_fails_login(prosody_untrusted: ProsodyServer) -> None:
    jid, password = prosody_untrusted.make_user("dave")
    with pytest.raises(LoginFailed, match=r"certificate rejected|connection failed|disconnected"):
        await XmppPeer(prosody_untrusted, jid, password).login(timeout=10)


async def test_peers_exchange_a_message(prosody: ProsodyServer) -> None:
    alice_jid, alice_pw = prosody.make_user("alice")
    bob_jid, bob_pw = prosody.make_user("bob")
    async with (
        XmppPeer(prosody, alice_jid, alice_pw) as alice,
        XmppPeer(prosody, bob_jid, bob_pw) as bob,
    ):
        alice.send_chat(bob_jid, "hello bob")
        message = await bob.next_message(timeout=10)
        assert message["body"] == "hello bob"
        assert message["from"].bare == alice_jid


def test_make_user_names_are_unique(prosody: ProsodyServer) -> None:
    jids = {prosody.make_user("same")[0] for _ in range(3)}
    assert len(jids) == 3


# --------------------------------------------------------------------------- lifecycle


async def test_restart_keeps_users_and_ports(prosody_own: ProsodyServer) -> None:
    jid, password = prosody_own.make_user("erin")
    ports = (prosody_own.port, prosody_own.direct_tls_port)
    old_pid = prosody_own.pid
    await prosody_own.arestart()
    assert (prosody_own.port, prosody_own.direct_tls_port) == ports
    assert prosody_own.pid != old_pid
    async with XmppPeer(prosody_own, jid, password) as erin:
        assert erin.client.authenticated
    prosody_own.restart(graceful=False)  # abrupt variant works too
    async with XmppPeer(prosody_own, jid, password):
        pass


def test_stop_refuses_connections_and_start_reuses_port(prosody_own: ProsodyServer) -> None:
    port = prosody_own.port
    prosody_own.stop()
    assert not prosody_own.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((prosody_own.host, port), timeout=5).close()
    prosody_own.start()
    assert prosody_own.port == port
    socket.create_connection((prosody_own.host, port), timeout=5).close()


def test_pause_silences_the_server_and_resume_revives_it(prosody_own: ProsodyServer) -> None:
    prosody_own.pause()
    header = STREAM_HEADER.format(domain=prosody_own.domain).encode()
    with socket.create_connection((prosody_own.host, prosody_own.port), timeout=5) as sock:
        sock.sendall(header)  # the kernel still accepts; Prosody does not answer
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        prosody_own.resume()
        sock.settimeout(5)
        assert b"stream:stream" in sock.recv(4096)


def test_crash_and_shell(prosody_own: ProsodyServer) -> None:
    assert "0.12" in prosody_own.shell("server:version()")
    with pytest.raises(ProsodyError):
        prosody_own.shell("no_such_thing:at_all()")
    pid = prosody_own.pid
    assert pid is not None
    prosody_own.crash()
    assert not prosody_own.running
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_broken_config_fails_fast_with_log(tmp_path: Path, rig_pki: RigPki) -> None:
    server = ProsodyServer(
        tmp_path / "broken", cert=rig_pki.server, extra_global_config="this is not lua ("
    )
    started = time.monotonic()
    try:
        with pytest.raises(ProsodyError, match=r"(?s)exited during startup.*prosody\.out"):
            server.start()
    finally:
        server.cleanup()
    assert time.monotonic() - started < 10
    assert not server.running


def test_missing_certificate_is_reported(tmp_path: Path, rig_pki: RigPki) -> None:
    bogus = ServerCert(
        cert_path=tmp_path / "missing.crt",
        key_path=tmp_path / "missing.key",
        ca_cert_path=rig_pki.ca_cert_path,
        fingerprint="0" * 64,
        self_signed=False,
    )
    server = ProsodyServer(tmp_path / "nocert", cert=bogus, startup_timeout=10)
    try:
        with pytest.raises(ProsodyError, match="Prosody"):
            server.start()
    finally:
        server.cleanup()


def test_port_taken_between_pick_and_bind_is_retried(
    tmp_path: Path, rig_pki: RigPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ProsodyServer(tmp_path / "clash", cert=rig_pki.server, log_level="warn")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picks = iter([(taken, free_port()), (free_port(), free_port())])
        monkeypatch.setattr(server, "_pick_ports", lambda: next(picks))
        try:
            server.start()
            assert server.port != taken
            assert "Failed to open server port" in server.output_path.read_text() + (
                server.log_path.read_text() if server.log_path.exists() else ""
            )
        finally:
            server.cleanup()


# --------------------------------------------------------------------------- d-bus


async def test_private_bus_answers_list_names(dbus_bus: PrivateSessionBus) -> None:
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == dbus_bus.address
    bus = await MessageBus(bus_address=dbus_bus.address).connect()
    try:
        reply_names = await bus.introspect("org.freedesktop.DBus", "/org/freedesktop/DBus")
        assert any(i.name == "org.freedesktop.DBus" for i in reply_names.interfaces)
        proxy = bus.get_proxy_object("org.freedesktop.DBus", "/org/freedesktop/DBus", reply_names)
        dbus = proxy.get_interface("org.freedesktop.DBus")
        names = await dbus.call_list_names()  # type: ignore[attr-defined]
        assert "org.freedesktop.DBus" in names
        assert bus.unique_name in names
        activatable = await dbus.call_list_activatable_names()  # type: ignore[attr-defined]
        assert "org.freedesktop.secrets" not in activatable
    finally:
        await close_message_bus(bus)


def test_private_bus_with_dbus_send(dbus_bus: PrivateSessionBus) -> None:
    result = subprocess.run(
        [
            "dbus-send",
            f"--bus={dbus_bus.address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert '"org.freedesktop.DBus"' in result.stdout
    address = dbus_bus.address
    dbus_bus.stop()
    assert not dbus_bus.running
    stopped = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert stopped.returncode != 0


def test_no_session_bus_without_the_fixture() -> None:
    address = os.environ["DBUS_SESSION_BUS_ADDRESS"]
    assert address.startswith("unix:path=")
    assert "no-session-bus" in address
    # (Not via dbus_next: its MessageBus() constructor connects and leaks the socket when
    # that fails -- a ResourceWarning, i.e. an error here. See rig.dbus.)
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        pytest.raises(FileNotFoundError),
    ):
        sock.connect(address.removeprefix("unix:path="))
    assert os.environ["DBUS_SYSTEM_BUS_ADDRESS"].endswith("no-system-bus")


# --------------------------------------------------------------------------- isolation


def test_environment_is_isolated(isolated_env: IsolatedEnv, tmp_path: Path) -> None:
    for var, path in {
        "XDG_CONFIG_HOME": isolated_env.config_home,
        "XDG_DATA_HOME": isolated_env.data_home,
        "XDG_STATE_HOME": isolated_env.state_home,
        "XDG_CACHE_HOME": isolated_env.cache_home,
        "HOME": isolated_env.home,
    }.items():
        assert Path(os.environ[var]) == path
        assert path.is_relative_to(tmp_path)
        assert path.is_dir()
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    assert runtime == isolated_env.runtime_dir
    assert runtime.stat().st_mode & 0o777 == 0o700
    assert len(str(runtime / "some-app-socket-name.sock")) < 100
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    assert QApplication.platformName() == "offscreen"


# --------------------------------------------------------------------------- event loop


class _Emitter(QObject):
    fired = Signal(str)


async def test_async_test_runs_on_qasync(qtbot: QtBot, qapp: QApplication) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, qasync.QEventLoop)

    await asyncio.sleep(0.01)

    # loop.run_in_executor / to_thread run on worker threads
    main = threading.get_ident()
    assert await loop.run_in_executor(None, threading.get_ident) != main
    assert await asyncio.to_thread(sum, [1, 2, 3]) == 6

    # TCP through the loop, both ends
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping\n")
        assert await reader.readline() == b"ping\n"
        writer.close()
        await writer.wait_closed()

    # Qt signals and timers drive asyncio futures (one loop for both)
    emitter = _Emitter()
    got: asyncio.Future[str] = loop.create_future()
    emitter.fired.connect(got.set_result)
    QTimer.singleShot(10, lambda: emitter.fired.emit("from Qt"))
    assert await asyncio.wait_for(got, 5) == "from Qt"
    emitter.fired.disconnect(got.set_result)

    # qtbot works in the same test, including its nested-loop waits
    button = QPushButton("Send")
    qtbot.addWidget(button)
    clicked: list[bool] = []
    button.clicked.connect(lambda: clicked.append(True))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert clicked == [True]
    with qtbot.waitSignal(emitter.fired, timeout=2000):
        loop.call_later(0.01, emitter.fired.emit, "from asyncio")


def test_sync_test_has_no_running_loop(qtbot: QtBot) -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    button = QPushButton("x")
    qtbot.addWidget(button)
    with qtbot.waitSignal(button.clicked, timeout=1000):
        QTimer.singleShot(0, button.click)


# --------------------------------------------------------------------------- the rig fails


@pytest.mark.slow
def test_rig_reports_hangs_and_broken_shared_server(tmp_path: Path) -> None:
    """Run a nested pytest with failing tests; the rig must turn them into failures."""
    shutil.copy(TESTS_DIR / "conftest.py", tmp_path / "conftest.py")
    shutil.copytree(
        TESTS_DIR / "rig", tmp_path / "rig", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "test_meta.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            import pytest

            @pytest.mark.timeout(4)
            async def test_hangs():
                await asyncio.Event().wait()

            def test_breaks_shared(prosody):
                prosody.pause()

            def test_after(prosody):
                assert prosody.running and not prosody.paused

            async def test_ok():
                await asyncio.sleep(0)

            @pytest.fixture
            async def stuck_teardown():
                yield
                await asyncio.Event().wait()

            @pytest.mark.timeout(3)
            async def test_teardown_hangs(stuck_teardown):
                pass

            @pytest.fixture
            async def stuck_after_failure():
                yield
                await asyncio.Event().wait()

            @pytest.mark.timeout(3)
            async def test_fails_then_teardown_hangs(stuck_after_failure):
                assert False, "plain failure"

            @pytest.mark.timeout(2)
            def test_sync_hang():
                import time
                time.sleep(60)
            """
        )
    )
    pyproject = TESTS_DIR.parent / "pyproject.toml"
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(pyproject),
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            "-q",
            str(tmp_path / "test_meta.py"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert time.monotonic() - started < 60, out
    assert "the test rig cancelled the event loop's tasks, which ended the call phase" in out, out
    assert "asyncio.Event().wait()" in out, out  # the stack of the hung task
    assert "use 'prosody_own'" in out, out
    assert "ended the teardown phase" in out, out
    assert "Timeout (>2.0s) from pytest-timeout" in out, out
    assert "3 failed, 4 passed, 3 errors" in out, out
    assert _pids_owned_by(proc.pid) == [], "nested run left rig processes behind"
