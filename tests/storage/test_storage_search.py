"""Full-text search: safe quoting of user input, prefixes, diacritics, snippets, order."""

from __future__ import annotations

import random
import sqlite3

import pytest
from storage_helpers import ME, OTHER, MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import SqliteMessageStore
from chinwag.storage.message_store import SEARCH_KEY_SLOT_BITS, search_key_bucket
from chinwag.storage.search import match_expression

BODIES = [
    "Let's meet at the Café Müller tomorrow",  # 0
    "The naïve approach (first draft) works",  # 1
    'She said "hello world" AND left',  # 2
    "Über alles: a*b and c-d",  # 3
    "résumé attached, see file_v2.pdf",  # 4
    "NEAR the station OR the park",  # 5
    "price is 12 euros",  # 6
    "日本語のテキスト and emoji 🎉",  # 7
]


async def fill(store: SqliteMessageStore, make: MessageFactory) -> None:
    await store.add_incoming([make.incoming(body) for body in BODIES])


def bodies(hits: list[object]) -> set[str]:
    return {hit.message.body for hit in hits}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cafe", {0}),
        ("CAFÉ", {0}),
        ("muller", {0}),
        ("Müller", {0}),
        ("naive", {1}),
        ("uber", {3}),
        ("resume", {4}),
        ("caf", {0}),  # last word is a prefix
        ("tom", {0}),
        ("caf tomorrow", set()),  # only the last word is a prefix
        ("tomorrow caf", {0}),  # every word, any order
        ("caf mull", set()),
        ("meet park", set()),
        ("the", {0, 1, 5}),
        ('"hello world"', {2}),
        ('"hello', {2}),
        ('hello"', {2}),
        ('say "hi', set()),
        ("(first draft)", {1}),
        ("(first", {1}),
        ("draft)", {1}),
        ("AND", {2, 3, 7}),  # the word "and", not an operator
        ("and left", {2}),
        ("OR", {5}),
        ("NEAR", {5}),
        ("NOT", set()),
        ("a*b", {3}),  # the tokens a, b as a phrase
        ("c-d", {3}),
        ("*", set()),
        ("**", set()),
        ("-", set()),
        ("^alles", {3}),
        ("body:cafe", set()),  # a column filter is text too ("body cafe" as a phrase)
        ("conversation_id:1", set()),
        ("{body}", set()),
        ("12", {6}),  # a number is searched in bodies, not in conversation ids
        ("1", {6}),
        ("file_v2", {4}),
        ("日本語のテキスト", {7}),
        ("🎉", set()),  # not a token character for unicode61: dropped
        ("", set()),
        ("   ", set()),
        ("\x00", set()),
        ("caf\x00e", set()),
    ],
)
async def test_search_text_is_safe_and_matches_words(
    store: SqliteMessageStore, make: MessageFactory, text: str, expected: set[int]
) -> None:
    await fill(store, make)
    assert bodies(store.search(text)) == {BODIES[i] for i in expected}


async def test_snippet_marks_the_matches(store: SqliteMessageStore, make: MessageFactory) -> None:
    await fill(store, make)
    [hit] = store.search("cafe tomo")
    assert hit.snippet == "Let's meet at the \x02Café\x03 Müller \x02tomorrow\x03"


async def test_snippet_of_a_long_message_is_shortened(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    words = [f"word{i}" for i in range(200)]
    words[120] = "needle"
    await store.add_incoming([make.incoming(" ".join(words))])
    [hit] = store.search("needle")
    assert "\x02needle\x03" in hit.snippet
    assert len(hit.snippet.split()) < 20
    assert "…" in hit.snippet


async def test_newest_first_and_limit(store: SqliteMessageStore, make: MessageFactory) -> None:
    # stored out of time order (archive catch-up), some in the same millisecond
    timestamps = [500.0, 100.0, 300.0, 300.0, 900.0, 200.0, 300.0004, 700.0]
    stored = await store.add_incoming(
        [make.incoming(f"ping {i}", timestamp=ts) for i, ts in enumerate(timestamps)]
    )
    newest_first = sorted(stored, key=lambda m: (m.timestamp, m.id), reverse=True)

    hits = store.search("ping")
    assert [hit.message for hit in hits] == newest_first
    assert [hit.message for hit in store.search("ping", limit=3)] == newest_first[:3]
    assert store.search("ping", limit=0) == []


async def test_search_in_one_conversation(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_incoming(
        [make.incoming("lunch here"), make.incoming("lunch there", peer=OTHER)]
    )
    await store.add_outgoing(make.outgoing("lunch? sure", peer=OTHER))

    assert bodies(store.search("lunch", key)) == {"lunch here"}
    assert bodies(store.search("lunch", ConversationKey(ME, OTHER))) == {
        "lunch there",
        "lunch? sure",
    }
    assert store.search("lunch", ConversationKey(ME, "nobody@x")) == []
    assert len(store.search("lunch")) == 3


async def test_search_returns_whole_messages(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    sent = await store.add_outgoing(make.outgoing("findable text", subject="s", flags=1))
    [hit] = store.search("findable")
    assert hit.message == sent


async def test_random_input_never_raises(store: SqliteMessageStore, make: MessageFactory) -> None:
    await fill(store, make)
    alphabet = ["abcé", "AND", "OR", "NOT", "NEAR", "(", ")", '"', "*", ":", "^", "-", "+"]
    alphabet += ["{", "}", "[", "]", ",", ".", ";", "'", "\\", "/", "\x00", "\t", "1", "日"]
    alphabet += [" ", '"', "*"]
    rng = random.Random(1234)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        store.search(text)  # must not raise
        store.search(text, ConversationKey(ME, "peer@example.net"))


async def test_full_text_index_stays_consistent(
    file_store: SqliteMessageStore, make: MessageFactory
) -> None:
    await fill(file_store, make)

    def change(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE messages SET body = 'rewritten text' WHERE body LIKE 'price%'")
        conn.execute("DELETE FROM messages WHERE body LIKE 'NEAR%'")
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")

    await file_store.database.write(change)
    assert bodies(file_store.search("rewritten")) == {"rewritten text"}
    assert file_store.search("euros") == []
    assert file_store.search("station") == []

    def rebuild(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")

    await file_store.database.write(rebuild)
    assert bodies(file_store.search("cafe")) == {BODIES[0]}


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("hello", 'body : ("hello"*)'),
        ("hello world", 'body : ("hello" "world"*)'),
        ('say "hi"', 'body : ("say" """hi"""*)'),
        ("a AND b", 'body : ("a" "AND" "b"*)'),
        ("*", None),
        ("", None),
        ("  \t\n ", None),
        ("x\x00y", 'body : ("x" "y"*)'),
    ],
)
def test_match_expression(text: str, expression: str | None) -> None:
    assert match_expression(text) == expression


def test_match_expression_in_a_conversation() -> None:
    assert match_expression("hi", 42) == 'conversation_id : "42" AND body : ("hi"*)'


# -- the time-ordered search key ------------------------------------------------------------


def test_search_key_bucket() -> None:
    one_ms = 1 << SEARCH_KEY_SLOT_BITS
    assert search_key_bucket(0.0) == 0
    assert search_key_bucket(1.0) == 1000 * one_ms
    assert search_key_bucket(1.25) == 1250 * one_ms
    assert search_key_bucket(1.2504) == 1250 * one_ms  # same millisecond
    assert search_key_bucket(-5.0) == 0
    assert search_key_bucket(float("inf")) == 0
    assert search_key_bucket(1e300) + one_ms < 2**63  # clamped: the bucket fits an INTEGER
    # monotonic, so the index order is the time order (to the millisecond)
    rng = random.Random(5)
    stamps = sorted(rng.uniform(1.6e9, 1.8e9) for _ in range(10_000))
    keys = [search_key_bucket(ts) for ts in stamps]
    assert keys == sorted(keys)


async def test_odd_timestamps_are_stored_and_found(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    stored = await store.add_incoming(
        [
            make.incoming("odd negative", timestamp=-100.0),
            make.incoming("odd far future", timestamp=1e15),
            make.incoming("odd epoch", timestamp=0.0),
        ]
    )
    assert [hit.message for hit in store.search("odd")] == [stored[1], stored[2], stored[0]]


async def test_a_full_millisecond_still_gets_unique_keys(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    def fill_the_bucket(conn: sqlite3.Connection) -> None:
        # pretend 2**20 messages were stored in millisecond 5000
        conn.execute(
            "INSERT INTO conversations (id, account, peer, kind) VALUES (99, 'x', 'y', 'chat')"
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, uid, sender, sender_resource, body,"
            " timestamp, state, error, mtype, origin, subject, flags, search_key)"
            " VALUES (99, 0, 'filler', '', '', 'filler', 5.0, 11, '', 0, 0, '', 0, ?)",
            (search_key_bucket(5.0) + (1 << SEARCH_KEY_SLOT_BITS) - 1,),
        )

    await store.database.write(fill_the_bucket)
    stored = await store.add_incoming([make.incoming("overflow", timestamp=5.0) for _ in range(3)])
    assert len(stored) == 3
    assert len(store.search("overflow")) == 3
