"""Review of "once there is room again every message arrives": the archive catch-up with
a history that cannot be written for a moment, with the real Prosody and SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from helpers import history
from test_review_delivery_dupes import HistoryLock, first_failure

from chinwag.core.events import MessageAdded
from chinwag.system.paths import Paths
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


async def test_a_catch_up_that_could_not_store_is_done_again_once_it_can(
    prosody, cores: CoreMaker, tmp_path: Path
) -> None:
    """A message that reached only our phone while the desktop was off is in the archive
    alone. The desktop signs in while its history cannot be written: once it can be
    written again, the message must arrive, without waiting for another sign-in."""
    jid, password = prosody.make_user("alice")
    root = tmp_path / "desk"
    desk = await cores(prosody, jid, password, root=root, resource="desk")
    await desk.core.sign_out(jid)
    async with (
        XmppPeer(prosody, f"{jid}/phone", password) as phone,
        XmppPeer(prosody, *prosody.make_user("bob")) as bob,
    ):
        bob.send_chat(jid, "while the desk was off")
        assert (await phone.next_message())["body"] == "while the desk was off"

        failed = first_failure(desk.core.store, "add_received")
        lock = HistoryLock(Paths.under(root).database)
        try:
            await desk.core.sign_in(jid)
            await asyncio.wait_for(failed.wait(), 60)  # the catch-up could not store
        finally:
            lock.release()
        bob.send_chat(jid, "the history works again")
        await desk.events.wait(MessageAdded, lambda e: e.message.body == "the history works again")
        await desk.core.messaging.wait_archive_synced(jid)
        await desk.core.messaging.drain()
        bodies = {m.body for m in history(desk.core, jid, bob.jid)}
    assert "while the desk was off" in bodies
