"""The Conversations API's event for a file the user sends to a contact (section 3,
``sendMessage``): told once the message goes, with what the contact gets (the file's
link), as a room's is told once the room reflects it; the very event RetransmitEvents
gives then. Not while the file uploads (the message's text is the file's name until
then, and the contact has nothing), nor when the upload fails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from api_rig import BOB, ME, ApiLayerRig

from chinwag.core.events import MessageStateChanged
from chinwag.core.models import ConversationKey, ConversationKind, Message, MessageState
from rig.files import GatedTransport, file_service

TIMEOUT = 10.0
KEY = ConversationKey(ME, BOB, ConversationKind.CHAT)


def told(rig: ApiLayerRig) -> list[dict[str, Any]]:
    return [event for key, event in rig.sink.named("conversation_event") if key == KEY]


async def until_state(rig: ApiLayerRig, message: Message, state: MessageState) -> None:
    reached = asyncio.Event()

    def seen(event: MessageStateChanged) -> None:
        if event.message.uid == message.uid and event.message.state is state:
            reached.set()

    unsubscribe = rig.core.bus.subscribe(MessageStateChanged, seen)
    try:
        await asyncio.wait_for(reached.wait(), TIMEOUT)
    finally:
        unsubscribe()


async def test_a_file_to_a_contact_is_told_once_with_its_link_when_it_goes(
    rig: ApiLayerRig, tmp_path: Path
) -> None:
    transport = GatedTransport()
    files = file_service(rig.core, transport, tmp_path / "downloads")
    (tmp_path / "cat.png").write_bytes(b"\x89PNG not really")
    await rig.receive("send me the cat")
    await rig.sink.wait_for("conversation_event", lambda _a: len(told(rig)) == 1)

    message = await files.send_file(KEY, tmp_path / "cat.png")
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    await rig.receive("thanks in advance")  # (told after it, while the file uploads)
    await rig.sink.wait_for("conversation_event", lambda _a: len(told(rig)) == 2)
    assert [e["message"]["text"] for e in told(rig)] == ["send me the cat", "thanks in advance"]

    transport.release.set()
    await until_state(rig, message, MessageState.QUEUED)
    await rig.sink.wait_for("conversation_event", lambda _a: len(told(rig)) == 3)
    event = told(rig)[-1]
    assert (event["action"], event["user"]) == ("sendMessage", ME)
    assert event["message"]["text"] == "https://up.localhost/cat.png"
    assert event["sequence"] == message.sequence  # (its place in the log: when composed)
    again = await rig.api.conversations.retransmit(KEY, message.sequence, message.sequence)
    assert again == [event]
    assert [m.uid for m in rig.connection.sent] == [message.uid]


async def test_a_file_whose_upload_fails_is_not_told(rig: ApiLayerRig, tmp_path: Path) -> None:
    transport = GatedTransport()
    transport.service = None
    files = file_service(rig.core, transport, tmp_path / "downloads")
    (tmp_path / "cat.png").write_bytes(b"\x89PNG not really")
    message = await files.send_file(KEY, tmp_path / "cat.png")
    await until_state(rig, message, MessageState.FAILED)
    await rig.receive("where is it?")
    await rig.sink.wait_for("conversation_event", lambda _a: len(told(rig)) >= 1)
    assert [e["message"]["text"] for e in told(rig)] == ["where is it?"]
