"""Blocking (XEP-0191): whom each account blocks. The server enforces it; this service
keeps the list, changes it, and announces changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chinwag.core import jid as jids
from chinwag.core.errors import NotConnected
from chinwag.core.events import BlockChanged, EventBus
from chinwag.core.ports import XmppConnection


class BlockingService:
    def __init__(self, bus: EventBus, connection: Callable[[str], XmppConnection | None]) -> None:
        self._bus = bus
        self._connection = connection
        self._blocked: dict[str, set[str]] = {}

    def is_blocked(self, account: str, jid: str) -> bool:
        return jid in self._blocked.get(account, set())

    def blocked(self, account: str) -> set[str]:
        return set(self._blocked.get(account, set()))

    def _conn(self, account: str) -> XmppConnection:
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
        return conn

    async def block(self, account: str, jid: str) -> None:
        await self._conn(account).block([jids.bare(jid)])

    async def unblock(self, account: str, jid: str) -> None:
        await self._conn(account).unblock([jids.bare(jid)])

    def on_blocklist(self, account: str, changed: Sequence[str], blocked: bool, full: bool) -> None:
        """``full`` with ``blocked``: the whole list is ``changed``; ``full`` without:
        everyone was unblocked."""
        current = self._blocked.setdefault(account, set())
        if full:
            before = set(current)
            after = set(changed) if blocked else set()
            current.clear()
            current.update(after)
            for jid in sorted(after - before):
                self._bus.publish(BlockChanged(account, jid, True))
            for jid in sorted(before - after):
                self._bus.publish(BlockChanged(account, jid, False))
            return
        for jid in changed:
            if blocked and jid not in current:
                current.add(jid)
                self._bus.publish(BlockChanged(account, jid, True))
            elif not blocked and jid in current:
                current.discard(jid)
                self._bus.publish(BlockChanged(account, jid, False))
