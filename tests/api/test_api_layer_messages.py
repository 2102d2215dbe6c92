"""The API layer, Messages1 (automation-api.md sections 6 and 6a), called directly: one-off
sending, and the received log a script catches up from (GetReceived)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.codes import REPORT_DELIVERY, REPORT_READ, Code, DeliveryStatus
from chinwag.api.errors import ApiError
from chinwag.core.events import StorageFailed, StorageRecovered
from chinwag.core.models import MAX_MESSAGE_CHARS, Origin


def text(body: str, **header: Any) -> list[dict[str, Any]]:
    return [header, {"content-type": "text/plain", "content": body}]


def sequences(messages: list[list[dict[str, Any]]]) -> list[int]:
    return [m[0]["message-sequence"] for m in messages]


# -- SendMessage ---------------------------------------------------------------------------


async def test_send_parts_stores_sends_and_returns_the_token(rig: ApiLayerRig) -> None:
    token = await rig.api.messages.send_parts(
        None, "Bob@Localhost", text("hi", **{"message-type": 1}), 0
    )
    (sent,) = rig.connection.sent
    assert (sent.uid, sent.peer, sent.body, int(sent.mtype)) == (token, BOB, "hi", 1)
    assert rig.host.windows == {}  # no window was opened


@pytest.mark.parametrize(
    ("parts", "why"),
    [
        ([], "no parts"),
        ([{}], "no text/plain part"),
        ([{}, {"content-type": "text/html", "content": "<b>x</b>"}], "no text/plain part"),
        (
            [{"message-sender-id": "x@y"}, {"content-type": "text/plain", "content": "x"}],
            "may not set",
        ),
        ([{"message-type": 7}, {"content-type": "text/plain", "content": "x"}], "message-type"),
        ([{"message-type": True}, {"content-type": "text/plain", "content": "x"}], "message-type"),
        ([{"message-type": "1"}, {"content-type": "text/plain", "content": "x"}], "message-type"),
        ([{}, {"content-type": 5, "content": "x"}], "content-type"),
        ([{}, {"content-type": "text/plain", "content": b"x"}], "content"),
    ],
)
async def test_malformed_messages_are_invalid_handle(
    rig: ApiLayerRig, parts: list[dict[str, Any]], why: str
) -> None:
    with pytest.raises(ApiError) as info:
        await rig.api.messages.send_parts(None, BOB, parts, 0)
    assert info.value.code is Code.INVALID_HANDLE
    assert why in info.value.message
    assert rig.connection.sent == []


async def test_alternatives_count_once_and_other_parts_are_ignored(rig: ApiLayerRig) -> None:
    parts: list[dict[str, Any]] = [
        {},
        {"content-type": "text/plain", "alternative": "a", "content": "plain"},
        {"content-type": "text/plain", "alternative": "a", "content": "again"},
        {"content": "no type: ignored"},
        {"content-type": "text/plain; charset=utf-8", "content": "second"},
    ]
    await rig.api.messages.send_parts(None, BOB, parts, 0)
    assert rig.connection.sent[0].body == "plain\nsecond"


async def test_send_refusals(rig: ApiLayerRig) -> None:
    m = rig.api.messages
    cases: list[tuple[Any, ...]] = [
        (None, "not an address@", text("x"), 0, Code.INVALID_HANDLE),
        ("nobody@localhost", BOB, text("x"), 0, Code.INVALID_HANDLE),
        (None, BOB, text("x"), 8, Code.NOT_IMPLEMENTED),
        (None, BOB, text("x" * (MAX_MESSAGE_CHARS + 1)), 0, Code.MESSAGE_TOO_LONG),
    ]
    for account, target, parts, flags, code in cases:
        with pytest.raises(ApiError) as info:
            await m.send_parts(account, target, parts, flags)
        assert info.value.code is code, (target, info.value)
    await rig.api.messenger.signout()
    with pytest.raises(ApiError) as info:
        await m.send_parts(None, BOB, text("signed out"), 0)
    assert info.value.code is Code.DISCONNECTED
    await rig.core.set_enabled(ME, False)
    with pytest.raises(ApiError) as info:
        await m.send_parts(ME, BOB, text("disabled"), 0)
    assert info.value.code is Code.DISCONNECTED
    assert rig.connection.sent == []


async def test_no_account_at_all_is_not_available(tmp_path: Path) -> None:
    rig = await ApiLayerRig.start(tmp_path, sign_in=False)
    try:
        rig.core.accounts.remove(ME)
        with pytest.raises(ApiError) as info:
            await rig.api.messages.send_parts(None, BOB, text("x"), 0)
        assert info.value.code is Code.NOT_AVAILABLE
    finally:
        await rig.close()


async def test_sent_is_told_once_the_server_takes_it(rig: ApiLayerRig) -> None:
    token = await rig.api.messages.send_parts(None, BOB, text("hello"), REPORT_DELIVERY)
    rig.connection.listener.on_acked(token, BOB)
    content, flags, told = await rig.sink.wait_for("message_sent")
    assert (told, flags) == (token, REPORT_DELIVERY)
    assert content[1] == {"content-type": "text/plain", "content": "hello"}


# -- the received log (section 6a) ------------------------------------------------------------


async def test_received_messages_carry_a_gap_free_sequence(rig: ApiLayerRig) -> None:
    await rig.receive("one", "two")
    await rig.receive("three", peer="carol@localhost")
    told = [args[0] for args in rig.sink.named("message_received")]
    assert sequences(told) == [1, 2, 3]
    header = told[0][0]
    assert header["message-sender-id"] == BOB
    assert header["account"] == ME
    assert isinstance(header["message-received"], int)
    assert told[0][1] == {"content-type": "text/plain", "content": "one"}

    # GetReceived answers exactly what the events carried.
    assert rig.api.messages.received(None, 0, 1000) == told
    assert rig.api.messages.received(ME, 1, 1) == told[1:2]
    assert rig.api.messages.received(ME, 3, 10) == []
    assert rig.api.messages.last_sequence(ME) == 3


async def test_reports_are_in_the_same_sequence(rig: ApiLayerRig) -> None:
    await rig.receive("before")
    token = await rig.api.messages.send_parts(None, BOB, text("x"), REPORT_DELIVERY | REPORT_READ)
    listener = rig.connection.listener
    listener.on_acked(token, BOB)
    listener.on_receipt(token, BOB)
    listener.on_displayed(token, BOB, False)
    await rig.sink.wait_for(
        "message_received", lambda a: a[0][0].get("delivery-status") == DeliveryStatus.READ
    )
    log = rig.api.messages.received(None, 0, 100)
    assert sequences(log) == [1, 2, 3, 4]
    reports = [(m[0]["delivery-status"], m[0]["delivery-token"]) for m in log[1:]]
    assert reports == [
        (DeliveryStatus.ACCEPTED, token),
        (DeliveryStatus.DELIVERED, token),
        (DeliveryStatus.READ, token),
    ]
    assert all(len(m) == 1 and m[0]["message-type"] == 4 for m in log[1:])  # no content
    assert log == [a[0] for a in rig.sink.named("message_received")]


async def test_a_bounce_is_reported_whatever_the_flags(rig: ApiLayerRig) -> None:
    token = await rig.api.messages.send_parts(None, BOB, text("x"), 0)
    rig.connection.listener.on_message_error(token, BOB, "the recipient does not exist")
    (parts,) = await rig.sink.wait_for("message_received")
    assert parts[0]["delivery-status"] == DeliveryStatus.PERMANENTLY_FAILED
    assert parts[0]["delivery-error-message"] == "the recipient does not exist"


async def test_archive_messages_are_scrollback(rig: ApiLayerRig) -> None:
    await rig.receive("from the archive", origin=Origin.ARCHIVE)
    ((header, _content),) = rig.api.messages.received(None, 0, 10)
    assert header["scrollback"] is True


@pytest.mark.parametrize("limit", [0, 1001, -1])
async def test_get_received_limits(rig: ApiLayerRig, limit: int) -> None:
    with pytest.raises(ApiError) as info:
        rig.api.messages.received(None, 0, limit)
    assert info.value.code is Code.INVALID_ARGUMENT
    assert "limit" in info.value.message


async def test_get_received_of_an_unknown_account(rig: ApiLayerRig) -> None:
    with pytest.raises(ApiError) as info:
        rig.api.messages.received("nobody@localhost", 0, 10)
    assert info.value.code is Code.INVALID_ARGUMENT


async def test_the_log_is_kept_across_a_restart(tmp_path: Path) -> None:
    rig = await ApiLayerRig.start(tmp_path)
    await rig.receive("one", "two")
    before = rig.api.messages.received(None, 0, 10)
    await rig.close()

    rig = await ApiLayerRig.start(tmp_path)
    try:
        assert rig.api.messages.received(None, 0, 10) == before
        await rig.receive("three")
        assert sequences(rig.api.messages.received(None, 0, 10)) == [1, 2, 3]
    finally:
        await rig.close()


async def test_the_storage_problem_is_told_once_each_way(rig: ApiLayerRig) -> None:
    rig.core.bus.publish(StorageFailed("the disk is full"))
    rig.core.bus.publish(StorageFailed("the disk is full"))
    rig.core.bus.publish(StorageRecovered())
    assert rig.sink.named("storage_changed") == [("the disk is full",), ("",)]
    assert rig.api.events.storage_problem == ""


async def test_a_page_stops_short_of_the_byte_budget_and_paging_gets_the_rest(
    rig: ApiLayerRig,
) -> None:
    await rig.receive(*(f"{n} " + "é" * 1000 for n in range(10)))  # about 2 kB each
    page = rig.api.messages.received(None, 0, 1000, max_bytes=8000)
    assert sequences(page) == [1, 2, 3]  # a fourth would pass 8,000 bytes
    rest = rig.api.messages.received(None, 3, 1000, max_bytes=8000)
    assert sequences(rest) == [4, 5, 6]
    # One entry always comes, whatever its size: paging never stalls.
    assert sequences(rig.api.messages.received(None, 0, 1000, max_bytes=1)) == [1]
