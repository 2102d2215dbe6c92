"""Defects found in review of the API layer and the received log (automation-api.md 6 and
6a), as tests over the real core, storage and API layer (:mod:`api_rig`): each fails
now and passes once its defect is fixed (marked ``xfail(strict=True)`` until then)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from api_rig import BOB, ApiLayerRig

from chinwag.api.codes import REPORT_DELIVERY, REPORT_READ, DeliveryStatus
from rig.small_disk import small_disk


def text(body: str, **header: Any) -> list[dict[str, Any]]:
    return [header, {"content-type": "text/plain", "content": body}]


def report(token: str, status: int) -> Any:
    def match(args: tuple[Any, ...]) -> bool:
        header = args[0][0]
        return bool(
            header.get("delivery-token") == token and header.get("delivery-status") == status
        )

    return match


@pytest.mark.xfail(
    strict=True,
    raises=TimeoutError,
    reason="a read marker whose write meets a full disk is dropped: MessagingService."
    "_read_up_to (core/messaging.py) calls store.mark_read_up_to without _retrying, so the "
    "READ report (and the DELIVERED it implies) never enters the received log, and no "
    "StorageChanged is told either; acks and receipts are retried, read markers are not",
)
async def test_a_read_marker_that_meets_a_full_disk_is_reported_once_there_is_room(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        rig = await ApiLayerRig.start(disk.root)
        waits: list[asyncio.Future[Any]] = []
        try:
            token = await rig.api.messages.send_parts(
                None, BOB, text("read me"), REPORT_DELIVERY | REPORT_READ
            )
            listener = rig.connection.listener
            listener.on_acked(token, BOB)
            await rig.sink.wait_for("message_received", report(token, DeliveryStatus.ACCEPTED))
            await rig.core.messaging.drain()  # nothing else is being written

            disk.fill()
            listener.on_displayed(token, BOB, False)  # Bob has read it
            # Either the write is held and retried (told as a storage problem), or the
            # task that tried it ends: whichever comes first, then there is room again.
            drained = asyncio.ensure_future(rig.core.messaging.drain())
            told = asyncio.ensure_future(rig.sink.wait_for("storage_changed"))
            waits += [drained, told]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED, timeout=10)
            disk.free()

            await rig.sink.wait_for("message_received", report(token, DeliveryStatus.READ))
            statuses = [
                m[0]["delivery-status"]
                for m in rig.api.messages.received(None, 0, 100)
                if m[0].get("delivery-token") == token
            ]
            assert statuses == [
                DeliveryStatus.ACCEPTED,
                DeliveryStatus.DELIVERED,
                DeliveryStatus.READ,
            ]
        finally:
            for task in waits:
                task.cancel()
            disk.free()
            await rig.close()


@pytest.mark.xfail(
    strict=True,
    raises=TimeoutError,
    reason="a read marker that overtakes the server's ack moves the message QUEUED -> READ "
    "(storage mark_read_up_to takes a QUEUED target); the ack then cannot advance it, so "
    "MessageSent never fires and the ACCEPTED report asked for never enters the received "
    "log, though the server plainly took it (a receipt shows SENT first: "
    "MessagingService._delivered; reports_for gives READ the DELIVERED it implies but not "
    "the ACCEPTED)",
)
async def test_a_read_marker_that_overtakes_the_ack_still_reports_accepted_and_sent(
    rig: ApiLayerRig,
) -> None:
    token = await rig.api.messages.send_parts(
        None, BOB, text("quick reader"), REPORT_DELIVERY | REPORT_READ
    )
    listener = rig.connection.listener
    listener.on_displayed(token, BOB, False)  # Bob read it before the server's ack came
    await rig.sink.wait_for("message_received", report(token, DeliveryStatus.READ))
    listener.on_acked(token, BOB)
    await rig.sink.wait_for("message_sent", lambda args: args[2] == token)
    statuses = {
        m[0]["delivery-status"]
        for m in rig.api.messages.received(None, 0, 100)
        if m[0].get("delivery-token") == token
    }
    assert statuses == {DeliveryStatus.ACCEPTED, DeliveryStatus.DELIVERED, DeliveryStatus.READ}
