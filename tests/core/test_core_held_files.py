"""A file's message while its file uploads (chinwag.core.files): HELD, a state of its own
(not FAILED with a magic error). Nothing sends it early, not the outbox of a new
session; the upload's end releases it (sent), its failure or cancel fails it with the
upload's reason, and a retry holds it again. On start, a held message with no upload
running (the app was killed between committing it and its attachment, or during the
upload) fails with a clear reason, and one whose file went up is sent. A room's that
ends after we left the room fails instead of going into a room we are not in; one that
ends while we are entering the room again waits for us to be in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from core_rig import BOB, ME, Core, make_rig
from test_core_rooms import ROOM, joining, own

from chinwag.core.attachments import (
    Attachment,
    AttachmentState,
    TransferError,
    TransferFailure,
    UploadService,
)
from chinwag.core.errors import InvalidMessage
from chinwag.core.events import MessageStateChanged
from chinwag.core.files import INTERRUPTED, NEVER_UPLOADED, UPLOAD_CANCELLED, FileService
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
    MessageState,
    Report,
)
from chinwag.storage import SqliteMessageStore
from chinwag.storage.attachments import SqliteAttachmentStore
from rig.files import GatedTransport, file_service

TIMEOUT = 10.0


async def until_state(rig: Core, message: Message, state: MessageState) -> Message:
    """The stored ``message`` once it is in ``state`` (told by MessageStateChanged)."""
    assert message.id is not None
    found: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    def seen(event: MessageStateChanged) -> None:
        if event.message.id == message.id and event.message.state is state and not found.done():
            found.set_result(event.message)

    unsubscribe = rig.core.bus.subscribe(MessageStateChanged, seen)
    try:
        current = rig.core.store.get_by_id(message.id)
        if current is not None and current.state is state:
            return current
        async with asyncio.timeout(TIMEOUT):
            return await found
    finally:
        unsubscribe()


def sent_uids(rig: Core) -> list[str]:
    return [m.uid for conn in rig.connections for m in conn.sent]


def a_file(tmp_path: Path, name: str = "photo.png") -> Path:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG" + b"x" * 1000)
    return path


async def test_held_while_uploading_not_sent_by_a_new_session_then_sent(
    rig: Core, tmp_path: Path
) -> None:
    transport = GatedTransport()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    assert (message.state, message.error, message.body) == (MessageState.HELD, "", "photo.png")
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    assert [m.uid for m in rig.core.store.held_outgoing()] == [message.uid]
    # A new session flushes the outbox: the held message is not in it.
    await rig.core.sign_out(ME)
    await rig.core.sign_in(ME)
    await rig.core.messaging.wait_archive_synced(ME)
    assert len(rig.connections) == 2
    assert message.uid not in sent_uids(rig)
    assert not [e for e in rig.of(MessageStateChanged) if e.message.id == message.id]

    transport.release.set()
    queued = await until_state(rig, message, MessageState.QUEUED)
    assert (queued.body, queued.oob_url) == ("https://up.localhost/photo.png",) * 2
    (sent,) = [m for m in rig.conn.sent if m.uid == message.uid]
    assert sent.oob_url == "https://up.localhost/photo.png"
    rig.conn.ack(sent)
    await until_state(rig, message, MessageState.SENT)


async def test_a_failed_upload_fails_its_message_and_a_retry_holds_and_sends_it(
    rig: Core, tmp_path: Path
) -> None:
    transport = GatedTransport()
    transport.service = None
    transport.release.set()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    failed = await until_state(rig, message, MessageState.FAILED)
    assert failed.error == "the server of this account offers no file upload"
    attachment = files.attachment(message.id or 0)
    assert attachment is not None
    assert attachment.state is AttachmentState.FAILED
    # a script that sent it learns why it was not sent (a delivery report), as of a bounce
    reports = [r for r in rig.core.messaging.received(ME, 0, 10) if r.report is not None]
    assert [(r.message.uid, r.report, r.error) for r in reports] == [
        (message.uid, Report.PERMANENTLY_FAILED, failed.error)
    ]
    assert message.uid not in sent_uids(rig)

    await files.wait(message.id or 0)  # (the upload's task has ended)
    transport.service = UploadService("upload.localhost", 10_000_000)
    await files.retry(message.id or 0)
    await until_state(rig, message, MessageState.QUEUED)
    assert [m.body for m in rig.conn.sent if m.uid == message.uid] == [
        "https://up.localhost/photo.png"
    ]
    states = [e.message.state for e in rig.of(MessageStateChanged) if e.message.id == message.id]
    assert states == [MessageState.FAILED, MessageState.HELD, MessageState.QUEUED]


async def test_a_cancelled_upload_fails_its_message(rig: Core, tmp_path: Path) -> None:
    transport = GatedTransport()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    assert files.cancel(message.id or 0)
    await files.wait(message.id or 0)
    stored = rig.core.store.get_by_id(message.id or 0)
    assert stored is not None
    assert (stored.state, stored.error) == (MessageState.FAILED, UPLOAD_CANCELLED)
    attachment = files.attachment(message.id or 0)
    assert attachment is not None
    assert attachment.state is AttachmentState.CANCELLED
    assert message.uid not in sent_uids(rig)


async def test_on_start_held_messages_with_no_upload_running_are_settled(tmp_path: Path) -> None:
    """A run killed between committing a file's message and its attachment, one killed
    during the upload, one killed after the upload but before the message went: the next
    start fails the first two with a clear reason and sends the third."""
    async for rig in make_rig(tmp_path):
        messaging = rig.core.messaging
        lost = await messaging.send(ME, BOB, "lost.png", held=True)
        cut = await messaging.send(ME, BOB, "cut.png", held=True)
        done = await messaging.send(ME, BOB, "done.png", held=True)
        store = rig.core.store
        assert isinstance(store, SqliteMessageStore)
        attachments = SqliteAttachmentStore(store.database)
        for message, state, url in (
            (cut, AttachmentState.UPLOADING, ""),
            (done, AttachmentState.UPLOADED, "https://up.localhost/done.png"),
        ):
            assert message.id is not None
            await attachments.put_attachment(
                Attachment(
                    message.id,
                    ME,
                    Direction.OUTGOING,
                    message.body,
                    5,
                    "image/png",
                    url,
                    str(tmp_path / message.body),
                    state,
                )
            )
        await attachments.set_outgoing_body(done.id or 0, "https://up.localhost/done.png", "")
        assert {m.uid for m in store.held_outgoing()} == {lost.uid, cut.uid, done.uid}
        assert not sent_uids(rig)

    async for rig in make_rig(tmp_path):  # the next start, on the same history
        files = file_service(rig.core, GatedTransport(), tmp_path / "downloads")
        await files.start()
        found = {
            m.uid: m for m in (rig.core.store.get_by_id(x.id or 0) for x in (lost, cut, done)) if m
        }
        assert (found[lost.uid].state, found[lost.uid].error) == (
            MessageState.FAILED,
            NEVER_UPLOADED,
        )
        assert (found[cut.uid].state, found[cut.uid].error) == (MessageState.FAILED, INTERRUPTED)
        cut_file = files.attachment(cut.id or 0)
        assert cut_file is not None
        assert cut_file.state is AttachmentState.FAILED
        assert found[done.uid].state is MessageState.QUEUED
        assert [m.body for m in rig.conn.sent] == ["https://up.localhost/done.png"]
        assert rig.core.store.held_outgoing() == []


async def in_room(rig: Core) -> None:
    task = await joining(rig)
    rig.conn.listener.on_room_presence(own("me"))
    await task


async def uploading_in_room(
    rig: Core, tmp_path: Path
) -> tuple[GatedTransport, FileService, Message]:
    """In the room, a file's message whose upload has started (and waits on the gate)."""
    await in_room(rig)
    transport = GatedTransport()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    key = ConversationKey(ME, ROOM, ConversationKind.GROUPCHAT)
    message = await files.send_file(key, a_file(tmp_path))
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    return transport, files, message


async def test_a_rooms_file_that_ends_after_we_left_fails_and_is_not_sent(
    rig: Core, tmp_path: Path
) -> None:
    transport, files, message = await uploading_in_room(rig, tmp_path)
    await rig.core.rooms.leave(ME, ROOM)

    transport.release.set()
    failed = await until_state(rig, message, MessageState.FAILED)
    assert failed.error == f"you are no longer in {ROOM}"
    await files.wait(message.id or 0)
    assert message.uid not in sent_uids(rig)
    attachment = files.attachment(message.id or 0)
    assert attachment is not None
    assert attachment.state is AttachmentState.UPLOADED  # (the file went up; the message not)


async def test_a_rooms_file_that_ends_while_we_enter_again_waits_for_us_to_be_in(
    rig: Core, tmp_path: Path
) -> None:
    transport, _files, message = await uploading_in_room(rig, tmp_path)
    conn = rig.conn
    conn.listener.on_disconnected(None)
    conn.listener.on_session_started(False)  # (entering the room again)

    transport.release.set()
    await until_state(rig, message, MessageState.QUEUED)
    assert message.uid not in sent_uids(rig)  # not in the room yet
    conn.listener.on_room_presence(own("me"))
    assert [m.uid for m in conn.sent if m.uid == message.uid] == [message.uid]


async def test_an_upload_refused_by_its_server_names_why(rig: Core, tmp_path: Path) -> None:
    transport = GatedTransport()
    transport.refuse = TransferError("the upload service said no", TransferFailure.SLOT_REFUSED)
    transport.release.set()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    failed = await until_state(rig, message, MessageState.FAILED)
    assert failed.error == "the upload service said no"


async def test_a_held_message_cannot_be_edited_and_removing_it_stops_its_upload(
    rig: Core, tmp_path: Path
) -> None:
    """Its text becomes its file's link once uploaded (an edit would be lost), and the
    peer never had it: removing it sends no retraction, stops the upload, and nothing is
    sent after."""
    transport = GatedTransport()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    message = await files.send_file(ConversationKey(ME, BOB), a_file(tmp_path))
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    with pytest.raises(InvalidMessage, match="while the file uploads"):
        await rig.core.messaging.edit(message, "a caption")
    await rig.core.messaging.remove(message)
    # stopped (the gate was never opened)
    await asyncio.wait_for(files.wait(message.id or 0), TIMEOUT)
    stored = rig.core.store.get_by_id(message.id or 0)
    assert stored is not None
    assert stored.removed
    assert stored.state is not MessageState.QUEUED
    attachment = files.attachment(message.id or 0)
    assert attachment is not None
    assert attachment.state is AttachmentState.CANCELLED
    transport.release.set()
    await rig.core.sign_out(ME)
    await rig.core.sign_in(ME)
    await rig.core.messaging.wait_archive_synced(ME)
    assert [m for conn in rig.connections for m in conn.sent] == []
