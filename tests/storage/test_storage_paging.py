"""Keyset paging on (timestamp, id): latest/before/after, ties, and the query plans."""

from __future__ import annotations

import random

import pytest
from storage_helpers import OTHER, MessageFactory

from chinwag.core.models import ConversationKey, Message, PageAnchor
from chinwag.storage import SqliteMessageStore
from chinwag.storage import message_store as ms


def anchor(message: Message) -> PageAnchor:
    assert message.id is not None
    return PageAnchor(message.timestamp, message.id)


def order(messages: list[Message]) -> list[Message]:
    return sorted(messages, key=lambda m: (m.timestamp, m.id))


async def fill_with_ties(store: SqliteMessageStore, make: MessageFactory) -> list[Message]:
    """47 messages in 6 timestamp groups, stored out of time order (as an archive catch-up
    stores older messages after newer ones), plus noise in another conversation."""
    rng = random.Random(7)
    timestamps = [100.0] * 10 + [200.0] * 1 + [300.0] * 15 + [250.0] * 7 + [50.0] * 9 + [400.0] * 5
    rng.shuffle(timestamps)
    stored: list[Message] = []
    for i, ts in enumerate(timestamps):
        message = (
            make.incoming(f"m{i}", timestamp=ts) if i % 2 else make.outgoing(f"m{i}", timestamp=ts)
        )
        if i % 2:
            stored.extend(await store.add_incoming([message]))
        else:
            stored.append(await store.add_outgoing(message))
        await store.add_incoming([make.incoming("noise", peer=OTHER, timestamp=ts)])
    return order(stored)


@pytest.mark.parametrize("limit", [1, 3, 7, 10, 47, 100])
async def test_backward_paging_visits_every_row_once(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey, limit: int
) -> None:
    everything = await fill_with_ties(store, make)

    pages = [store.latest(key, limit)]
    while pages[-1]:
        pages.append(store.before(key, anchor(pages[-1][0]), limit))
    seen = [m for page in reversed(pages) for m in page]

    assert seen == everything
    assert all(page == order(page) for page in pages)  # oldest first within a page
    assert all(len(page) == limit for page in pages[1:-2])


@pytest.mark.parametrize("limit", [1, 4, 10, 100])
async def test_forward_paging_visits_every_row_once(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey, limit: int
) -> None:
    everything = await fill_with_ties(store, make)

    first = everything[0]
    seen = [first]
    while page := store.after(key, anchor(seen[-1]), limit):
        assert page == order(page)
        seen.extend(page)

    assert seen == everything


async def test_anchors_inside_a_tie(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    everything = await fill_with_ties(store, make)
    for index, message in enumerate(everything):
        assert store.before(key, anchor(message), 1000) == everything[:index]
        assert store.after(key, anchor(message), 1000) == everything[index + 1 :]
        assert store.before(key, anchor(message), 2) == everything[max(0, index - 2) : index]
        assert store.after(key, anchor(message), 2) == everything[index + 1 : index + 3]


async def test_latest_is_the_newest_oldest_first(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    everything = await fill_with_ties(store, make)
    assert store.latest(key, 5) == everything[-5:]
    assert store.latest(key, 0) == []
    assert store.latest(ConversationKey("x@y", "z@w"), 5) == []
    assert store.before(key, PageAnchor(0.0, 0), 5) == []
    assert store.after(key, PageAnchor(10_000.0, 0), 5) == []


async def test_anchor_of_a_message_that_is_not_stored(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    everything = await fill_with_ties(store, make)
    # e.g. the UI still shows a row from a different conversation: the position still works
    assert store.before(key, PageAnchor(250.0, 0), 100) == [
        m for m in everything if m.timestamp < 250
    ]
    assert store.after(key, PageAnchor(250.0, 10**9), 100) == [
        m for m in everything if m.timestamp > 250
    ]


# -- query plans -------------------------------------------------------------------------------


def plan(store: SqliteMessageStore, sql: str, params: tuple[object, ...]) -> list[str]:
    with store.database.reading() as conn:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


PAGING = [
    pytest.param(ms.LATEST_SQL, (1, 50), id="latest"),
    pytest.param(ms.BEFORE_SQL, (1, 250.0, 20, 50), id="before"),
    pytest.param(ms.AFTER_SQL, (1, 250.0, 20, 50), id="after"),
]


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stats", "analyzed"])
@pytest.mark.parametrize(("sql", "params"), PAGING)
async def test_paging_uses_the_time_index_without_sorting(
    file_store: SqliteMessageStore,
    make: MessageFactory,
    sql: str,
    params: tuple[object, ...],
    analyzed: bool,
) -> None:
    await fill_with_ties(file_store, make)
    if analyzed:  # plans must not flip once someone runs ANALYZE / PRAGMA optimize
        await file_store.database.write(lambda conn: conn.execute("ANALYZE"))

    steps = plan(file_store, sql, params)

    assert any("USING INDEX messages_by_time (conversation_id=?" in step for step in steps), steps
    assert not any(step.startswith("SCAN") for step in steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps


@pytest.mark.parametrize(
    ("sql", "params", "index"),
    [
        (ms.COUNT_SQL, (1,), "messages_by_time"),
        (ms.UNSEEN_UP_TO_SQL, (1, 10.0, 5), "messages_unseen"),
        (ms.UNREAD_BY_PEER_UP_TO_SQL, (1, 10.0, 5), "messages_unread_by_peer"),
        (ms.STANZA_ID_TAKEN_SQL, ("S", "a@b"), "messages_by_stanza_id"),
        (ms.GET_SQL, ("a@b", "c@d", "uid"), "sqlite_autoindex_messages_1"),
        (ms.GET_OUTGOING_SQL, ("a@b", "c@d", "uid"), "sqlite_autoindex_messages_1"),
    ],
)
async def test_state_queries_use_their_index(
    file_store: SqliteMessageStore,
    make: MessageFactory,
    sql: str,
    params: tuple[object, ...],
    index: str,
) -> None:
    await fill_with_ties(file_store, make)
    steps = plan(file_store, sql, params)
    assert any(f"INDEX {index} (" in step for step in steps), steps
    assert not any(step.startswith("SCAN") for step in steps), steps


async def test_pending_outgoing_walks_the_queue_index(
    file_store: SqliteMessageStore, make: MessageFactory
) -> None:
    await fill_with_ties(file_store, make)
    steps = plan(file_store, ms.PENDING_OUTGOING_SQL, ("a@b",))
    # a scan, but of the partial index of queued messages only (usually empty)
    assert steps[0] == "SCAN m USING INDEX messages_queued", steps
    assert not any("TEMP B-TREE" in step for step in steps), steps


async def test_search_walks_the_full_text_index_newest_first(
    file_store: SqliteMessageStore, make: MessageFactory
) -> None:
    await fill_with_ties(file_store, make)
    steps = plan(file_store, ms.SEARCH_SQL, ('body : ("m1"*)', 50))
    assert steps[0].startswith("SCAN messages_fts VIRTUAL TABLE"), steps
    assert "SEARCH m USING INDEX messages_by_search_key (search_key=?)" in steps, steps
    assert not any("TEMP B-TREE" in step for step in steps), steps


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stats", "analyzed"])
@pytest.mark.parametrize(
    ("sql", "params"),
    [
        pytest.param(ms.UNREAD_COUNT_SQL, (1,), id="unread_count"),
        pytest.param(ms.UNREAD_COUNTS_SQL.format(where=""), (), id="unread_counts"),
        pytest.param(
            ms.UNREAD_COUNTS_SQL.format(where="AND c.account = ?"), ("a@b",), id="of_account"
        ),
        pytest.param(ms.SEEN_UP_TO_SEQUENCE_SQL, (1, 10.0, 5), id="seen_up_to"),
    ],
)
async def test_read_position_queries_walk_only_the_log_after_it(
    file_store: SqliteMessageStore,
    make: MessageFactory,
    sql: str,
    params: tuple[object, ...],
    analyzed: bool,
) -> None:
    """Unread counts and "seen up to" read the events after our read position, a range
    of the log's primary key per conversation: never a scan of the log or the messages."""
    await fill_with_ties(file_store, make)
    if analyzed:
        await file_store.database.write(lambda conn: conn.execute("ANALYZE"))
    steps = plan(file_store, sql, params)
    assert "SEARCH e USING PRIMARY KEY (conversation_id=? AND sequence>?)" in steps, steps
    assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in steps, steps
    assert not any(step.startswith("SCAN") and step != "SCAN c" for step in steps), steps
