"""Emoji for the picker and ``:shortcode:`` completion. Qt-free.

Names and shortcodes come from the ``emoji`` package (pinned in pyproject.toml): it is
kept up to date with each Unicode release and carries the CLDR names (``:thumbs_up:``)
and the aliases people type in other chat programs (``:thumbsup:``, ``:+1:``,
``:smile:``). It has no categories, so their order and grouping come from Unicode's
own emoji-test.txt, shipped as ``resources/emoji-groups.txt`` (made by
``packaging/make_emoji_groups.py``; Emoji 15.0, which Debian 12's Noto Color Emoji draws).

Importing ``emoji`` takes ~70 ms, more than the loop may block: :func:`preload` does it
on a worker thread, and the first caller of :func:`catalogue` waits for it there."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

GROUPS_FILE = Path(__file__).resolve().parent.parent / "resources" / "emoji-groups.txt"
#: The longest search or shortcode prefix looked at (anything longer matches nothing).
MAX_QUERY = 64


@dataclass(frozen=True, slots=True)
class Emoji:
    char: str
    #: The CLDR name in words ("thumbs up").
    name: str
    #: Shortcodes without colons, the CLDR one first ("thumbs_up", "thumbsup", "+1").
    shortcodes: tuple[str, ...]
    group: str


class Catalogue:
    """Every emoji the picker shows, by group and in Unicode's order, and every
    shortcode (also of emoji the picker does not show: newer ones)."""

    def __init__(self, groups: dict[str, list[Emoji]], by_code: dict[str, Emoji]) -> None:
        self.groups = groups
        self.by_code = by_code
        self.by_char = {e.char: e for emojis in groups.values() for e in emojis}
        for e in by_code.values():
            self.by_char.setdefault(e.char, e)
        self._codes = sorted(by_code)
        self._all = [e for emojis in groups.values() for e in emojis]

    def search(self, query: str, limit: int = 200) -> list[Emoji]:
        """Emoji whose name or a shortcode has a word starting with each word of
        ``query`` (so "cat fa" finds "cat face"); ones whose name starts with the query
        first, then in the picker's order."""
        words = query.casefold().replace("_", " ").replace(":", " ").split()
        if not words or len(query) > MAX_QUERY:
            return []
        found: list[tuple[int, int, Emoji]] = []
        for order, e in enumerate(self._all):
            haystack = [*e.name.split(), *" ".join(e.shortcodes).replace("_", " ").split()]
            if all(any(h.startswith(w) for h in haystack) for w in words):
                rank = 0 if e.name.startswith(query.casefold()) else 1
                found.append((rank, order, e))
        found.sort(key=lambda t: (t[0], t[1]))
        return [e for _, _, e in found[:limit]]

    def complete(self, prefix: str, limit: int = 12) -> list[tuple[str, Emoji]]:
        """Shortcodes starting with ``prefix`` (no colons), shortest first: for
        ``smi`` the pairs ``("smile", 😄)``, ``("smiley", 😃)``... Each emoji once."""
        prefix = prefix.casefold()
        if not prefix or len(prefix) > MAX_QUERY:
            return []
        import bisect

        start = bisect.bisect_left(self._codes, prefix)
        hits: list[str] = []
        for code in self._codes[start:]:
            if not code.startswith(prefix):
                break
            hits.append(code)
        hits.sort(key=lambda c: (len(c), c))
        seen: set[str] = set()
        out: list[tuple[str, Emoji]] = []
        for code in hits:
            e = self.by_code[code]
            if e.char in seen:
                continue
            seen.add(e.char)
            out.append((code, e))
            if len(out) >= limit:
                break
        return out


_lock = threading.Lock()
_loaded: list[Catalogue] = []  # (the one catalogue, once loaded)


def _load() -> Catalogue:
    import emoji

    data = emoji.EMOJI_DATA

    def entry(char: str, group: str) -> Emoji | None:
        info = data.get(char)
        if not info:
            return None
        codes = [str(info["en"]).strip(":")]
        codes += [str(a).strip(":") for a in info.get("alias", ()) if str(a).strip(":")]
        name = codes[0].replace("_", " ")
        return Emoji(char, name, tuple(dict.fromkeys(codes)), group)

    groups: dict[str, list[Emoji]] = {}
    try:
        text = GROUPS_FILE.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("emoji groups %s cannot be read (%s): one group", GROUPS_FILE, exc)
        text = "@Emoji\n" + " ".join(c for c, i in data.items() if i.get("status") == 2)
    group = "Emoji"
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("@"):
            group = line[1:].strip()
            continue
        for char in line.split():
            found = entry(char, group)
            if found is not None:
                groups.setdefault(group, []).append(found)
    by_char = {e.char: e for emojis in groups.values() for e in emojis}
    by_code: dict[str, Emoji] = {}
    for char, info in data.items():
        if info.get("status") != 2:  # fully-qualified only: what a picker would insert
            continue
        e = by_char.get(char) or entry(char, "")
        if e is None:
            continue
        for code in e.shortcodes:
            by_code.setdefault(code.casefold(), e)
    return Catalogue(groups, by_code)


def catalogue() -> Catalogue:
    """The emoji (loaded once; waits for :func:`preload`'s thread when it runs)."""
    with _lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def loaded() -> bool:
    return bool(_loaded)


def preload() -> None:
    """Load the emoji on a worker thread, so the first picker or completion does not
    block the loop."""
    if not _loaded:
        # (not a daemon: an import still running while Python tears down can crash it)
        threading.Thread(target=catalogue, name="emoji-data").start()


__all__ = ["Catalogue", "Emoji", "catalogue", "loaded", "preload"]
