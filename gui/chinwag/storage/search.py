"""Turning what a user typed into a safe FTS5 query.

Every word becomes an FTS5 string (``"..."``, inner quotes doubled), so ``AND``, ``OR``,
``NEAR``, ``*``, ``(``, ``:`` and ``"`` are plain text; the words are ANDed and the last
one is a prefix (the user may still be typing it). Words with nothing the ``unicode61``
tokenizer indexes (letters, numbers, private-use characters) are dropped: as an empty
FTS5 phrase they would match nothing and turn the whole query into "no results".

The work is bounded whatever is pasted: FTS5 reads a token's doclist for every token of
every phrase (in a phrase with its positions), and when no message matches them all it
reads each one to its end. So a word repeated is asked for once (as the index folds
case and diacritics), a phrase stops before a token it already has (``a.a.a`` is ``a``,
``x.y.x`` is ``x.y``: what they find, and more), and the query keeps at most
:data:`MAX_QUERY_TOKENS` tokens (runs of letters and digits: ``a.b`` is two). On 200,000
messages made of the same 30 words, the worst query went from 51 ms (16 ``a`` joined by
dots) to about 20 ms (8 common words no message has all of)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: The FTS5 column holding the message text (the other one holds the conversation id).
BODY_COLUMN: Final = "body"
CONVERSATION_COLUMN: Final = "conversation_id"

#: The most index tokens a query asks for (a 10 kB paste: its first words): each is a
#: doclist read, to its end when no message has them all.
MAX_QUERY_TOKENS: Final = 8

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


def _fold(token: str) -> str:
    """A token as the index keeps it (unicode61 remove_diacritics: case and accents off)."""
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _without_repeats(word: str) -> str:
    """``word`` up to the first token it already had (``a.a.a``: ``a``)."""
    seen: set[str] = set()
    start = None
    end = 0
    for at, ch in enumerate(word):
        inside = _is_token_char(ch)
        if inside and start is None:
            start = at
        if start is not None and (not inside or at + 1 == len(word)):
            stop = at + 1 if inside else at
            token = _fold(word[start:stop])
            if token in seen:
                return word[:end]
            seen.add(token)
            end = stop
            start = None
    return word


def _bounded(words: list[str]) -> list[str]:
    """``words`` each once (the last of repeats kept, so the last word stays the one
    being typed), within :data:`MAX_QUERY_TOKENS`: a word that would go beyond is cut
    at the budget, and what follows it dropped."""
    words = [_without_repeats(word) for word in words]
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
