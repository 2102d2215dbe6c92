"""A real Prosody 0.12 XMPP server for tests, run from a temporary directory.

Usage (the ``prosody`` / ``prosody_own`` fixtures in ``tests/conftest.py`` do this)::

    server = ProsodyServer(tmp_path / "prosody", cert=pki.server)
    server.start()                       # blocks until the server answers XMPP
    jid, password = server.make_user("alice")
    ...                                  # connect to server.host:server.port (STARTTLS)
    server.restart()                     # same ports, same data: users/archives survive
    server.restart(graceful=False)       # ... after an abrupt death instead of a shutdown
    server.pause(); server.resume()      # SIGSTOP/SIGCONT: silent but sockets stay open
    server.crash()                       # SIGKILL: no stream error, no goodbye
    server.shell('c2s:close("alice@localhost")')   # any admin-shell command
    await server.arestart()              # astart/astop/arestart: in a worker thread, so
                                         # the test's event loop keeps running meanwhile
    server.stop()                        # graceful: clients get <system-shutdown/>

Layout of the server directory::

    prosody.cfg.lua   generated config (see :meth:`ProsodyServer.config_text`)
    prosody.log       Prosody's own log, info level (``log_tail()`` shows its end)
    prosody.out       stdout/stderr of the process (Lua errors before logging starts)
    data/             accounts, rosters, MAM archives (internal storage, plain files)
    certs/            empty on purpose: stops Prosody's certificate auto-discovery

Server facts worth knowing when writing tests:

* Virtual host ``localhost`` (``domain``), MUC component ``conference.localhost``
  (``muc_domain``) with ``muc_mam``, and ``muc_moderation`` (XEP-0425) when Debian's
  ``prosody-modules`` is installed (``tests/run.sh`` installs it): its folder is added to
  ``plugin_paths`` (see :func:`community_module_dir`).
* c2s on ``port`` (STARTTLS, encryption required) and ``direct_tls_port`` (XEP-0368), both
  on 127.0.0.1 only; no s2s, no HTTP -- unless ``file_share=True``: then the XEP-0363
  upload component ``upload.<domain>`` (``mod_http_file_share``, size limit
  ``file_share_size_limit``) serves https on ``https_port`` (127.0.0.1, the rig
  certificate), its URLs ``https://<domain>:<https_port>/file_share/...``.
* In-band registration is on. Its throttle (``mod_register_limits``) is inactive: 0.12 only
  throttles when ``min_seconds_between_registrations`` or ``registration_throttle_max`` is
  set (neither is), and 127.0.0.1 is on the default ``registration_allowlist`` anyway.
* ``storage_archive_item_limit = 10000000``: the default (1000-10000 items) makes archive
  writes collapse on big histories. ``archive_expires_after = "never"``.
* Defaults kept: ``c2s_stanza_size_limit`` 256 KiB once authenticated (10 000 bytes before
  auth), ``max_archive_query_results`` 50 items per MAM page, ``c2s_timeout`` 300 s for
  unauthenticated sessions, ``smacks_max_queue_size`` 500.
* ``smacks_hibernation_time = 60`` s.
* ``mod_limits`` (rate limiting) is not loaded; ``posix`` and ``s2s`` are disabled
  (``run_as_root`` needs ``posix`` off). Prosody runs in the foreground in its own
  process group; :meth:`stop` kills the whole group.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from rig.certs import ServerCert
from rig.procs import kill_group, make_temp_dir, signal_group, spawn

PROSODY_BIN = "/usr/bin/prosody"
PROSODYCTL_BIN = "/usr/bin/prosodyctl"
STARTUP_TIMEOUT = 20.0
#: mod_http_file_share's largest upload when a test asks for the upload component.
FILE_SHARE_SIZE_LIMIT = 25 * 1024 * 1024

DEFAULT_MODULES: tuple[str, ...] = (
    "roster",
    "saslauth",
    "tls",
    "disco",
    "carbons",
    "pep",
    "private",
    "blocklist",
    "vcard4",
    "vcard_legacy",
    "version",
    "uptime",
    "time",
    "ping",
    "register",
    "mam",
    "smacks",
    "csi_simple",
    "admin_shell",
)

#: The MUC component's modules: always ``muc_mam``; the community modules of
#: :data:`MUC_COMMUNITY_MODULES` where installed.
MUC_MODULES: tuple[str, ...] = ("muc_mam",)
#: Community modules (Debian's ``prosody-modules``) the MUC component loads when installed.
MUC_COMMUNITY_MODULES: tuple[str, ...] = ("muc_moderation",)
#: Where community modules may be: Debian's ``prosody-modules`` puts each in
#: ``/usr/lib/prosody/modules/mod_NAME/mod_NAME.lua``; the others are the usual places of
#: a hand install.
COMMUNITY_MODULE_DIRS: tuple[Path, ...] = (
    Path("/usr/lib/prosody/modules"),
    Path("/usr/share/prosody-modules"),
    Path("/usr/local/lib/prosody/modules"),
)

# Log lines that mean the server came up crippled (it keeps running in these cases).
_FATAL_LOG_PATTERNS = re.compile(
    r"Failed to open server port|Error binding encrypted port|Failed to activate service"
    r"|Error creating TLS context|Error loading module|Unable to load module"
    r"|Error in config file",
)
_PORT_CLASH = re.compile(r"Failed to open server port")  # (the other is a TLS setup error)

# Unix socket paths are limited to 108 bytes; pytest's tmp paths can be longer.
_MAX_SOCKET_PATH = 100

_live_servers: weakref.WeakSet[ProsodyServer] = weakref.WeakSet()


def community_module_dir(name: str, dirs: Iterable[Path] = COMMUNITY_MODULE_DIRS) -> Path | None:
    """The folder holding module ``name`` (``mod_NAME/mod_NAME.lua`` or ``mod_NAME.lua``),
    for ``plugin_paths``; None when it is not installed."""
    for folder in dirs:
        if (folder / f"mod_{name}" / f"mod_{name}.lua").is_file() or (
            folder / f"mod_{name}.lua"
        ).is_file():
            return folder
    return None


class ProsodyError(RuntimeError):
    """Prosody failed to start or to do what it was asked; the message has the log tail."""


def _lua(value: str) -> str:
    """A Lua string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _lua_list(values: Iterable[str]) -> str:
    return "{ " + ", ".join(_lua(v) for v in values) + " }"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ProsodyServer:
    """One Prosody instance living in ``base_dir``; see the module docstring.

    ``cert`` is the server certificate (``rig.certs``); use the rig PKI's for a server that
    clients trust via ``SSL_CERT_FILE``, or an untrusted one to test rejection.
    ``extra_global_config`` / ``extra_host_config`` are Lua snippets appended to the global
    section / the ``VirtualHost`` section.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        cert: ServerCert,
        domain: str = "localhost",
        muc_domain: str | None = None,
        modules: Iterable[str] = DEFAULT_MODULES,
        log_level: str = "info",
        extra_global_config: str = "",
        extra_host_config: str = "",
        startup_timeout: float = STARTUP_TIMEOUT,
        file_share: bool = False,
        file_share_size_limit: int = FILE_SHARE_SIZE_LIMIT,
    ) -> None:
        self.base_dir = base_dir.resolve()
        self.cert = cert
        self._domain = domain
        self._muc_domain = muc_domain if muc_domain is not None else f"conference.{domain}"
        self.modules = tuple(modules)
        self.log_level = log_level
        self.extra_global_config = extra_global_config
        self.extra_host_config = extra_host_config
        self.startup_timeout = startup_timeout
        #: The MUC component's modules, and the folders of those that are community modules.
        self.muc_modules = list(MUC_MODULES)
        self.plugin_paths: list[str] = []
        for name in MUC_COMMUNITY_MODULES:
            folder = community_module_dir(name)
            if folder is not None:
                self.muc_modules.append(name)
                if str(folder) not in self.plugin_paths:
                    self.plugin_paths.append(str(folder))
        #: XEP-0363 upload component (mod_http_file_share) on an https port, when asked.
        self.file_share = file_share
        self.file_share_size_limit = file_share_size_limit
        self._port: int | None = None
        self._direct_tls_port: int | None = None
        self._https_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._user_counter = itertools.count(1)
        self._socket_dir: Path | None = None
        self.last_start_seconds: float | None = None

        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "data").mkdir(exist_ok=True)
        (self.base_dir / "certs").mkdir(exist_ok=True)

    # ------------------------------------------------------------------ properties

    @property
    def domain(self) -> str:
        """The virtual host, also the domain part of every user JID."""
        return self._domain

    @property
    def muc_domain(self) -> str:
        """The MUC component's domain (``conference.<domain>``)."""
        return self._muc_domain

    @property
    def host(self) -> str:
        """The address to connect to (IPv4 loopback)."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The c2s port (plain TCP, then mandatory STARTTLS)."""
        if self._port is None:
            raise ProsodyError("server was never started: no port yet")
        return self._port

    @property
    def direct_tls_port(self) -> int:
        """The XEP-0368 direct-TLS c2s port (TLS from the first byte)."""
        if self._direct_tls_port is None:
            raise ProsodyError("server was never started: no port yet")
        return self._direct_tls_port

    @property
    def upload_domain(self) -> str:
        """The XEP-0363 upload component (``upload.<domain>``; only with ``file_share``)."""
        return f"upload.{self._domain}"

    @property
    def https_port(self) -> int:
        """The https port of the upload component (127.0.0.1; only with ``file_share``)."""
        if self._https_port is None:
            raise ProsodyError("no https port: start a server with file_share=True")
        return self._https_port

    @property
    def ca_cert_path(self) -> Path:
        """The certificate a client must trust to accept this server."""
        return self.cert.ca_cert_path

    @property
    def server_cert_fingerprint(self) -> str:
        """SHA-256 of the server certificate's DER bytes, lowercase hex, no colons."""
        return self.cert.fingerprint

    @property
    def config_path(self) -> Path:
        return self.base_dir / "prosody.cfg.lua"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "prosody.log"

    @property
    def output_path(self) -> Path:
        """stdout/stderr of the Prosody process."""
        return self.base_dir / "prosody.out"

    @property
    def data_path(self) -> Path:
        return self.base_dir / "data"

    @property
    def admin_socket_path(self) -> Path:
        if self._socket_dir is None:
            candidate = self.base_dir / "admin.sock"
            if len(str(candidate)) <= _MAX_SOCKET_PATH:
                self._socket_dir = self.base_dir
            else:
                self._socket_dir = make_temp_dir("prosody")
        return self._socket_dir / "admin.sock"

    @property
    def pid(self) -> int | None:
        """The Prosody process id while it runs (also its process group id)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def paused(self) -> bool:
        return self._paused

    # ------------------------------------------------------------------ config

    def config_text(self) -> str:
        """The Lua config for the current ports and paths."""
        d = self.base_dir
        ssl = (
            f"{{ certificate = {_lua(str(self.cert.cert_path))}, "
            f"key = {_lua(str(self.cert.key_path))} }}"
        )
        log_sink = (
            f'{{ levels = {{ min = {_lua(self.log_level)} }}, to = "file", '
            f"filename = {_lua(str(self.log_path))} }}"
        )
        return f"""\
-- Generated by tests/rig/prosody.py; do not edit (rewritten on every start).
run_as_root = true
daemonize = false
data_path = {_lua(str(d / "data"))}
plugin_paths = {_lua_list(self.plugin_paths)}
log = {{ {log_sink} }}
modules_enabled = {_lua_list(self.modules)}
modules_disabled = {{ "posix", "s2s" }}

c2s_ports = {{ {self.port} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{ {self.direct_tls_port} }}
c2s_direct_tls_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{}}
http_ports = {{}}
{self._https_config(ssl)}
admin_socket = {_lua(str(self.admin_socket_path))}

c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"

allow_registration = true
-- mod_register_limits throttles only if one of these is set; keep them unset.
-- min_seconds_between_registrations, registration_throttle_max
registration_allowlist = {{ "127.0.0.1", "::1" }}

archive_expires_after = "never"
storage_archive_item_limit = 10000000
smacks_hibernation_time = 60

certificates = {_lua(str(d / "certs"))}
ssl = {ssl}
{self.extra_global_config}

VirtualHost {_lua(self.domain)}
  ssl = {ssl}
{self.extra_host_config}

Component {_lua(self.muc_domain)} "muc"
  modules_enabled = {_lua_list(self.muc_modules)}
{self._file_share_component()}"""

    def _https_config(self, ssl: str) -> str:
        if not self.file_share:
            return "https_ports = {}"
        # URLs name localhost (the rig certificate covers it) on our loopback port.
        return (
            f"https_ports = {{ {self.https_port} }}\n"
            'https_interfaces = { "127.0.0.1" }\n'
            f"https_ssl = {ssl}\n"
            f'http_external_url = "https://{self.domain}:{self.https_port}/"'
        )

    def _file_share_component(self) -> str:
        if not self.file_share:
            return ""
        return (
            f'Component {_lua(self.upload_domain)} "http_file_share"\n'
            f"  http_file_share_size_limit = {self.file_share_size_limit:d}\n"
            f"  http_file_share_daily_quota = {100 * self.file_share_size_limit:d}\n"
            f"  http_host = {_lua(self.domain)}\n"
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start Prosody and wait until it answers XMPP on the c2s port.

        The first start picks free loopback ports (and picks again if one was taken in the
        meantime); later starts reuse them. Raises :class:`ProsodyError` with the log tail if
        the server does not come up within ``startup_timeout`` seconds.
        """
        if self.running:
            raise ProsodyError("Prosody is already running")
        first_start = self._port is None
        attempts = 3 if first_start else 1
        for attempt in range(attempts):
            if first_start:
                self._port, self._direct_tls_port = self._pick_ports()
                if self.file_share:
                    self._https_port = free_port()
            try:
                self._start_once()
            except _PortClashError:
                if attempt == attempts - 1:
                    raise
                continue
            return

    def _pick_ports(self) -> tuple[int, int]:
        port = free_port()
        tls_port = free_port()
        while tls_port == port:
            tls_port = free_port()
        return port, tls_port

    def _start_once(self) -> None:
        self.config_path.write_text(self.config_text())
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        started = time.monotonic()
        self._paused = False
        self._proc = spawn(
            [PROSODY_BIN, "--config", str(self.config_path)],
            cwd=self.base_dir,
            output=self.output_path,
            env={"HOME": str(self.data_path)},
        )
        _live_servers.add(self)
        try:
            self._wait_ready(started, log_offset)
        except BaseException:
            self._kill()
            raise
        self.last_start_seconds = time.monotonic() - started

    def _new_log(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _wait_ready(self, started: float, log_offset: int) -> None:
        deadline = started + self.startup_timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ProsodyError(
                    f"Prosody exited during startup with status {self._proc.returncode}\n"
                    + self.diagnostics()
                )
            new_log = self._new_log(log_offset)
            fatal = _FATAL_LOG_PATTERNS.search(new_log)
            if fatal:
                cls = _PortClashError if _PORT_CLASH.search(new_log) else ProsodyError
                raise cls(
                    f"Prosody reported {fatal.group(0)!r} during startup\n" + self.diagnostics()
                )
            if self._activated(new_log) and self._probe():
                return
            if time.monotonic() > deadline:
                raise ProsodyError(
                    f"Prosody not ready after {self.startup_timeout:.0f}s\n" + self.diagnostics()
                )
            time.sleep(0.05)

    def _activated(self, new_log: str) -> bool:
        """Prosody logged that it listens on *our* ports (not someone else answering).

        Only checkable when the log has info lines; with a quieter ``log_level`` the stream
        probe alone decides.
        """
        if self.log_level not in ("debug", "info"):
            return True
        return (
            f"Activated service 'c2s' on [{self.host}]:{self.port}" in new_log
            and f"Activated service 'c2s_direct_tls' on [{self.host}]:{self.direct_tls_port}"
            in new_log
            and (
                not self.file_share
                or f"Activated service 'https' on [{self.host}]:{self.https_port}" in new_log
            )
        )

    def _probe(self) -> bool:
        """True once both ports accept and c2s answers a stream header with features.

        A bare TCP accept is not enough (the kernel accepts into the backlog before
        Prosody's main loop runs); stream features prove that the host is configured and
        the event loop is serving.
        """
        try:
            with socket.create_connection((self.host, self.direct_tls_port), timeout=1):
                pass
            with socket.create_connection((self.host, self.port), timeout=2) as sock:
                sock.sendall(
                    b"<?xml version='1.0'?><stream:stream to='"
                    + self.domain.encode()
                    + b"' version='1.0' xmlns='jabber:client'"
                    b" xmlns:stream='http://etherx.jabber.org/streams'>"
                )
                received = b""
                while b"</stream:features>" not in received:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return False
                    received += chunk
                sock.sendall(b"</stream:stream>")
                return b"starttls" in received
        except OSError:
            return False

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the server. Ports and data are kept for :meth:`start`.

        ``graceful=True`` asks Prosody to shut down through its admin socket, so clients
        get a ``<system-shutdown/>`` stream error and a clean close, like an operator's
        restart. ``graceful=False`` (or when that fails) SIGTERMs the process group; without
        ``mod_posix`` Prosody has no signal handlers, so that is an abrupt death (sockets
        closed by the kernel, no stream error) -- see also :meth:`crash`.
        """
        if graceful and self.running and not self._paused:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self.prosodyctl("shell", 'server:shutdown("test rig stop")', timeout=10)
            if self._proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=10)
        self._kill()

    def crash(self) -> None:
        """SIGKILL the server at once: no stream error, no goodbye (simulates a crash)."""
        if self._proc is not None:
            signal_group(self._proc, signal.SIGKILL)
        self._kill()

    def _kill(self) -> None:
        if self._proc is not None:
            kill_group(self._proc)
        self._paused = False
        _live_servers.discard(self)

    def restart(self, *, graceful: bool = True) -> None:
        """Stop (see :meth:`stop`), then start again on the same ports with the same data."""
        self.stop(graceful=graceful)
        self.start()

    def pause(self) -> None:
        """SIGSTOP the server: connections stay open but nothing is answered."""
        if not self.running or self._proc is None:
            raise ProsodyError("cannot pause: Prosody is not running")
        signal_group(self._proc, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """SIGCONT a paused server."""
        if not self.running or self._proc is None:
            raise ProsodyError("cannot resume: Prosody is not running")
        signal_group(self._proc, signal.SIGCONT)
        self._paused = False

    def cleanup(self) -> None:
        """Stop the server and remove the short-path socket dir, if one was made."""
        self._kill()
        if self._socket_dir is not None and self._socket_dir != self.base_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # async conveniences: run the blocking call in a worker so the event loop (and the
    # client under test) keeps running while the server goes down / comes up.

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self, *, graceful: bool = True) -> None:
        await asyncio.to_thread(self.stop, graceful=graceful)

    async def arestart(self, *, graceful: bool = True) -> None:
        await asyncio.to_thread(self.restart, graceful=graceful)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # ------------------------------------------------------------------ users

    def prosodyctl(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``prosodyctl --config <ours> ARGS`` (works while the server runs)."""
        return subprocess.run(
            [PROSODYCTL_BIN, "--config", str(self.config_path), *args],
            cwd=self.base_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        )

    def shell(self, command: str, timeout: float = 30.0) -> str:
        """Run one admin-shell command in the live server; return its output.

        E.g. ``server.shell('c2s:close("alice@localhost")')`` to kick a user, or
        ``server.shell('user:password("bob@localhost", "new")')``. Raises
        :class:`ProsodyError` if prosodyctl fails or the shell reports an error (``!``).
        """
        result = self.prosodyctl("shell", command, timeout=timeout)
        out = result.stdout + result.stderr
        if result.returncode != 0 or out.lstrip().startswith("!"):
            raise ProsodyError(f"prosodyctl shell {command!r} failed ({result.returncode}):\n{out}")
        return result.stdout

    def register(self, user: str, password: str) -> str:
        """Create account ``user`` with ``password``; return its bare JID."""
        if not self.config_path.exists():
            raise ProsodyError("start the server (it writes the config) before registering")
        result = self.prosodyctl("register", user, self.domain, password)
        if result.returncode != 0:
            raise ProsodyError(
                f"prosodyctl register {user} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return f"{user}@{self.domain}"

    def make_user(self, prefix: str = "user") -> tuple[str, str]:
        """Register a fresh, never-used account; return ``(jid, password)``.

        The local part is ``<prefix><n>-<random>``, unique on this server even when many
        tests share it.
        """
        local = f"{prefix}{next(self._user_counter)}-{secrets.token_hex(3)}".lower()
        password = secrets.token_urlsafe(12)
        return self.register(local, password), password

    def unique_name(self, prefix: str = "user") -> str:
        """A fresh local part that is NOT registered (for in-band registration tests)."""
        return f"{prefix}{next(self._user_counter)}-{secrets.token_hex(3)}".lower()

    # ------------------------------------------------------------------ diagnostics

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of Prosody's log (empty string if there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def diagnostics(self, lines: int = 40) -> str:
        """Log tail plus process output, for failure messages."""
        parts = [f"--- {self.log_path} (tail) ---", self.log_tail(lines)]
        with contextlib.suppress(FileNotFoundError):
            out = self.output_path.read_text(errors="replace").strip()
            if out:
                parts += [f"--- {self.output_path} (tail) ---", *out.splitlines()[-lines:]]
        return "\n".join(parts)

    def __repr__(self) -> str:
        state = "paused" if self._paused else "running" if self.running else "stopped"
        return f"<ProsodyServer {self.domain} {self.host}:{self._port} {state} {self.base_dir}>"


class _PortClashError(ProsodyError):
    """A picked port was taken between picking and binding."""


def stop_all() -> None:
    """Stop every server still running in this process (session teardown, atexit)."""
    for server in list(_live_servers):
        server.cleanup()
