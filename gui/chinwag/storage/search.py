"""Turning what a user typed into a safe FTS5 query.

Every word becomes an FTS5 string (``"..."``, inner quotes doubled), so ``AND``, ``OR``,
``NEAR``, ``*``, ``(``, ``:`` and ``"`` are plain text; the words are ANDed and the last
one is a prefix (the user may still be typing it). Words with nothing the ``unicode61``
tokenizer indexes (letters, numbers, private-use characters) are dropped: as an empty
FTS5 phrase they would match nothing and turn the whole query into "no results"."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: The FTS5 column holding the message text (the other one holds the conversation id).
BODY_COLUMN: Final = "body"
CONVERSATION_COLUMN: Final = "conversation_id"

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_token_char(ch: str) -> bool:
    # unicode61's default token characters: categories L*, N* and Co.
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


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
