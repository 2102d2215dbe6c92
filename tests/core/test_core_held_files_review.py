"""Files held while they upload (chinwag.core.files), against what else happens
meanwhile: two files at once in one conversation (each goes when its upload ends, as
Conversations and Gajim send them; the history keeps each where it was composed), the
account removed during the upload, Retry pressed twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from core_rig import BOB, ME, Core
from test_core_held_files import TIMEOUT, a_file, sent_uids, until_state

from chinwag.core.attachments import AttachmentState, UploadService, UploadSlot
from chinwag.core.files import ACCOUNT_REMOVED
from chinwag.core.models import ConversationKey, MessageState
from rig.files import GatedTransport, file_service


class GatePerFile(GatedTransport):
    """Each file's upload waits on a gate of its own (by the file's name)."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[str, asyncio.Event] = {}
        self.began: dict[str, asyncio.Event] = {}
        self.uploads = 0

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    def started(self, name: str) -> asyncio.Event:
        return self.began.setdefault(name, asyncio.Event())

    async def upload(
        self,
        account: str,
        slot: UploadSlot,
        path: Path,
        size: int,
        mime: str,
        progress: Callable[[int], None],
    ) -> None:
        self.uploads += 1
        self.started(path.name).set()
        await self.gate(path.name).wait()
        progress(size)
        self.uploaded.append(slot.get_url)


async def test_two_files_go_as_their_uploads_end_and_stay_where_they_were_composed(
    rig: Core, tmp_path: Path
) -> None:
    transport = GatePerFile()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    key = ConversationKey(ME, BOB)
    big = await files.send_file(key, a_file(tmp_path, "big.png"))
    small = await files.send_file(key, a_file(tmp_path, "small.png"))
    await asyncio.wait_for(transport.started("small.png").wait(), TIMEOUT)

    transport.gate("small.png").set()  # the second file's upload ends first: it goes
    await until_state(rig, small, MessageState.QUEUED)
    assert sent_uids(rig) == [small.uid]
    assert rig.core.store.get_by_id(big.id or 0).state is MessageState.HELD  # type: ignore[union-attr]
    transport.gate("big.png").set()
    await until_state(rig, big, MessageState.QUEUED)
    assert sent_uids(rig) == [small.uid, big.uid]
    for sent in list(rig.conn.sent):
        rig.conn.ack(sent)
    await until_state(rig, big, MessageState.SENT)
    await until_state(rig, small, MessageState.SENT)

    history = rig.history()
    assert [m.uid for m in history] == [big.uid, small.uid]  # as composed, for good
    assert [m.timestamp for m in history] == [big.timestamp, small.timestamp]


async def test_an_account_removed_while_its_file_uploads_stops_it_and_sends_nothing(
    rig: Core, tmp_path: Path
) -> None:
    """The upload stops and the message fails (it was QUEUED once its upload ended,
    for an account that no longer was: added again, its outbox would send it)."""
    transport = GatedTransport()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    await rig.core.sign_out(ME)
    rig.core.accounts.remove(ME)

    await asyncio.wait_for(files.wait(message.id or 0), TIMEOUT)  # (stopped: gate shut)
    stored = rig.core.store.get_by_id(message.id or 0)
    assert stored is not None
    assert (stored.state, stored.error) == (MessageState.FAILED, ACCOUNT_REMOVED)
    attachment = files.attachment(message.id or 0)
    assert attachment is not None
    assert attachment.state is AttachmentState.CANCELLED
    assert rig.core.store.pending_outgoing(ME) == []
    assert message.uid not in sent_uids(rig)


async def test_retry_pressed_twice_uploads_the_file_once(rig: Core, tmp_path: Path) -> None:
    """However the second press falls among the first one's steps (its message held
    again, its card saved as uploading, its upload started), one upload runs."""
    transport = GatePerFile()
    transport.service = None  # the first upload fails: no upload service
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    message_id = message.id or 0
    await until_state(rig, message, MessageState.FAILED)
    await files.wait(message_id)
    transport.service = UploadService("upload.localhost", 10_000_000)

    async def later(turns: int) -> None:
        for _ in range(turns):
            await asyncio.sleep(0)
        await files.retry(message_id)

    for turns in range(8):
        before = transport.uploads
        await asyncio.gather(files.retry(message_id), later(turns))
        await asyncio.wait_for(transport.started("photo.png").wait(), TIMEOUT)
        for _ in range(8):
            await asyncio.sleep(0)  # (a second upload, had one been started, begins)
        assert transport.uploads == before + 1, turns
        transport.started("photo.png").clear()
        assert files.cancel(message_id)  # (failed again, for the next round)
        await files.wait(message_id)
        await until_state(rig, message, MessageState.FAILED)

    await files.retry(message_id)
    transport.gate("photo.png").set()
    await until_state(rig, message, MessageState.QUEUED)
    assert sent_uids(rig) == [message.uid]
