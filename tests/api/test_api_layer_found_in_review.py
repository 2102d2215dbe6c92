"""Defects found in review of the API layer and the received log (automation-api.md 6 and
6a), as tests over the real core, storage and API layer (:mod:`api_rig`): each failed
before its fix (both are fixed: the read marker is retried, and it writes "sent" first)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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
