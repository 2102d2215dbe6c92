"""Issue 16, second review: what is pasted into a search box costs a bounded amount of
full-text work. FTS5 reads a phrase's doclist once per phrase: a 10 kB query repeating a
common word (2,500 times "the") took 4.6 s on 200,000 messages, and 5,000 times "a" 21 s,
on the loop (the global search and a conversation's search run there). Words are now
counted once (as the index folds them) and the query keeps at most
:data:`MAX_QUERY_TOKENS` of what the index splits words into."""

from __future__ import annotations

import re

from storage_helpers import MessageFactory

from chinwag.storage import SqliteMessageStore
from chinwag.storage.search import MAX_QUERY_TOKENS, match_expression


def tokens(expression: str | None) -> int:
    """Index tokens the expression asks for (runs of letters and digits in its phrases)."""
    assert expression is not None
    return len(re.findall(r"\w+", expression.split(" : ", 1)[1]))


def test_a_word_repeated_is_asked_for_once() -> None:
    assert match_expression(" ".join(["the"] * 2500)) == 'body : ("the"*)'
    assert match_expression("The the THE cat the") == 'body : ("cat" "the"*)'


def test_a_10_kb_query_asks_for_a_bounded_number_of_tokens() -> None:
    distinct = " ".join(f"w{i}" for i in range(2000))
    dotted = ".".join(["a"] * 5000)  # one "word" the index splits into 5,000 tokens
    for text in (distinct, dotted, distinct + " " + dotted):
        assert len(text) > 9000
        assert 0 < tokens(match_expression(text)) <= MAX_QUERY_TOKENS


async def test_the_bounded_query_still_finds_what_the_words_find(
    store: SqliteMessageStore, make: MessageFactory
) -> None:
    await store.add_incoming(
        [make.incoming("the harbour at noon"), make.incoming("the station at six")]
    )
    assert {h.message.body for h in store.search(" ".join(["the"] * 2500))} == {
        "the harbour at noon",
        "the station at six",
    }
    assert [h.message.body for h in store.search("the " * 2000 + "harb")] == ["the harbour at noon"]
