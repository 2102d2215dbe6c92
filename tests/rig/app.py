"""Chinwag as a process, for end-to-end tests and benchmarks: ``python -m chinwag
--background``, offscreen, on a private session bus and a real Prosody, driven over its
D-Bus API.

:func:`start_app` starts it and waits until it owns ``im.chinwag.Chinwag``;
``await app.client()`` gives an :class:`ApiClient` on the same bus: raw method calls (any
signature, so wrong types can be sent on purpose), property reads and writes, and a
signal recorder.

The process is a plain :class:`subprocess.Popen` (see :class:`ChildProcess`), not bound to
the event loop that started it: one app can serve every test of a module, each test on its
own loop (:class:`SharedApp`, qutebrowser's quteprocess: one process, a reset between
tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_next import Message, MessageType, Variant

from chinwag.automation import names
from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from rig.dbus import PrivateSessionBus
from rig.procs import OWNER_ENV, make_temp_dir
from rig.prosody import ProsodyServer

APP_TIMEOUT = 30.0
ONLINE = 0x02


class ChildProcess:
    """A child process (a :class:`subprocess.Popen`) that any running event loop can
    await: :meth:`wait` watches a pidfd, so no thread and no polling, and works from
    whichever loop the current test runs (unlike ``asyncio.subprocess.Process``, which
    belongs to the loop that started it)."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def send_signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        """The exit code, once the process has ended."""
        if (code := self.popen.poll()) is not None:
            return code
        loop = asyncio.get_running_loop()
        try:
            pidfd = os.pidfd_open(self.popen.pid)
        except ProcessLookupError:  # gone between poll() and now
            return self.popen.wait()
        ended = loop.create_future()
        loop.add_reader(pidfd, lambda: ended.done() or ended.set_result(None))
        try:
            await ended
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        return self.popen.wait()

    def wait_blocking(self, timeout: float = APP_TIMEOUT) -> int:
        """The exit code, waiting without an event loop (kill after ``timeout``)."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()


def write_profile(
    home: Path, jid: str, password: str, server: ProsodyServer, **account: Any
) -> dict[str, str]:
    """XDG directories under ``home`` with one saved account; returns the environment for
    the app (offscreen, those directories, the current bus and CA file)."""
    env = dict(os.environ)
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        env[var] = str(home / sub)
        (home / sub / "chinwag").mkdir(parents=True, exist_ok=True)
    if jid:
        entry = {"jid": jid, "host": server.host, "port": server.port, **account}
        accounts = {"version": 1, "accounts": [entry]}
        (home / "config" / "chinwag" / "accounts.json").write_text(json.dumps(accounts))
        secrets = home / "data" / "chinwag" / "passwords.json"
        secrets.write_text(json.dumps({jid: password}))
        secrets.chmod(0o600)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


class ApiError(Exception):
    """A D-Bus error reply: ``name`` and ``text``."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


class SignalLog:
    """Signals of the app, in arrival order, as (member, body)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, list[Any]]] = []
        self._changed = asyncio.Event()

    def add(self, member: str, body: list[Any]) -> None:
        self.items.append((member, body))
        self._changed.set()

    def named(self, member: str) -> list[list[Any]]:
        return [body for m, body in self.items if m == member]

    async def wait_for_more(self, seen: int, timeout: float = APP_TIMEOUT) -> None:
        """Return once more than ``seen`` signals have arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.items) <= seen:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no further signal within {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_for(
        self,
        member: str,
        match: Callable[[list[Any]], bool] = lambda _body: True,
        timeout: float = APP_TIMEOUT,
        *,
        after: int = 0,
    ) -> list[Any]:
        """The first ``member`` signal whose body matches (already seen, or to come),
        among those from index ``after`` on (``len(log.items)`` before an action: its
        signals only)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for m, body in self.items[after:]:
                if m == member and match(body):
                    return body
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                seen = [m for m, _ in self.items][-20:]
                raise AssertionError(f"no {member} signal within {timeout}s (last seen: {seen})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)


class ApiClient:
    """One client connection to the app's API."""

    def __init__(self, bus: ChinwagMessageBus) -> None:
        self.bus = bus
        self.signals = SignalLog()
        self._watching = False

    @property
    def name(self) -> str:
        return str(self.bus.unique_name)

    async def call(
        self,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: list[Any] | tuple[Any, ...] = (),
        *,
        destination: str = names.BUS_NAME,
        timeout: float = APP_TIMEOUT,
    ) -> list[Any]:
        """The reply body; an error reply raises :class:`ApiError`."""
        reply = await asyncio.wait_for(
            self.bus.call(
                Message(
                    destination=destination,
                    path=path,
                    interface=interface,
                    member=member,
                    signature=signature,
                    body=list(body),
                )
            ),
            timeout,
        )
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise ApiError(str(reply.error_name), reply.body[0] if reply.body else "")
        return list(reply.body)

    async def messenger(self, member: str, signature: str = "", *args: Any) -> Any:
        """A Messenger1 method; its single return value (or the list of several)."""
        body = await self.call(names.MESSENGER_PATH, names.MESSENGER, member, signature, args)
        return body[0] if len(body) == 1 else body

    async def get(self, path: str, interface: str, prop: str) -> Any:
        body = await self.call(
            path,
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            [interface, prop],
        )
        return body[0].value

    async def get_all(self, path: str, interface: str) -> dict[str, Any]:
        body = await self.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", [interface])
        return {k: v.value for k, v in body[0].items()}

    async def set(self, path: str, interface: str, prop: str, value: Variant) -> None:
        await self.call(
            path,
            "org.freedesktop.DBus.Properties",
            "Set",
            "ssv",
            [interface, prop, value],
        )

    async def watch(self) -> SignalLog:
        """Record every signal the app emits from now on."""
        if not self._watching:
            self._watching = True

            def on_message(msg: Message) -> bool:
                if msg.message_type is MessageType.SIGNAL and msg.interface in (
                    names.MESSENGER,
                    names.MESSAGES,
                    names.CONVERSATIONS,
                ):
                    self.signals.add(str(msg.member), list(msg.body))
                return False

            self.bus.add_message_handler(on_message)
            await self.call(
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                "s",
                [f"type='signal',path='{names.MESSENGER_PATH}'"],
                destination="org.freedesktop.DBus",
            )
        return self.signals

    async def close(self) -> None:
        await close_message_bus(self.bus)


@dataclass
class AppProcess:
    """A running Chinwag (see the module docstring)."""

    proc: ChildProcess
    jid: str
    password: str
    env: dict[str, str]
    bus_address: str
    home: Path
    prosody: ProsodyServer
    _clients: list[ApiClient] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.home / "state" / "chinwag" / "chinwag.log"

    @property
    def stderr_path(self) -> Path:
        return self.home / "stderr.txt"

    async def client(self) -> ApiClient:
        client = ApiClient(await connect_session_bus(self.bus_address))
        self._clients.append(client)
        return client

    def running(self) -> bool:
        return self.proc.returncode is None

    def diagnostics(self) -> str:
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        err = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return f"--- log (tail) ---\n{log[-6000:]}\n--- stderr (tail) ---\n{err[-4000:]}"

    async def wait_exit(self, timeout: float = APP_TIMEOUT) -> int:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"the app did not exit\n{self.diagnostics()}") from None

    async def terminate(self, timeout: float = APP_TIMEOUT) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self.wait_exit(timeout)

    async def close_clients(self) -> None:
        for client in self._clients:
            await client.close()
        self._clients.clear()


def launch_app(
    home: Path,
    env: dict[str, str],
    jid: str,
    password: str,
    server: ProsodyServer,
    *args: str,
) -> AppProcess:
    """Start the app (no waiting: see :func:`wait_owned`); needs no event loop."""
    with (home / "stderr.txt").open("ab") as stderr:
        popen = subprocess.Popen(
            # (--no-local: a test profile chats on the network only when a test turns it on)
            [sys.executable, "-m", "chinwag", "--background", "--no-local", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    proc = ChildProcess(popen)
    return AppProcess(proc, jid, password, env, env["DBUS_SESSION_BUS_ADDRESS"], home, server)


async def start_app(
    home: Path,
    env: dict[str, str],
    jid: str,
    password: str,
    server: ProsodyServer,
    *args: str,
) -> AppProcess:
    """Start the app and wait until it owns the API's bus name."""
    app = launch_app(home, env, jid, password, server, *args)
    await wait_owned(app, await app.client())
    return app


async def _bus_call(client: ApiClient, member: str, signature: str, body: list[Any]) -> Any:
    reply = await client.call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        member,
        signature,
        body,
        destination="org.freedesktop.DBus",
    )
    return reply[0] if reply else None


async def wait_owned(app: AppProcess, client: ApiClient, timeout: float = APP_TIMEOUT) -> None:
    """Wait until the app owns the API's bus name: the bus says so with NameOwnerChanged
    (asked for before the first look), or the app exits."""
    owner_changed = asyncio.Event()

    def on_message(msg: Message) -> bool:
        if msg.message_type is MessageType.SIGNAL and msg.member == "NameOwnerChanged":
            owner_changed.set()
        return False

    client.bus.add_message_handler(on_message)
    rule = (
        "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
        f"arg0='{names.BUS_NAME}'"
    )
    await _bus_call(client, "AddMatch", "s", [rule])
    exited = asyncio.ensure_future(app.proc.wait())
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while not await _bus_call(client, "NameHasOwner", "s", [names.BUS_NAME]):
            left = deadline - asyncio.get_running_loop().time()
            changed = asyncio.ensure_future(owner_changed.wait())
            await asyncio.wait(
                [changed, exited], timeout=max(left, 0), return_when=asyncio.FIRST_COMPLETED
            )
            changed.cancel()
            await asyncio.wait([changed])
            if exited.done() or left <= 0:
                raise AssertionError(f"the app never owned {names.BUS_NAME}\n{app.diagnostics()}")
            owner_changed.clear()
    finally:
        exited.cancel()
        await asyncio.wait([exited])
        client.bus.remove_message_handler(on_message)
        await _bus_call(client, "RemoveMatch", "s", [rule])


async def wait_signed_in(app: AppProcess, client: ApiClient, timeout: float = APP_TIMEOUT) -> None:
    """Wait until MyStatus is Online: looked at again after each of the app's signals (a
    sign-in ends with OnSignin and OnMyStatusChange), watched for before the first look."""
    signals = await client.watch()
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        seen = len(signals.items)
        if await client.get(names.MESSENGER_PATH, names.MESSENGER, "MyStatus") == ONLINE:
            return
        if not app.running():
            raise AssertionError(f"the app exited instead of signing in\n{app.diagnostics()}")
        left = deadline - asyncio.get_running_loop().time()
        try:
            await signals.wait_for_more(seen, left)
        except AssertionError:
            raise AssertionError(f"the app never signed in\n{app.diagnostics()}") from None


class SharedApp:
    """One Chinwag for every test of a module (qutebrowser's quteprocess: one process, a
    reset between tests), started on first use.

    :meth:`ready` gives each test the app in a known state: signed in, Online with no
    status message, no conversation window open, the main window hidden, no contacts and
    no groups. It resets what it can over the API itself (sign in again, SetStatus, Close,
    RemoveContact; each step waits for the signal that says it is done, so nothing of the
    reset reaches the test's own clients), and starts a fresh app (a new profile and
    account) when the app is gone or left something the reset cannot undo. :meth:`stop`
    ends it; it needs no event loop, so a module-scoped fixture can call it."""

    def __init__(self, directory: Path, server: ProsodyServer, ca_file: Path) -> None:
        self.directory = directory
        self.server = server
        self.ca_file = ca_file
        self.app: AppProcess | None = None
        self.started = 0  # apps started so far
        self._sentinel: str | None = None  # an account that never signs in
        self._bus: PrivateSessionBus | None = None
        self._runtime: Path | None = None

    def _environ(self) -> dict[str, str]:
        if self._bus is None or not self._bus.running:
            self._bus = PrivateSessionBus()
            self._bus.start()
        if self._runtime is None:
            self._runtime = make_temp_dir("run")
        empty = self.directory / "empty-ssl-cert-dir"
        empty.mkdir(exist_ok=True)
        return {
            "HOME": str(self.directory / "home"),
            "XDG_RUNTIME_DIR": str(self._runtime),
            "DBUS_SESSION_BUS_ADDRESS": self._bus.address,
            "SSL_CERT_FILE": str(self.ca_file),
            "SSL_CERT_DIR": str(empty),
            OWNER_ENV: str(os.getpid()),  # rig.procs.reap_orphans ends it if we die
        }

    async def ready(self) -> AppProcess:
        """The app, reset for the next test (a fresh one if it cannot be)."""
        if self._sentinel is None:
            self._sentinel = self.server.make_user("sentinel")[0]
        app = self.app
        if app is not None and not app.running():
            # Never hidden behind a fresh app: this test errors, the next gets a new one.
            code, diagnostics = app.proc.returncode, app.diagnostics()
            await self._retire(app)
            raise AssertionError(f"the module's app exited ({code}) between tests\n{diagnostics}")
        if app is not None:
            if await _reset(app, self._sentinel):
                return app
            await self._retire(app)
        app = self.app = self._launch()
        client = await app.client()
        await wait_owned(app, client)
        await wait_signed_in(app, client)
        await app.close_clients()
        if not await _reset(app, self._sentinel):
            raise AssertionError(f"a fresh app is not in its start state\n{app.diagnostics()}")
        return app

    async def discard(self) -> None:
        """End the app, if any (a fresh one serves the next test)."""
        if self.app is not None:
            await self._retire(self.app)

    async def _retire(self, app: AppProcess) -> None:
        self.app = None
        await app.close_clients()
        if app.running():
            app.proc.terminate()
            try:
                await asyncio.wait_for(app.proc.wait(), APP_TIMEOUT)
            except TimeoutError:
                app.proc.kill()
                await app.proc.wait()

    def _launch(self) -> AppProcess:
        self.started += 1
        home = self.directory / f"app-{self.started}"
        home.mkdir()
        jid, password = self.server.make_user("app")
        env = write_profile(home, jid, password, self.server)
        env.update(self._environ())
        return launch_app(home, env, jid, password, self.server)

    def stop(self) -> None:
        """End the app (SIGTERM, then SIGKILL after APP_TIMEOUT) and its bus."""
        if self.app is not None:
            self.app.proc.terminate()
            self.app.proc.wait_blocking()
            self.app = None
        if self._bus is not None:
            self._bus.stop()
            self._bus = None
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None


_SIGNED_OUT = (0x00, 0x01)  # MISTATUS UNKNOWN, OFFLINE
_CONNECTING = 0x200


async def _reset(app: AppProcess, sentinel: str) -> bool:
    """Bring ``app`` back to the start state; False if that cannot be done."""
    client = ApiClient(await connect_session_bus(app.bus_address))
    try:
        return await _reset_with(app, client, sentinel)
    except (ApiError, AssertionError, TimeoutError, ConnectionError):
        return False
    finally:
        await client.close()


async def _reset_with(app: AppProcess, client: ApiClient, sentinel: str) -> bool:
    m, messenger = names.MESSENGER_PATH, names.MESSENGER
    signals = await client.watch()

    async def get(prop: str, path: str = m, interface: str = messenger) -> Any:
        return await client.get(path, interface, prop)

    if len(await get("Accounts")) != 1 or await get("MySigninName") != app.jid:
        return False
    start = len(signals.items)
    if await get("MyStatus") in _SIGNED_OUT:
        await client.messenger("AutoSignin")
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while True:
        mark = len(signals.items)
        if (status := await get("MyStatus")) not in (*_SIGNED_OUT, _CONNECTING):
            break
        if any(m == "OnSignin" and b != [names.S_OK] for m, b in signals.items[start:]):
            return False  # it cannot sign in again (a test changed the password, say)
        await signals.wait_for_more(mark, deadline - asyncio.get_running_loop().time())
    me = await client.messenger("GetContact", "ss", app.jid, "")
    if status != ONLINE or await get("StatusMessage", me, names.CONTACT) != "":
        mark = len(signals.items)
        await client.messenger("SetStatus", "us", ONLINE, "")
        if status != ONLINE:  # the self contact's signal is the last of the change
            await _signal_after(signals, mark, "OnContactStatusChange", lambda b: b[0] == me)
    # What earlier tests sent is taken by the server before a message sent now (stream
    # management acknowledges in order): no MessageSent of theirs reaches the next test.
    mark = len(signals.items)
    parts = [
        {"message-type": Variant("u", 0)},
        {"content-type": Variant("s", "text/plain"), "content": Variant("s", "reset")},
    ]
    (token,) = await client.call(
        m, names.MESSAGES, "SendMessage", "osaa{sv}u", ["/", sentinel, parts, 0]
    )
    await _signal_after(signals, mark, "MessageSent", lambda b: b[2] == token)
    for window in await get("ConversationWindows"):
        mark = len(signals.items)
        if await client.call(window, names.WINDOW, "Close") == [names.S_OK]:
            await _signal_after(signals, mark, "OnIMWindowDestroyed", lambda b, w=window: b == [w])
    main = await get("Window")
    if not await get("IsClosed", main, names.WINDOW):
        await client.call(main, names.WINDOW, "Close")
    for contact in await get("MyContacts"):
        mark = len(signals.items)
        await client.messenger("RemoveContact", "v", Variant("o", contact))
        await _signal_after(signals, mark, "OnContactListRemove", lambda b, c=contact: b[1] == c)
    return (
        await get("MyStatus") == ONLINE
        and await get("StatusMessage", me, names.CONTACT) == ""
        and await get("ConversationWindows") == []
        and await get("IsClosed", main, names.WINDOW) is True
        and await get("MyContacts") == []
        and await get("MyGroups") == []
    )


async def _signal_after(
    signals: SignalLog,
    mark: int,
    member: str,
    match: Callable[[list[Any]], bool] = lambda _body: True,
) -> list[Any]:
    """The first ``member`` signal matching ``match`` among those after ``mark``."""
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while True:
        for m, body in signals.items[mark:]:
            if m == member and match(body):
                return body
        left = deadline - asyncio.get_running_loop().time()
        await signals.wait_for_more(len(signals.items), left)
