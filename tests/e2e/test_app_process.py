"""The application as a process (``python -m chinwag --background``, offscreen): it signs
in from its saved profile, stores what arrives, and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from chinwag.core.models import ConversationKey, Direction
from chinwag.storage.message_store import SqliteMessageStore
from rig.app import write_profile
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


async def wait_for_log(path: Path, text: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {path}")


async def test_background_app_signs_in_stores_and_quits_cleanly(prosody, tmp_path: Path) -> None:
    jid, password = prosody.make_user("app")
    env = write_profile(tmp_path, jid, password, prosody)
    log = tmp_path / "state" / "chinwag" / "chinwag.log"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chinwag",
        "--background",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for_log(log, "archive catch-up")  # signed in, caught up
        # The server's address was looked up on a thread of the loop's executor: started
        # as needed, not qasync's ten QThreads at once (1.2 MB resident).
        threads = [t.read_text().strip() for t in Path(f"/proc/{proc.pid}/task").glob("*/comm")]
        assert "_QThreadWorker" not in threads, threads
        peer = XmppPeer(prosody, *prosody.make_user("peer"))
        peer.client.register_plugin("xep_0184")
        peer.client.plugin["xep_0184"].auto_request = True
        receipt: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        peer.client.add_event_handler(
            "receipt_received", lambda msg: receipt.done() or receipt.set_result(msg)
        )
        async with peer:
            peer.send_chat(jid, "hello, app in the tray")
            # the app stores it, then acknowledges it with a receipt: wait for the receipt
            await asyncio.wait_for(receipt, 30)
            peer_jid = peer.jid
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    _out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "shutting down" in log.read_text()

    store = SqliteMessageStore.open(tmp_path / "data" / "chinwag" / "history.sqlite3")
    try:
        got = store.latest(ConversationKey(jid, peer_jid), 10)
    finally:
        await store.close()
    assert [(m.body, m.direction) for m in got] == [("hello, app in the tray", Direction.INCOMING)]
