"""The received log (automation-api.md section 6a): every message received and every
delivery report on one of ours gets the account's next sequence, in the transaction that
stores it; gap-free, never reused, kept across a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from storage_helpers import ME, OTHER, PEER, MessageFactory

from chinwag.core.errors import StorageUnavailable
from chinwag.core.models import (
    REPORT_DELIVERY,
    REPORT_READ,
    Direction,
    MessageState,
    Origin,
    Received,
    Report,
)
from chinwag.storage import SqliteMessageStore
from rig.small_disk import small_disk

S = MessageState
ALICE = "alice@example.org"


def listen(store: SqliteMessageStore) -> list[Received]:
    heard: list[Received] = []
    store.on_received = heard.extend
    return heard


async def test_incoming_messages_are_numbered_per_account_from_one(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    heard = listen(store)
    await store.add_incoming([make.incoming("one"), make.incoming("two")])
    await store.add_incoming([make.incoming("three", peer=OTHER)])
    await store.add_incoming([make.incoming("elsewhere", account=ALICE)])

    log = store.received_after(ME, 0, 100)
    assert [(e.sequence, e.message.body) for e in log] == [(1, "one"), (2, "two"), (3, "three")]
    assert all(e.report is None for e in log)
    assert [(e.sequence, e.message.body) for e in store.received_after(ALICE, 0, 10)] == [
        (1, "elsewhere")
    ]
    # Heard after each commit, exactly as stored.
    assert [(e.account, e.sequence) for e in heard] == [(ME, 1), (ME, 2), (ME, 3), (ALICE, 1)]
    assert heard[:3] == log
    assert store.last_received(ME) == 3
    assert store.last_received("nobody@example.org") == 0


async def test_after_and_limit_page_through_the_log(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_incoming([make.incoming(f"m{n}") for n in range(1, 11)])
    assert [e.sequence for e in store.received_after(ME, 3, 4)] == [4, 5, 6, 7]
    assert [e.sequence for e in store.received_after(ME, 8, 100)] == [9, 10]
    assert store.received_after(ME, 10, 100) == []
    assert [e.sequence for e in store.received_after(ME, -5, 2)] == [1, 2]


async def test_duplicates_and_own_copies_get_no_sequence(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    first = make.incoming("hello", uid="same")
    await store.add_incoming([first])
    await store.add_incoming([make.incoming("hello again", uid="same")])  # a duplicate
    # Our own message sent from another device (a carbon) is not something received.
    await store.add_incoming([make.outgoing("from my phone", origin=Origin.CARBON, state=S.SENT)])

    assert [e.message.uid for e in store.received_after(ME, 0, 10)] == ["same"]
    assert store.last_received(ME) == 1


async def test_reports_follow_the_flags_the_message_was_sent_with(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    both = await store.add_outgoing(make.outgoing("both", flags=REPORT_DELIVERY | REPORT_READ))
    none = await store.add_outgoing(make.outgoing("none", flags=0))
    read_only = await store.add_outgoing(make.outgoing("read only", flags=REPORT_READ))
    for message in (both, none, read_only):
        await store.update_state(ME, PEER, message.uid, S.SENT)
        await store.update_state(ME, PEER, message.uid, S.DELIVERED)
    await store.mark_read_up_to(ME, PEER, read_only.uid)  # reads all three

    log = store.received_after(ME, 0, 100)
    assert [(e.message.uid, e.report) for e in log] == [
        (both.uid, Report.ACCEPTED),
        (both.uid, Report.DELIVERED),
        (both.uid, Report.READ),
        (read_only.uid, Report.READ),
    ]
    assert [e.sequence for e in log] == [1, 2, 3, 4]
    assert all(e.message.direction is Direction.OUTGOING for e in log)


async def test_a_read_marker_that_overtakes_the_receipt_reports_the_delivery_too(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    message = await store.add_outgoing(make.outgoing("x", flags=REPORT_DELIVERY | REPORT_READ))
    await store.update_state(ME, PEER, message.uid, S.SENT)
    await store.mark_read_up_to(ME, PEER, message.uid)
    await store.update_state(ME, PEER, message.uid, S.DELIVERED)  # late: no step back

    reports = [e.report for e in store.received_after(ME, 0, 100)]
    assert reports == [Report.ACCEPTED, Report.DELIVERED, Report.READ]


async def test_a_failure_is_always_reported_with_its_reason(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    quiet = await store.add_outgoing(make.outgoing("x", flags=0))
    await store.update_state(ME, PEER, quiet.uid, S.FAILED, "recipient-unavailable")
    (entry,) = store.received_after(ME, 0, 10)
    assert entry.report is Report.PERMANENTLY_FAILED
    assert entry.error == "recipient-unavailable"


async def test_the_log_and_its_counter_survive_a_reopen(
    tmp_path: Path, make: MessageFactory
) -> None:
    path = tmp_path / "history.sqlite3"
    store = SqliteMessageStore.open(path)
    await store.add_incoming([make.incoming("before")])
    before = store.received_after(ME, 0, 10)
    await store.close()

    store = SqliteMessageStore.open(path)
    try:
        assert store.received_after(ME, 0, 10) == before
        await store.add_incoming([make.incoming("after")])
        assert [e.sequence for e in store.received_after(ME, 0, 10)] == [1, 2]
    finally:
        await store.close()


async def test_a_number_is_never_given_twice_even_when_entries_go(
    file_store: SqliteMessageStore, make: MessageFactory
) -> None:
    await file_store.add_incoming([make.incoming("one"), make.incoming("two")])

    def forget(conn: sqlite3.Connection) -> None:  # as a future history clean-up might
        conn.execute("DELETE FROM received WHERE sequence = 2")

    await file_store.database.write(forget)
    await file_store.add_incoming([make.incoming("three")])
    assert [e.sequence for e in file_store.received_after(ME, 0, 10)] == [1, 3]


async def test_a_write_the_full_disk_refuses_leaves_no_number_behind(
    tmp_path: Path, make: MessageFactory
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        store = SqliteMessageStore.open(disk.root / "history.sqlite3")
        try:
            heard = listen(store)
            await store.add_incoming([make.incoming("one")])
            disk.fill()
            with pytest.raises(StorageUnavailable):
                await store.add_incoming([make.incoming("x" * 200_000) for _ in range(5)])
            disk.free()
            await store.add_incoming([make.incoming("stored again")])

            log = store.received_after(ME, 0, 10)
            assert [(e.sequence, e.message.body) for e in log] == [(1, "one"), (2, "stored again")]
            assert [e.sequence for e in heard] == [1, 2]
        finally:
            disk.free()
            await store.close()
