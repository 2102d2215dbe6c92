"""Search benchmark: the search of all conversations (Ctrl+Shift+F) over a million messages.

Usage: ``.venv/bin/python bench/bench_search.py [--messages 1000000] [--cache-dir DIR]
[--rebuild]``

The database is built once (the corpus of ``bench_storage.py``, spread over 1,000
conversations: Zipf-weighted words, seeded, about three years) into a cache directory
(default ``$XDG_CACHE_HOME/chinwag-bench``) and reused by later runs; ``--rebuild`` makes
it again. Each kind of query the search window sends is then repeated
(``SqliteMessageStore.search`` with the window's limit of 200 results, as typed: the last
word a prefix) and reported as median (p50) and p95; the goal is under 50 ms. The reads
behind "jump to a date" (``first_from`` and the page around it) are timed too. Figures
only: it never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gui"))

import bench_storage
from bench_storage import Corpus, fill, report, timings

from chinwag.core.models import ConversationKey, PageAnchor
from chinwag.storage import SqliteMessageStore
from chinwag.ui.global_search import RESULT_LIMIT

CONVERSATIONS = 1000
GOAL_MS = 50.0
REPEAT = 40


def cache_path(cache_dir: Path, total: int) -> Path:
    return cache_dir / f"search-{total}-{CONVERSATIONS}.sqlite3"


async def build(path: Path, total: int) -> None:
    """Fill a new database at ``path`` (written beside it, renamed when complete)."""
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    bench_storage.CONVERSATIONS = CONVERSATIONS  # the corpus reads it when built
    corpus = Corpus(total)
    store = SqliteMessageStore.open(partial)
    try:
        elapsed, _ = await fill(store, corpus)
    finally:
        await store.close()
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
        conn.commit()
    finally:
        conn.close()
    partial.rename(path)
    print(f"  built in {elapsed:.1f} s ({total / elapsed:,.0f} messages/s)")


def word_counts(path: Path, words: list[str]) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            word: int(
                conn.execute(
                    "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
                    (f'body : "{word}"',),
                ).fetchone()[0]
            )
            for word in words
        }
    finally:
        conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    default_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser.add_argument("--cache-dir", type=Path, default=default_cache / "chinwag-bench")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_path(args.cache_dir, args.messages)
    if args.rebuild or not path.exists():
        print(f"building {args.messages:,} messages in {CONVERSATIONS:,} conversations: {path}")
        await build(path, args.messages)
    else:
        print(f"reusing {path}")
    print(f"  database {path.stat().st_size / 2**20:,.0f} MiB")

    store = SqliteMessageStore.open(path)
    try:
        conversations = store.conversations()
        keys = [key for key, _ in conversations]
        newest = conversations[0][1] if conversations else time.time()
        counts = word_counts(
            path, ["the", "meeting", "coffee", "lunch", "photo", "smörgåsbord", "kalomi"]
        )
        common = max(counts, key=lambda w: counts[w])
        rare = min((w for w in counts if counts[w] > 0), key=lambda w: counts[w])
        print(f"  {len(keys):,} conversations; hits: {counts}")
        rng = random.Random(7)
        small = keys[len(keys) // 2]

        def search(text: str, key: ConversationKey | None = None, **span: float) -> int:
            return len(store.search(text, key, RESULT_LIMIT, **span))

        print(
            f"search of all conversations, {RESULT_LIMIT} newest results "
            f"(p95 goal < {GOAL_MS:g} ms)"
        )
        kinds: list[tuple[str, object]] = [
            (f"common word {common!r} ({counts[common]:,} hits)", lambda i: search(common)),
            (f"rare word {rare!r} ({counts[rare]:,} hits)", lambda i: search(rare)),
            ("one letter as typed: 'm'", lambda i: search("m")),
            ("prefix as typed: 'mee'", lambda i: search("mee")),
            ("two words, last a prefix: 'meeting tomor'", lambda i: search("meeting tomor")),
            ("three common words: 'the coffee lun'", lambda i: search("the coffee lun")),
            ("no hits: 'zzzzqx'", lambda i: search("zzzzqx")),
            ("common word in one conversation", lambda i: search(common, small)),
            (
                "common word in a random conversation",
                lambda i: search(common, keys[rng.randrange(len(keys))]),
            ),
            ("common word, past month", lambda i: search(common, since=newest - 31 * 86400)),
            (
                "rare word, past year",
                lambda i: search(rare, since=newest - 366 * 86400),
            ),
            (
                "common word, a month two years back",
                lambda i: search(common, since=newest - 730 * 86400, until=newest - 699 * 86400),
            ),
        ]
        worst = 0.0
        for label, fn in kinds:
            figures = timings(fn, REPEAT)  # type: ignore[arg-type]
            worst = max(worst, figures[1])
            report(label, figures, GOAL_MS)
        print(f"  worst p95 {worst:.3f} ms: {'ok' if worst < GOAL_MS else 'MISSED'}")

        print("jump to a date (first message of a day, then the page around it)")
        big = keys[0]
        span_days = 3 * 365

        def jump(i: int) -> int:
            moment = newest - rng.randrange(span_days) * 86400
            found = store.first_from(big, moment)
            if found is None or found.id is None:
                return 0
            anchor = PageAnchor(found.timestamp, found.id)
            return len(store.before(big, anchor, 25)) + len(store.after(big, anchor, 24))

        report("first_from + page around it (big conversation)", timings(jump, REPEAT), GOAL_MS)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
