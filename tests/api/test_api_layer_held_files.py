"""A file's message while its file uploads, as the APIs tell it: being sent, never failed.
Messages1.SendMessage with a file part (automation-api.md section 6) gets no failure
report while the upload runs and MessageSent once the server takes the link; the UCWA
gateway's view of the message is Pending (gateways.md section 2), not Failure. When the
upload fails, the message failed: a Permanently_Failed report says why, and UCWA says
Failure."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from api_rig import BOB, ApiLayerRig

from chinwag.api.codes import MESSAGE_TYPE_DELIVERY_REPORT, DeliveryStatus
from chinwag.api.messages import FILE_PART_KEY
from chinwag.api.ucwa import UcwaApi
from chinwag.core.events import MessageStateChanged
from chinwag.core.models import MessageState
from rig.files import GatedTransport, file_service

TIMEOUT = 10.0
REPORT_DELIVERY = 1  # SendMessage flags bit 1 (automation-api.md section 6)


def file_parts(path: Path) -> list[dict[str, Any]]:
    return [{}, {"content-type": "image/png", FILE_PART_KEY: str(path)}]


def reports(rig: ApiLayerRig, token: str) -> list[dict[str, Any]]:
    return [
        parts[0]
        for (parts,) in rig.sink.named("message_received")
        if parts[0]["message-type"] == MESSAGE_TYPE_DELIVERY_REPORT
        and parts[0]["delivery-token"] == token
    ]


async def test_a_file_being_uploaded_is_being_sent_not_failed(
    rig: ApiLayerRig, ucwa: UcwaApi, tmp_path: Path
) -> None:
    transport = GatedTransport()
    file_service(rig.core, transport, tmp_path / "downloads")
    me = rig.core.accounts.accounts[0].jid
    app = ucwa.create_application(me, {"userAgent": "bot", "endpointId": "e"})
    conv = (await ucwa.start_messaging(app, to=f"xmpp:{BOB}")).conversation
    (tmp_path / "cat.png").write_bytes(b"\x89PNG not really")

    token = await rig.api.messages.send_parts(
        None, BOB, file_parts(tmp_path / "cat.png"), REPORT_DELIVERY
    )
    await asyncio.wait_for(transport.uploading.wait(), TIMEOUT)
    stored = rig.core.store.get(me, BOB, token)
    assert stored is not None
    assert stored.id is not None
    assert stored.state is MessageState.HELD
    assert ucwa.message(app, conv, stored.id).status == "Pending"
    assert reports(rig, token) == []  # no failure told
    assert rig.api.messages.received(None, 0, 100) == []

    released: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def seen(event: MessageStateChanged) -> None:
        if event.message.uid == token and event.message.state is MessageState.QUEUED:
            released.set_result(None)

    rig.core.bus.subscribe(MessageStateChanged, seen)
    transport.release.set()
    await asyncio.wait_for(released, TIMEOUT)
    assert [m.uid for m in rig.connection.sent] == [token]
    rig.connection.listener.on_acked(token, BOB)
    content, flags, _told = await rig.sink.wait_for("message_sent", lambda a: a[2] == token)
    assert content[1]["content"] == "https://up.localhost/cat.png"
    assert flags == REPORT_DELIVERY  # (as asked for the file's message)
    assert ucwa.message(app, conv, stored.id).status == "Success"
    # asked for delivery reports: the server's acceptance is told (none while uploading)
    assert [r["delivery-status"] for r in reports(rig, token)] == [DeliveryStatus.ACCEPTED]


async def test_a_file_whose_upload_fails_is_reported_failed_with_why(
    rig: ApiLayerRig, ucwa: UcwaApi, tmp_path: Path
) -> None:
    transport = GatedTransport()
    transport.service = None
    file_service(rig.core, transport, tmp_path / "downloads")
    me = rig.core.accounts.accounts[0].jid
    app = ucwa.create_application(me, {"userAgent": "bot", "endpointId": "e"})
    conv = (await ucwa.start_messaging(app, to=f"xmpp:{BOB}")).conversation
    (tmp_path / "cat.png").write_bytes(b"\x89PNG not really")

    token = await rig.api.messages.send_parts(None, BOB, file_parts(tmp_path / "cat.png"), 0)
    (parts,) = await rig.sink.wait_for(
        "message_received", lambda a: a[0][0].get("delivery-token") == token
    )
    header = parts[0]
    assert header["delivery-status"] == DeliveryStatus.PERMANENTLY_FAILED
    assert header["delivery-error-message"] == "the server of this account offers no file upload"
    stored = rig.core.store.get(me, BOB, token)
    assert stored is not None
    assert stored.id is not None
    assert ucwa.message(app, conv, stored.id).status == "Failure"
    assert not [m for m in rig.connection.sent if m.uid == token]
