"""HistoryModel: a bounded, keyset-paged window over a conversation in the real store,
checked by Qt's model tester while it pages, grows, is trimmed and updated."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester

from chinwag.core.models import (
    ConversationKey,
    Direction,
    MessageState,
    SearchHit,
)
from chinwag.ui.day_separators import local_day
from chinwag.ui.history_model import (
    SCROLL_PAGE,
    HistoryModel,
    Role,
    loaded_messages,
    match_ranges,
)

if TYPE_CHECKING:
    from conftest import UiRig


def bodies(model: HistoryModel) -> list[str]:
    return [m.body for m in loaded_messages(model)]


async def test_opens_on_the_newest_page_only(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    await ui.fill(500)
    model = HistoryModel(ui.store, key, page_size=50, peer_name="Peer")
    qtmodeltester.check(model)
    assert model.rowCount() == 50
    assert bodies(model) == [f"message {n}" for n in range(450, 500)]  # oldest first
    assert model.has_older
    assert model.at_live_end


async def test_roles(ui: UiRig, key: ConversationKey) -> None:
    await ui.fill(2)
    model = HistoryModel(ui.store, key, own_name="Me", peer_name="Peer")
    first, second = model.index(0), model.index(1)
    assert first.data(Role.BODY) == "message 0"
    assert first.data(Qt.ItemDataRole.DisplayRole) == "message 0"
    assert first.data(Role.SENDER) == "Peer"
    assert second.data(Role.SENDER) == "Me"
    assert first.data(Role.DIRECTION) is Direction.INCOMING
    assert second.data(Role.STATE) is MessageState.READ
    assert first.data(Role.TIMESTAMP) == 1_600_000_000.0
    assert first.data(Role.UID) == f"h0-{key.peer}"
    assert first.data(Role.ERROR) == ""
    assert first.data(Role.SEARCH_MATCH) == ()
    assert first.data(Role.CURRENT_MATCH) is False
    assert "Me" in second.data(Qt.ItemDataRole.AccessibleTextRole)
    assert "read" in second.data(Qt.ItemDataRole.AccessibleTextRole)
    assert model.roleNames()[Role.BODY].data() == b"body"
    assert model.rowCount(first) == 0  # a list: rows have no children


async def test_fetch_older_prepends_pages_until_the_start(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    await ui.fill(120)
    model = HistoryModel(ui.store, key, page_size=50, max_rows=1000)
    qtmodeltester.check(model)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))

    # 50 rows on open, then pages of SCROLL_PAGE (each is laid out in one turn of the
    # loop: half a page keeps that turn short)
    assert model.rowCount() == 50
    assert model.scroll_page == SCROLL_PAGE == 25
    assert model.fetch_older() == 25
    assert model.fetch_older() == 25
    assert model.fetch_older() == 20
    assert not model.has_older
    assert model.fetch_older() == 0
    assert inserted == [(0, 24), (0, 24), (0, 19)]  # always at the top
    assert bodies(model) == [f"message {n}" for n in range(120)]


async def test_scroll_pages_are_at_most_a_page(ui: UiRig, key: ConversationKey) -> None:
    await ui.fill(30)
    assert HistoryModel(ui.store, key, page_size=6, max_rows=12).scroll_page == 6
    model = HistoryModel(ui.store, key, page_size=10, scroll_page=4, max_rows=20)
    assert model.rowCount() == 10
    assert model.fetch_older() == 4
    with pytest.raises(ValueError, match="at most a page"):
        HistoryModel(ui.store, key, page_size=10, scroll_page=11, max_rows=20)


async def test_memory_is_bounded_by_trimming_the_far_end(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    await ui.fill(1000)
    model = HistoryModel(ui.store, key, page_size=50, max_rows=150)
    qtmodeltester.check(model)
    for _ in range(10):
        model.fetch_older()
        assert model.rowCount() <= 150
    assert not model.at_live_end  # the newest rows were dropped at the bottom
    assert bodies(model)[0] == "message 700"  # 10 pages of 25 before the newest 50
    # new messages are not appended while the bottom is not loaded ...
    new = await ui.store.add_incoming([ui.message(2000)])
    assert not model.add(new[0])
    # ... and paging forward reaches them, trimming the top
    while not model.at_live_end:
        model.fetch_newer()
        assert model.rowCount() <= 150
    assert bodies(model)[-1] == "message 2000"
    assert model.has_older


async def test_new_messages_append_and_states_update_in_place(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    await ui.fill(10)
    model = HistoryModel(ui.store, key)
    qtmodeltester.check(model)
    changed: list[tuple[int, int, list[int]]] = []
    model.dataChanged.connect(lambda a, b, roles: changed.append((a.row(), b.row(), roles)))

    outgoing = replace(ui.message(100), direction=Direction.OUTGOING, state=MessageState.QUEUED)
    stored = await ui.store.add_outgoing(outgoing)
    assert model.add(stored)
    assert model.rowCount() == 11
    assert model.index(10).data(Role.STATE) is MessageState.QUEUED
    assert not model.add(stored)  # the same message twice is one row

    failed = await ui.store.update_state(
        ui.me, key.peer, stored.uid, MessageState.FAILED, "bounced"
    )
    assert failed is not None
    assert model.update(failed)
    assert model.index(10).data(Role.STATE) is MessageState.FAILED
    assert model.index(10).data(Role.ERROR) == "bounced"
    assert changed[-1][:2] == (10, 10)
    assert Role.STATE in changed[-1][2]
    assert model.row_of(failed) == 10
    assert model.row_of((Direction.INCOMING, stored.uid)) is None  # keyed by direction too


async def test_late_archive_message_is_inserted_in_time_order(
    ui: UiRig, key: ConversationKey
) -> None:
    stored = await ui.fill(10)
    model = HistoryModel(ui.store, key)
    late = replace(ui.message(0), timestamp=stored[4].timestamp + 1, uid="late")
    (late,) = await ui.store.add_incoming([late])
    assert model.add(late)
    assert model.row_of(late) == 5
    assert model.index(5).data(Role.UID) == "late"


async def test_messages_of_other_conversations_are_ignored(ui: UiRig, key: ConversationKey) -> None:
    await ui.fill(3)
    model = HistoryModel(ui.store, key)
    other = await ui.store.add_incoming([replace(ui.message(5), peer="other@example.net")])
    assert not model.add(other[0])
    assert not model.update(other[0])
    assert model.rowCount() == 3


async def test_load_around_a_message_far_back(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    stored = await ui.fill(1000)
    model = HistoryModel(ui.store, key, page_size=50)
    qtmodeltester.check(model)
    target = stored[300]
    assert model.row_of(target) is None
    model.load_around(target)
    row = model.row_of(target)
    assert row is not None
    assert model.message(row).uid == target.uid
    assert model.rowCount() == 50
    assert not model.at_live_end
    assert model.has_older
    model.load_latest()
    assert model.at_live_end
    assert bodies(model)[-1] == "message 999"


async def test_load_around_near_the_end_knows_the_day_before_its_first_row(
    ui: UiRig, key: ConversationKey
) -> None:
    """Around a message near the newest (fewer rows than a page, older ones loaded in
    full): the first row starts a day only if the message before it is of another day.
    (A separator wrongly drawn above it went as the next page came in above, moving the
    text shown at the top of the view.)"""
    stored = await ui.fill(200)
    model = HistoryModel(ui.store, key, page_size=50)
    model.load_around(stored[20])  # (far from the newest: the newest page is not loaded)
    model.load_around(stored[195])
    assert model.rowCount() < model.page_size
    assert model.has_older
    first = model.row_of(stored[170])
    assert first == 0
    before = stored[169]
    assert model.starts_day(0) == (local_day(before.timestamp) != local_day(stored[170].timestamp))


async def test_search_hits_are_highlighted(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    await ui.fill(4)
    stored = await ui.store.add_incoming([replace(ui.message(50), body="Lunch at noon? LUNCH!")])
    model = HistoryModel(ui.store, key)
    qtmodeltester.check(model)
    hits = ui.store.search("lunch", key)
    assert [h.message.uid for h in hits] == [stored[0].uid]
    model.set_search(hits)
    row = model.row_of(stored[0])
    assert row is not None
    assert model.index(row).data(Role.SEARCH_MATCH) == ((0, 5), (15, 5))
    assert model.index(0).data(Role.SEARCH_MATCH) == ()
    model.set_current_hit(hits[0].message)
    assert model.index(row).data(Role.CURRENT_MATCH) is True
    model.set_search([])
    assert model.index(row).data(Role.SEARCH_MATCH) == ()
    assert model.index(row).data(Role.CURRENT_MATCH) is False


def test_match_ranges_come_from_the_marked_words() -> None:
    body = "Café au lait, then another café"
    hit_snippet = "\x02Café\x03 au lait, then another \x02café\x03"
    assert match_ranges(body, hit_snippet) == ((0, 4), (27, 4))
    assert match_ranges("nothing", "no markers") == ()
    assert match_ranges("a (b) c", "\x02(b)\x03") == ((2, 3),)  # regex characters are literal
    _ = SearchHit  # the store's hit type, for readers


async def test_empty_conversation(
    ui: UiRig, key: ConversationKey, qtmodeltester: ModelTester
) -> None:
    model = HistoryModel(ui.store, key)
    qtmodeltester.check(model)
    assert model.rowCount() == 0
    assert model.fetch_older() == 0
    assert not model.has_older
    assert model.at_live_end
    assert model.data(QModelIndex()) is None


async def test_a_screen_reader_is_given_as_much_as_the_row_shows(
    ui: UiRig, key: ConversationKey
) -> None:
    from chinwag.ui.history_model import SPOKEN_CHARS

    await ui.fill(1, body="x" * 250_000)
    model = HistoryModel(ui.store, key, own_name="Me", peer_name="Peer")
    spoken = model.index(0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken.startswith("Peer, ")
    assert "x" * SPOKEN_CHARS in spoken
    assert "x" * (SPOKEN_CHARS + 1) not in spoken
    assert len(spoken) < SPOKEN_CHARS + 200
    assert "250" in spoken.rsplit("(", 1)[1]  # how long it is, said
    assert model.index(0).data(Role.BODY) == "x" * 250_000  # the text itself is whole
