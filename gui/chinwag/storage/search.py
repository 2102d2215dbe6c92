"""Turning what a user typed into a safe FTS5 query.

Every word becomes an FTS5 string (``"..."``, inner quotes doubled), so ``AND``, ``OR``,
``NEAR``, ``*``, ``(``, ``:`` and ``"`` are plain text; the words are ANDed and the last
one is a prefix (the user may still be typing it). Words with nothing the ``unicode61``
tokenizer indexes (letters, numbers, private-use characters) are dropped: as an empty
FTS5 phrase they would match nothing and turn the whole query into "no results".

The work is bounded whatever is pasted: FTS5 reads a phrase's postings once per phrase,
so a word repeated is asked for once (as the index folds case), and the query keeps at
most :data:`MAX_QUERY_TOKENS` tokens (runs of letters and digits: ``a.b`` is two)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: The FTS5 column holding the message text (the other one holds the conversation id).
BODY_COLUMN: Final = "body"
CONVERSATION_COLUMN: Final = "conversation_id"

#: The most index tokens a query asks for (a 10 kB paste: its first words).
MAX_QUERY_TOKENS: Final = 16

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_token_char(ch: str) -> bool:
    # unicode61's default token characters: categories L*, N* and Co.
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


def _token_ends(word: str) -> list[int]:
    """Where each token of ``word`` ends (as unicode61 splits it)."""
    ends = []
    for at, ch in enumerate(word):
        if _is_token_char(ch) and (at + 1 == len(word) or not _is_token_char(word[at + 1])):
            ends.append(at + 1)
    return ends


def _bounded(words: list[str]) -> list[str]:
    """``words`` each once (the last of repeats kept, so the last word stays the one
    being typed), within :data:`MAX_QUERY_TOKENS`: a word that would go beyond is cut
    at the budget, and what follows it dropped."""
    last: dict[str, int] = {}
    for at, word in enumerate(words):
        last[word.casefold()] = at
    kept: list[str] = []
    budget = MAX_QUERY_TOKENS
    for at, word in enumerate(words):
        if last[word.casefold()] != at:
            continue
        ends = _token_ends(word)
        if len(ends) > budget:
            if budget:
                kept.append(word[: ends[budget - 1]])
            break
        kept.append(word)
        budget -= len(ends)
    return kept


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_expression(text: str, conversation_id: int | None = None) -> str | None:
    """The FTS5 MATCH expression for ``text``, optionally limited to one conversation,
    or None when ``text`` has no searchable word (the caller then returns no hits)."""
    words = [
        word
        for word in _CONTROL_CHARS.sub(" ", text).split()
        if any(_is_token_char(ch) for ch in word)
    ]
    words = _bounded(words)
    if not words:
        return None
    phrases = [_quote(word) for word in words]
    phrases[-1] += "*"
    # Limit the words to the body column, or a number typed by the user would also
    # match the conversation ids indexed in the other column.
    expression = f"{BODY_COLUMN} : ({' '.join(phrases)})"
    if conversation_id is not None:
        expression = f'{CONVERSATION_COLUMN} : "{conversation_id:d}" AND {expression}'
    return expression
