"""Receipts for messages stored while no stream is up go out once one is (so the sender
still sees "delivered")."""

from __future__ import annotations

import time
from typing import Any

from chinwag.core.events import EventBus
from chinwag.core.messaging import MessagingService
from chinwag.core.models import Direction, Message, MessageState, Origin
from chinwag.storage.message_store import SqliteMessageStore


class RecordingConnection:
    acks_enabled = True

    def __init__(self) -> None:
        self.receipts: list[tuple[str, str]] = []

    def send_receipt(self, to: str, uid: str) -> None:
        self.receipts.append((to, uid))

    def unacked_uids(self) -> set[str]:
        return set()

    def set_privacy(self, *, chat_states: bool, read_markers: bool) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call: {name}")


async def test_receipt_waits_for_the_stream() -> None:
    store = SqliteMessageStore.open(":memory:")
    messaging = MessagingService(store, EventBus(), {})
    incoming = Message(
        account="me@x.org",
        peer="bob@x.org",
        direction=Direction.INCOMING,
        body="hi",
        timestamp=time.time(),
        uid="m1",
        state=MessageState.RECEIVED,
        origin=Origin.LIVE,
    )
    messaging.on_incoming("me@x.org", [incoming], ["bob@x.org/phone"])
    await messaging.drain()
    assert store.get("me@x.org", "bob@x.org", "m1") is not None  # stored at once

    conn = RecordingConnection()
    messaging._archive_synced.add("me@x.org")  # no catch-up for this test
    messaging.on_online("me@x.org", conn, resumed=True)  # type: ignore[arg-type]
    assert conn.receipts == [("bob@x.org/phone", "m1")]
    messaging.on_online("me@x.org", conn, resumed=True)  # type: ignore[arg-type]
    assert conn.receipts == [("bob@x.org/phone", "m1")]  # sent once
    await store.close()
