"""A real core with real storage over a stand-in connection (:class:`GatedConnection`,
which records what is sent and can hold a sign-in back), and the recorder of its events:
the rig of the core's tests of messaging actions and conversations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

from chinwag.core.events import Event
from chinwag.core.models import (
    AccountConfig,
    ConversationKey,
    Direction,
    Message,
    MessageState,
    Origin,
)
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.storage import SqliteMessageStore
from rig.fakes import FakeConfig, FakeConnection, FakeSecrets

ME = "me@localhost"
BOB = "bob@localhost"
EVE = "eve@localhost"
E = TypeVar("E", bound=Event)


class GatedConnection(FakeConnection):
    """Signs in once its rig's gate is open (open unless a test closes it). It has
    stream management (XEP-0198) unless a test sets ``acks`` false: what the test
    acknowledges (:meth:`ack`) is no longer held, and a sign-in after ``resume_next``
    is set resumes the stream (the connection resends what it holds, by itself)."""

    def __init__(self, listener: ConnectionListener, gate: asyncio.Event) -> None:
        super().__init__(listener)
        self._gate = gate
        self.acks = True
        self.resume_next = False
        self.acked: set[str] = set()

    @property
    def acks_enabled(self) -> bool:
        return self.acks

    async def connect(self) -> None:
        await self._gate.wait()
        await asyncio.sleep(0)
        resumed, self.resume_next = self.resume_next, False
        self.listener.on_session_started(resumed)

    def unacked_uids(self) -> set[str]:
        return {m.uid for m in self.sent} - self.acked

    def ack(self, message: Message) -> None:
        """The server acknowledges ``message`` (one of those sent)."""
        self.acked.add(message.uid)
        self.listener.on_acked(message.uid, message.peer)


class Core:
    def __init__(
        self, core: ChinwagCore, connections: list[GatedConnection], gate: asyncio.Event
    ) -> None:
        self.core = core
        self.connections = connections
        self.gate = gate
        self.events: list[Event] = []
        core.bus.subscribe_all(self.events.append)

    @property
    def conn(self) -> GatedConnection:
        return self.connections[-1]

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def receive(self, *messages: Message) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.conn.listener.on_messages(
            list(messages), [""] * len(messages), lambda: done.set_result(None)
        )
        async with asyncio.timeout(10):
            await done

    def history(self, peer: str = BOB) -> list[Message]:
        return self.core.store.latest(ConversationKey(ME, peer), 100)


def incoming(body: str, uid: str, *, sender: str = BOB, peer: str = BOB, **fields: Any) -> Message:
    return Message(
        account=ME,
        peer=peer,
        direction=Direction.INCOMING,
        body=body,
        timestamp=time.time(),
        uid=uid,
        sender=sender,
        state=MessageState.RECEIVED,
        origin=Origin.LIVE,
        **fields,
    )


async def make_rig(tmp_path: Path) -> AsyncIterator[Core]:
    made: list[GatedConnection] = []
    gate = asyncio.Event()
    gate.set()

    def connect(
        config: AccountConfig,
        password: str,
        listener: ConnectionListener,
        *,
        register: bool = False,
    ) -> GatedConnection:
        made.append(GatedConnection(listener, gate))
        return made[-1]

    core = ChinwagCore(
        SqliteMessageStore.open(tmp_path / "history.sqlite3"),
        FakeSecrets({ME: "secret"}),
        FakeConfig([AccountConfig(jid=ME)]),
        connect,
        timing=SessionTiming(backoff=Backoff(initial=0.01, cap=0.05), connect_timeout=5),
    )
    await core.sign_in(ME)
    await core.messaging.wait_archive_synced(ME)
    try:
        yield Core(core, made, gate)
    finally:
        await core.shutdown()
