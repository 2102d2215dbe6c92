"""Helpers for tests that run Chinwag's core against the rig's real Prosody."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from chinwag.core.events import Event
from chinwag.core.models import AccountConfig, ConversationKey, Message, TlsMode
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.system.paths import Paths
from chinwag.system.secrets import FileSecretStore
from chinwag.wiring import build_core

E = TypeVar("E", bound=Event)

#: Fast reconnects so tests that stop the server do not wait minutes.
FAST = SessionTiming(backoff=Backoff(initial=0.2, factor=2.0, cap=1.0), connect_timeout=15.0)


class Recorder:
    """Records every event of a core's bus; lets a test await the one it expects."""

    def __init__(self, core: ChinwagCore) -> None:
        self.events: list[Event] = []
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future[Event]]] = []
        core.bus.subscribe_all(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        for pred, fut in list(self._waiters):
            if not fut.done() and pred(event):
                fut.set_result(event)

    def of(self, kind: type[E], pred: Callable[[E], bool] = lambda _: True) -> list[E]:
        return [e for e in self.events if isinstance(e, kind) and pred(e)]

    async def wait(
        self, kind: type[E], pred: Callable[[E], bool] = lambda _: True, timeout: float = 20.0
    ) -> E:
        """The first event of ``kind`` matching ``pred``, already seen or still to come."""
        for e in self.of(kind, pred):
            return e
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        entry = (lambda e: isinstance(e, kind) and pred(e), fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)  # type: ignore[return-value]
        finally:
            self._waiters.remove(entry)


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def account_for(server: Any, jid: str, **kw: Any) -> AccountConfig:
    """Settings for ``jid`` on the rig ``server``; ``kw`` overrides any of them."""
    settings: dict[str, Any] = {"host": server.host, "port": server.port, "tls": TlsMode.STARTTLS}
    settings.update(kw)
    return AccountConfig(jid=jid, **settings)


def make_core(root: Path, timing: SessionTiming = FAST) -> ChinwagCore:
    paths = Paths.under(root)
    return build_core(paths, secrets=FileSecretStore(paths.ensure().secrets_file), timing=timing)


def history(core: ChinwagCore, account: str, peer: str) -> list[Message]:
    return core.store.latest(ConversationKey(account, peer), 1000)


def fresh_room(server: Any, name: str) -> str:
    """A room address of the server's MUC service no test has used (the server may be
    shared by several tests: a room one of them made, with its password or its bans,
    must not be another's)."""
    return f"{name}-{uuid.uuid4().hex[:8]}@{server.muc_domain}"
