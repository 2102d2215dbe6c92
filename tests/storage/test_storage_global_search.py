"""Global search (every conversation at once) and the reads behind "jump to a date":
results from all of 1,000 conversations, newest first, with snippets; limited to a span
of time as a rowid range of the full-text index; the first message on or after a moment."""

from __future__ import annotations

import pytest
from storage_helpers import ME, PEER, MessageFactory

from chinwag.core.models import ConversationKey, ConversationKind
from chinwag.storage import SqliteMessageStore
from chinwag.storage import message_store as ms

CONVERSATIONS = 1000
DAY = 86_400.0
START = 1_700_000_000.0


def peer(n: int) -> str:
    return f"contact{n:04d}@example.net"


async def fill_many(store: SqliteMessageStore, make: MessageFactory) -> None:
    """Three messages in each of 1,000 conversations, one of them with "harbour" in it; the
    conversations take turns, so the newest harbour is in the last conversation."""
    messages = []
    for round_ in range(3):
        for n in range(CONVERSATIONS):
            at = START + round_ * DAY + n
            body = f"meet at the harbour at {n} o'clock" if round_ == 1 else f"chat {n} {round_}"
            messages.append(make.incoming(body, peer=peer(n), timestamp=at))
    await store.add_incoming(messages)


async def test_global_search_finds_every_conversation_newest_first(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await fill_many(store, make)
    hits = store.search("harb", limit=5000)
    assert len(hits) == CONVERSATIONS
    assert {hit.message.peer for hit in hits} == {peer(n) for n in range(CONVERSATIONS)}
    stamps = [hit.message.timestamp for hit in hits]
    assert stamps == sorted(stamps, reverse=True)
    assert hits[0].message.peer == peer(CONVERSATIONS - 1)
    assert hits[0].message.key == ConversationKey(ME, peer(CONVERSATIONS - 1))
    assert "\x02harbour\x03" in hits[0].snippet
    # the limit takes the newest
    assert [h.message.uid for h in store.search("harb", limit=10)] == [
        h.message.uid for h in hits[:10]
    ]
    # one conversation only
    only = store.search("harbour", ConversationKey(ME, peer(7)))
    assert [h.message.body for h in only] == ["meet at the harbour at 7 o'clock"]


async def test_search_in_a_span_of_time(store: SqliteMessageStore, make: MessageFactory) -> None:
    await fill_many(store, make)
    # "chat" is in rounds 0 and 2; round 2 only:
    late = store.search("chat", limit=5000, since=START + 2 * DAY)
    assert len(late) == CONVERSATIONS
    assert all(h.message.body.endswith(" 2") for h in late)
    early = store.search("chat", limit=5000, until=START + DAY)
    assert len(early) == CONVERSATIONS
    assert all(h.message.body.endswith(" 0") for h in early)
    # [since, until) in whole milliseconds: the bounds of one message
    one = store.search("chat", since=START + 5, until=START + 5.001)
    assert [h.message.body for h in one] == ["chat 5 0"]
    assert store.search("chat", since=START + 5, until=START + 5) == []
    assert store.search("chat", since=START + 9, until=START + 1) == []
    # a span and one conversation
    key = ConversationKey(ME, peer(3))
    assert [h.message.body for h in store.search("chat", key, since=START + DAY)] == ["chat 3 2"]
    assert store.search("chat", ConversationKey(ME, "nobody@x"), since=START) == []
    assert store.search("", since=START) == []


async def test_search_in_a_span_walks_the_index_by_rowid(
    file_store: SqliteMessageStore, make: MessageFactory
) -> None:
    await fill_many(file_store, make)
    start, end = ms.search_key_bucket(START), ms.search_key_bucket(START + DAY)
    with file_store.database.reading() as conn:
        steps = [
            row[3]
            for row in conn.execute(
                f"EXPLAIN QUERY PLAN {ms.SEARCH_SPAN_SQL}", ('body : ("c"*)', start, end, 50)
            )
        ]
    assert steps[0].startswith("SCAN messages_fts VIRTUAL TABLE"), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps


async def test_first_from_finds_the_first_message_on_or_after(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    key = ConversationKey(ME, PEER)
    await store.add_incoming(
        [make.incoming(f"day {n}", timestamp=START + n * DAY) for n in range(5)]
    )

    def body_from(moment: float) -> str | None:
        found = store.first_from(key, moment)
        return None if found is None else found.body

    assert body_from(START + 1.5 * DAY) == "day 2"
    assert body_from(START + 3 * DAY) == "day 3"
    assert body_from(0.0) == "day 0"
    assert store.first_from(key, START + 10 * DAY) is None
    assert store.first_from(key, float("nan")) is None
    assert store.first_from(ConversationKey(ME, "nobody@x"), START) is None
    room = ConversationKey(ME, PEER, ConversationKind.GROUPCHAT)  # another conversation
    assert store.first_from(room, START) is None


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stats", "analyzed"])
async def test_first_from_walks_the_time_index(
    file_store: SqliteMessageStore, make: MessageFactory, analyzed: bool
) -> None:
    await fill_many(file_store, make)
    if analyzed:  # the plan must not flip once someone runs ANALYZE
        await file_store.database.write(lambda conn: conn.execute("ANALYZE"))
    with file_store.database.reading() as conn:
        steps = [
            row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {ms.FIRST_FROM_SQL}", (1, START))
        ]
    assert any("INDEX messages_by_time (" in step for step in steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps
