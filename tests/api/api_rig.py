"""The API layer over the real core: storage in a file, a scripted connection (no network),
the windows as plain-Python stand-ins (:mod:`rig.fakes`), and a sink that records every
event the API tells its fronts. No D-Bus anywhere: what these tests check is the
behaviour every front shares."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chinwag.api.service import Api
from chinwag.core.errors import ChinwagError
from chinwag.core.models import AccountConfig, Direction, Message, MessageState, Origin
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.storage import SqliteMessageStore
from rig.fakes import FakeConfig, FakeConnection, FakeSecrets, FakeWindowHost

ME = "me@localhost"
BOB = "bob@localhost"
TIMEOUT = 10.0


class ScriptedConnection(FakeConnection):
    """A connection that signs in at once, records what is sent, answers a block with
    the server's push, and refuses the roster requests it is told to."""

    refuse_roster: ChinwagError | None = None
    #: Set on the class: every sign-in fails with this.
    refuse_connect: ChinwagError | None = None

    async def connect(self) -> None:
        if ScriptedConnection.refuse_connect is not None:
            raise ScriptedConnection.refuse_connect
        await super().connect()

    async def roster_set(self, jid: str, name: str, groups: Sequence[str]) -> None:
        if self.refuse_roster is not None:
            raise self.refuse_roster

    async def block(self, jids: Sequence[str]) -> None:
        self.listener.on_blocklist(jids, True, False)  # the server's push

    async def unblock(self, jids: Sequence[str]) -> None:
        self.listener.on_blocklist(jids, False, False)


class RecordingSink:
    """An EventSink that records (event, arguments) and lets a test await one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = asyncio.Event()

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.events.append((name, args))
            self._changed.set()

        return record

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for event, args in self.events if event == name]

    async def wait_for(
        self, name: str, match: Callable[[tuple[Any, ...]], bool] = lambda _a: True
    ) -> tuple[Any, ...]:
        async with asyncio.timeout(TIMEOUT):
            while True:
                for args in self.named(name):
                    if match(args):
                        return args
                self._changed.clear()
                await self._changed.wait()


class ApiLayerRig:
    """A core signed in as :data:`ME` over a :class:`ScriptedConnection`, its API, and a
    sink listening to the API's events."""

    def __init__(self, core: ChinwagCore, host: FakeWindowHost, api: Api) -> None:
        self.core = core
        self.host = host
        self.api = api
        self.sink = RecordingSink()
        api.events.listen(self.sink)
        self.connections: list[ScriptedConnection] = []

    @classmethod
    async def start(cls, directory: Path, *, sign_in: bool = True) -> ApiLayerRig:
        store = SqliteMessageStore.open(directory / "history.sqlite3")
        made: list[ScriptedConnection] = []

        def connect(
            config: AccountConfig,
            password: str,
            listener: ConnectionListener,
            *,
            register: bool = False,
        ) -> ScriptedConnection:
            made.append(ScriptedConnection(listener))
            return made[-1]

        core = ChinwagCore(
            store,
            FakeSecrets({ME: "secret"}),
            FakeConfig([AccountConfig(jid=ME, nickname="Me")]),
            connect,
            timing=SessionTiming(backoff=Backoff(initial=0.01, cap=0.05), connect_timeout=5),
        )
        host = FakeWindowHost(core)
        rig = cls(core, host, Api(core, host))
        rig.connections = made
        if sign_in:
            await core.sign_in(ME)
        return rig

    @property
    def connection(self) -> ScriptedConnection:
        return self.connections[-1]

    async def receive(self, *bodies: str, peer: str = BOB, origin: Origin = Origin.LIVE) -> None:
        """Messages from ``peer`` arrive over the connection; returns once committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        now = time.time()
        messages = [
            Message(
                account=ME,
                peer=peer,
                direction=Direction.INCOMING,
                body=body,
                timestamp=now,
                sender=peer,
                state=MessageState.RECEIVED,
                origin=origin,
            )
            for body in bodies
        ]
        self.connection.listener.on_messages(
            messages, [""] * len(messages), lambda: done.set_result(None)
        )
        async with asyncio.timeout(TIMEOUT):
            await done

    async def close(self) -> None:
        self.api.close()
        await self.core.shutdown()
