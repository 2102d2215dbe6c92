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


def phrases(expression: str | None) -> list[list[str]]:
    """The tokens of each phrase of the expression (casefolded)."""
    assert expression is not None
    return [
        [t.casefold() for t in re.findall(r"\w+", phrase)]
        for phrase in re.findall(r'"((?:[^"]|"")*)"', expression.split(" : ", 1)[1])
    ]


def test_the_worst_query_reads_at_most_eight_doclists_and_a_phrase_no_token_twice() -> None:
    # Third review: on 200,000 messages sharing the same words, 15 common words took
    # 54 ms and 16 "a" joined by dots 72-78 ms. FTS5 reads a doclist (with positions, in
    # a phrase) for every token of every phrase, a token repeated in a phrase once more
    # each time, and with no row matching them all it reads every one to the end. Now at
    # most 8 tokens are asked for, and a phrase stops before a token it already has.
    common = "the be to of and a in that have i it for not on with he"
    assert MAX_QUERY_TOKENS <= 8
    assert tokens(match_expression(common)) == MAX_QUERY_TOKENS
    assert match_expression(".".join(["a"] * 16)) == 'body : ("a"*)'
    assert match_expression("The.the.THE.cat") == 'body : ("The"*)'
    assert match_expression("x.y.x.z w") == 'body : ("x.y" "w"*)'
    assert match_expression("\u00e9t\u00e9.ete") == 'body : ("\u00e9t\u00e9"*)'  # (folded alike)
    hostile = (
        common,
        ".".join(["a"] * 5000),
        ".".join(common.split() * 3),
        " ".join(f"{w}.{w}.x" for w in common.split()),
        ".".join("abcdefghijklmnopqrstuvwxyz"),
    )
    for text in hostile:
        found = phrases(match_expression(text))
        assert sum(len(p) for p in found) <= MAX_QUERY_TOKENS, text
        for phrase in found:
            assert len(set(phrase)) == len(phrase), text
