"""Review of "exactly once at a bare receiver": interleavings in which a message the
server already took is sent again, with the real Prosody, a bare slixmpp receiver and
the real SQLite history."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import eventually
from test_exactly_once import bodies_until, keep_acks, lose_acks
from test_resilience import resumed

from chinwag.core.errors import StorageUnavailable
from chinwag.core.events import ConnectionStateChanged, MessageStateChanged
from chinwag.core.models import ConnectionState, MessageState
from chinwag.system.paths import Paths
from chinwag.xmpp import mam
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


class HistoryLock:
    """Another process's write lock on the history (what a backup tool or a second
    program holding the file does): every write of Chinwag gets SQLITE_BUSY, which the
    store reports as StorageUnavailable, until :meth:`release`."""

    def __init__(self, database: Path) -> None:
        self._conn = sqlite3.connect(database, isolation_level=None, timeout=30)
        self._conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self._conn.execute("ROLLBACK")
        self._conn.close()


def first_failure(store: Any, method: str) -> asyncio.Event:
    """An event set when ``store.<method>`` first fails for want of storage (a spy: the
    call itself is the real one)."""
    failed = asyncio.Event()
    real = getattr(store, method)

    async def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            return await real(*args, **kwargs)
        except (StorageUnavailable, sqlite3.Error):
            failed.set()
            raise

    setattr(store, method, spy)
    return failed


async def online_again(client: Any) -> None:
    """Wait for the next ONLINE after the connection was lost."""

    def onlines() -> int:
        return len(
            client.events.of(ConnectionStateChanged, lambda e: e.state is ConnectionState.ONLINE)
        )

    before = onlines()
    await client.events.wait(
        ConnectionStateChanged, lambda e: e.state is ConnectionState.RECONNECTING, timeout=60
    )
    await eventually(lambda: onlines() > before, timeout=60, what="online again")


async def test_a_drop_during_the_archive_check_does_not_resend_what_the_server_took(
    prosody_own, cores: CoreMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server restarts (no resumption): the message whose ack was lost is in doubt
    and is looked up in the archive. The connection drops as that look-up starts, and
    the stream is resumed: the message must still be looked up, not sent blindly."""
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    bob_jid, bob_password = server.make_user("bob")
    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        lose_acks(client)
        await alice.send(bob_jid, "taken, ack lost")
        assert await bodies_until(bob, "taken, ack lost") == ["taken, ack lost"]

    real = mam.archive_pages
    cut: list[bool] = []

    async def cut_short(c: Any, after: Any, start: Any, archive: str = "") -> AsyncIterator[Any]:
        if not cut:  # the look-up of the message in doubt: the connection drops
            cut.append(True)
            c.abort()
            await asyncio.get_running_loop().create_future()  # until cancelled by the drop
        async for page in real(c, after, start, archive):
            yield page

    monkeypatch.setattr(mam, "archive_pages", cut_short)
    await server.arestart()  # no stream survives it
    keep_acks(client)
    await resumed(alice)  # the stream of the cut-short check was resumed
    assert cut
    await alice.send(bob_jid, "after the drop")
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        assert await bodies_until(bob, "after the drop") == ["after the drop"]


async def test_history_unwritable_during_the_archive_check_does_not_resend(
    prosody_own, cores: CoreMaker, tmp_path: Path
) -> None:
    """The look-up of a message in doubt finds it in the archive, but the history cannot
    be written for a moment (busy, full): the message must not be sent again for that."""
    server = prosody_own
    root = tmp_path / "alice-profile"
    alice = await cores(server, *server.make_user("alice"), root=root)
    bob_jid, bob_password = server.make_user("bob")
    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        lose_acks(client)
        await alice.send(bob_jid, "taken, ack lost")
        assert await bodies_until(bob, "taken, ack lost") == ["taken, ack lost"]

    failed = first_failure(alice.core.store, "add_received")
    lock = HistoryLock(Paths.under(root).database)
    try:
        await server.arestart()  # no stream survives it: the message is in doubt
        keep_acks(client)
        await asyncio.wait_for(failed.wait(), 60)  # the archive's page could not be stored
    finally:
        lock.release()
    await alice.send(bob_jid, "after the restart")
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        assert await bodies_until(bob, "after the restart") == ["after the restart"]


async def test_an_ack_whose_sent_state_could_not_be_written_is_not_resent_on_resume(
    prosody, cores: CoreMaker, tmp_path: Path
) -> None:
    """The server acknowledges a message while the history cannot be written, so its
    state stays "queued" on disk; after the next (resumed) drop it must not go out again."""
    root = tmp_path / "alice-profile"
    alice = await cores(prosody, *prosody.make_user("alice"), root=root)
    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        lose_acks(client)
        await alice.send(bob.jid, "acked while the disk is busy")
        assert await bodies_until(bob, "acked while the disk is busy") == [
            "acked while the disk is busy"
        ]
        failed = first_failure(alice.core.store, "update_state")
        lock = HistoryLock(Paths.under(root).database)
        try:
            keep_acks(client)
            client.plugin["xep_0198"].request_ack()  # the ack comes in now
            await asyncio.wait_for(failed.wait(), 60)
        finally:
            lock.release()
        client.abort()
        await resumed(alice)
        await alice.send(bob.jid, "after the drop")
        assert await bodies_until(bob, "after the drop") == ["after the drop"]


async def test_a_clock_ten_minutes_ahead_does_not_resend_what_the_server_took(
    prosody_own, cores: CoreMaker
) -> None:
    """This machine's clock is 10 minutes ahead of the server's (or was, before NTP set
    it back): the archive look-up of a message in doubt must still find it."""
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    alice.core.messaging._clock = lambda: time.time() + 600  # the machine's clock
    bob_jid, bob_password = server.make_user("bob")
    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        lose_acks(client)
        await alice.send(bob_jid, "taken, ack lost")
        assert await bodies_until(bob, "taken, ack lost") == ["taken, ack lost"]
        await server.arestart()
    keep_acks(client)
    await online_again(alice)
    await alice.send(bob_jid, "after the restart")
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        assert await bodies_until(bob, "after the restart") == ["after the restart"]


async def test_on_a_stream_without_resumption_a_message_is_not_taken_as_acked_too_early(
    prosody_own, cores: CoreMaker
) -> None:
    """A server that enables stream management without resumption (ejabberd with
    ``resume_timeout: 0``, older Openfire): after a drop the next stream counts from
    zero. The server's first ack on it must cover only what the server counted, not a
    message still on its way when the connection died (that message would be "sent",
    and never sent again)."""
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    plugin = client.plugin["xep_0198"]
    async with XmppPeer(server, *server.make_user("bob")) as bob:
        for n in range(5):  # a first stream with some history of counts
            await alice.send(bob.jid, f"first stream {n}")
        assert await bodies_until(bob, "first stream 4") == [f"first stream {n}" for n in range(5)]
        await eventually(lambda: plugin.last_ack == plugin.seq, what="the first stream acked")
        plugin.allow_resume = False  # what such a server grants
        client.abort()
        await online_again(alice)

        real = client.send_raw
        dead: list[bool] = []

        def dying(data: Any) -> None:  # from this message on, nothing reaches the server
            if b"never reached the server" in (data if isinstance(data, bytes) else data.encode()):
                dead.append(True)
            if not dead:
                real(data)

        server.pause()  # the server reads the next message (and the ack request) late
        try:
            second = await alice.send(bob.jid, "second stream")
            client.send_raw = dying
            await alice.send(bob.jid, "never reached the server")
            await eventually(lambda: dead, what="the message written")
        finally:
            server.resume()
        await alice.events.wait(  # the server's ack of the second message
            MessageStateChanged,
            lambda e: e.message.uid == second.uid and e.message.state is MessageState.SENT,
        )
        client.send_raw = real
        client.abort()  # the connection ends: what the server did not get is sent again
        await online_again(alice)
        await alice.send(bob.jid, "third stream")
        assert await bodies_until(bob, "third stream") == [
            "second stream",
            "never reached the server",
            "third stream",
        ]
