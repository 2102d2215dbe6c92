"""Chinwag as a process, for end-to-end tests and benchmarks: ``python -m chinwag
--background``, offscreen, on a private session bus and a real Prosody, driven over its
D-Bus API.

:func:`start_app` starts it and waits until it owns ``im.chinwag.Chinwag``;
``await app.client()`` gives an :class:`ApiClient` on the same bus: raw method calls (any
signature, so wrong types can be sent on purpose), property reads and writes, and a
signal recorder."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_next import Message, MessageType, Variant

from chinwag.automation import names
from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from rig.prosody import ProsodyServer

APP_TIMEOUT = 30.0


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

    async def wait_for(
        self,
        member: str,
        match: Callable[[list[Any]], bool] = lambda _body: True,
        timeout: float = APP_TIMEOUT,
    ) -> list[Any]:
        """The first ``member`` signal whose body matches (already seen, or to come)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for m, body in self.items:
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

    proc: asyncio.subprocess.Process
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


async def start_app(
    home: Path,
    env: dict[str, str],
    jid: str,
    password: str,
    server: ProsodyServer,
    *args: str,
) -> AppProcess:
    """Start the app and wait until it owns the API's bus name."""
    stderr = (home / "stderr.txt").open("ab")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chinwag",
            "--background",
            *args,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    finally:
        stderr.close()
    app = AppProcess(proc, jid, password, env, env["DBUS_SESSION_BUS_ADDRESS"], home, server)
    probe = await app.client()
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while True:
        owned = await probe.call(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            "s",
            [names.BUS_NAME],
            destination="org.freedesktop.DBus",
        )
        if owned[0]:
            break
        if not app.running() or asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the app never owned {names.BUS_NAME}\n{app.diagnostics()}")
        await asyncio.sleep(0.05)
    return app


async def wait_signed_in(app: AppProcess, client: ApiClient) -> None:
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while await client.get(names.MESSENGER_PATH, names.MESSENGER, "MyStatus") != 0x02:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the app never signed in\n{app.diagnostics()}")
        await asyncio.sleep(0.05)
