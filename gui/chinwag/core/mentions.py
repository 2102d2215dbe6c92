"""Whether a room message mentions someone by nick: the nick as a word of its own,
in any case ("alice:", "@Alice", "hi alice!" mention alice; "malice" does not)."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _pattern(nick: str) -> re.Pattern[str]:
    # A word boundary that works for nicks starting or ending in punctuation too.
    return re.compile(rf"(?<![\w]){re.escape(nick)}(?![\w])", re.IGNORECASE)


def mentions(body: str, nick: str) -> bool:
    """``body`` names ``nick`` as a word of its own."""
    nick = nick.strip()
    if not nick or not body:
        return False
    return _pattern(nick).search(body) is not None


def mention_spans(body: str, nick: str) -> list[tuple[int, int]]:
    """Where ``body`` names ``nick`` (start, end), for highlighting."""
    nick = nick.strip()
    if not nick or not body:
        return []
    return [m.span() for m in _pattern(nick).finditer(body)]
