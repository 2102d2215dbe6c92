"""Storage benchmark: fill a fresh database with N messages, then time the hot reads.

Usage: ``.venv/bin/python bench/bench_storage.py [--messages 1000000] [--keep]``

The messages (200 conversations, one of them holding 10% of them; bodies drawn from a
fixed Zipf-weighted vocabulary with a seeded RNG, so every run stores the same data) go in
through ``SqliteMessageStore.add_incoming`` in pages of 250, several pages in flight at
once, as an archive (MAM) catch-up would. Then each read is repeated and reported as
median and p95. It prints figures and goals; it never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gui"))

from chinwag.core.models import (
    ConversationKey,
    Direction,
    Message,
    MessageState,
    Origin,
    PageAnchor,
)
from chinwag.storage import SqliteMessageStore

SEED = 20240601
ACCOUNT = "me@example.org"
CONVERSATIONS = 200
BIG_SHARE = 0.10  # of all messages go to conversation 0
PAGE = 250  # messages per add_incoming call (a MAM page is 50..250)
IN_FLIGHT = 8  # add_incoming calls outstanding at once
CHUNK = 50_000  # messages generated (untimed) before each timed insert round
REPEAT = 50
PAGE_GOAL_MS = 5.0
SEARCH_GOAL_MS = 50.0

_COMMON_TEXT = (
    "the be to of and a in that have i it for not on with he as you do at this but his by "
    "from they we say her she or an will my one all would there their what so up out if "
    "about who get which go me when make can like time no just him know take people into "
    "year your good some could them see other than then now look only come its over think "
    "also back after use two how our work first well way even new want because any these "
    "give day most us meeting tomorrow lunch coffee call later sorry thanks ok yes sure "
    "great fine office train home weekend email photo link file meeting café naïve über "
    "déjà señor crème façade résumé jalapeño smörgåsbord"
)
_COMMON = _COMMON_TEXT.split()
_SYLLABLES_TEXT = "ka lo mi ne ta ru so vi pe da go li mu ra te xo zu be fa ho"
_SYLLABLES = _SYLLABLES_TEXT.split()


def vocabulary(rng: random.Random) -> list[str]:
    words = list(dict.fromkeys(_COMMON))
    invented: set[str] = set()
    while len(invented) < 6000:
        invented.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    words.extend(sorted(invented - set(words)))
    return words


class Corpus:
    """Deterministic messages: Zipf-weighted words, 200 peers, increasing timestamps."""

    def __init__(self, total: int) -> None:
        self.rng = random.Random(SEED)
        self.words = vocabulary(self.rng)
        self.cum_weights = list(
            itertools.accumulate(1 / (rank + 1) for rank in range(len(self.words)))
        )
        self.total = total
        self.timestamp = 1_600_000_000.0
        # ~3 years of history whatever the size
        self.mean_gap = 3 * 365 * 86400 / max(total, 1)
        self.keys = [
            ConversationKey(ACCOUNT, f"peer{index:03d}@example.net")
            for index in range(CONVERSATIONS)
        ]

    def body(self) -> str:
        count = min(int(self.rng.expovariate(1 / 9)) + 1, 60)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum_weights, k=count))

    def messages(self) -> Iterator[Message]:
        rng = self.rng
        for index in range(self.total):
            self.timestamp += rng.expovariate(1 / self.mean_gap)
            if rng.random() < BIG_SHARE:
                key = self.keys[0]
            else:
                key = self.keys[rng.randrange(1, CONVERSATIONS)]
            outgoing = rng.random() < 0.5
            recent = index >= self.total - 2000
            yield Message(
                account=ACCOUNT,
                peer=key.peer,
                direction=Direction.OUTGOING if outgoing else Direction.INCOMING,
                body=self.body(),
                timestamp=round(self.timestamp, 3),
                uid=f"{rng.getrandbits(128):032x}",
                sender=ACCOUNT if outgoing else key.peer,
                sender_resource="phone",
                state=(
                    (MessageState.DELIVERED if recent else MessageState.READ)
                    if outgoing
                    else (MessageState.RECEIVED if recent else MessageState.DISPLAYED)
                ),
                stanza_id=f"{rng.getrandbits(96):024x}",
                origin=Origin.ARCHIVE,
            )


def timings(fn: Callable[[int], object], repeat: int = REPEAT) -> tuple[float, float]:
    """Median and p95 of ``fn(i)`` in milliseconds (after one warm-up call)."""
    fn(-1)
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[
        min(len(samples) - 1, round(0.95 * (len(samples) - 1)))
    ]


def report(
    label: str, figures: tuple[float, float], goal_ms: float | None = None, note: str = ""
) -> None:
    median, p95 = figures
    goal = f"  goal < {goal_ms:g} ms: {'ok' if p95 < goal_ms else 'MISSED'}" if goal_ms else ""
    extra = f"  {note}" if note else ""
    print(f"  {label:<46} median {median:8.3f} ms   p95 {p95:8.3f} ms{goal}{extra}")


def word_hits(path: Path, word: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
                (f'body : "{word}"',),
            ).fetchone()[0]
        )
    finally:
        conn.close()


async def fill(store: SqliteMessageStore, corpus: Corpus) -> tuple[float, list[PageAnchor]]:
    """Insert every message; return the insert time and the big conversation's anchors."""
    anchors: list[PageAnchor] = []
    big_peer = corpus.keys[0].peer
    stream = corpus.messages()
    elapsed = 0.0
    done = 0
    while True:
        chunk = list(itertools.islice(stream, CHUNK))  # generated outside the timing
        if not chunk:
            break
        pages = [chunk[i : i + PAGE] for i in range(0, len(chunk), PAGE)]
        start = time.perf_counter()
        for first in range(0, len(pages), IN_FLIGHT):
            results = await asyncio.gather(
                *(store.add_incoming(page) for page in pages[first : first + IN_FLIGHT])
            )
            for stored in results:
                anchors.extend(
                    PageAnchor(message.timestamp, message.id)
                    for message in stored
                    if message.peer == big_peer and message.id is not None
                )
        elapsed += time.perf_counter() - start
        done += len(chunk)
        if done % (corpus.total // 5 or 1) < CHUNK or done == corpus.total:
            print(f"  {done:>9,} stored, {done / elapsed:,.0f} messages/s so far", flush=True)
    return elapsed, anchors


async def outgoing_figures(store: SqliteMessageStore, key: ConversationKey) -> None:
    """Persist-before-send: latency of one add_outgoing, and throughput of many at once."""
    base = time.time()

    def one(index: int) -> Message:
        return Message(
            ACCOUNT,
            key.peer,
            Direction.OUTGOING,
            f"out {index}",
            base + index * 1e-3,
            sender=ACCOUNT,
        )

    samples = []
    for index in range(REPEAT):
        start = time.perf_counter()
        await store.add_outgoing(one(index))
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    report(
        "add_outgoing, one at a time (commit latency)",
        (statistics.median(samples), samples[round(0.95 * (REPEAT - 1))]),
    )

    total, concurrent = 5000, 500
    before = store.database.stats.transactions
    start = time.perf_counter()
    for first in range(0, total, concurrent):
        await asyncio.gather(
            *(store.add_outgoing(one(REPEAT + first + i)) for i in range(concurrent))
        )
    elapsed = time.perf_counter() - start
    commits = store.database.stats.transactions - before
    print(
        f"  add_outgoing, {concurrent} concurrent x {total // concurrent}:"
        f"          {total / elapsed:10,.0f} messages/s, {total:,} writes in {commits} commits"
    )


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.rmdir()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database and print its path")
    args = parser.parse_args()

    print(
        f"Chinwag storage benchmark: {args.messages:,} messages, {CONVERSATIONS} conversations; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.machine()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="chinwag-bench-"))
    path = workdir / "history.sqlite3"
    corpus = Corpus(args.messages)

    store = SqliteMessageStore.open(path)
    print("Insert (add_incoming, pages of 250, 8 pages in flight, group-committed):")
    elapsed, anchors = await fill(store, corpus)
    stats = store.database.stats
    print(
        f"  {args.messages / elapsed:,.0f} messages/s ({args.messages:,} in {elapsed:.1f} s, "
        f"{stats.transactions:,} commits, largest batch {stats.largest_batch} pages)"
    )
    await store.close()

    size, wal = file_size(path), file_size(Path(f"{path}-wal"))
    print(f"Database size: {size / 1e6:,.1f} MB (+ {wal / 1e6:,.1f} MB WAL after close)")

    store = SqliteMessageStore.open(path)  # fresh connections, as after a restart
    big = corpus.keys[0]
    small = corpus.keys[CONVERSATIONS // 2]
    rng = random.Random(SEED + 1)
    deep = anchors[: max(1, len(anchors) // 10)]  # the oldest 10% of the big conversation
    deep_picks = [rng.choice(deep) for _ in range(REPEAT + 1)]
    common, rare = corpus.words[0], corpus.words[-1]
    for candidate in reversed(corpus.words):  # the rarest word that occurs at all
        if word_hits(path, candidate) > 0:
            rare = candidate
            break
    print(
        f"Reads (big conversation: {store.count(big):,} messages; each figure over {REPEAT} runs):"
    )
    report("latest(big, 50)", timings(lambda i: store.latest(big, 50)), PAGE_GOAL_MS)
    report(
        "before(big, deep anchor, 50)",
        timings(lambda i: store.before(big, deep_picks[i], 50)),
        PAGE_GOAL_MS,
    )
    report(
        "after(big, deep anchor, 50)",
        timings(lambda i: store.after(big, deep_picks[i], 50)),
        PAGE_GOAL_MS,
    )
    report("latest(small, 50)", timings(lambda i: store.latest(small, 50)), PAGE_GOAL_MS)
    report(
        f"search rare word {rare!r} (all)",
        timings(lambda i: store.search(rare)),
        SEARCH_GOAL_MS,
        f"{word_hits(path, rare):,} hits in all",
    )
    report(
        f"search common word {common!r} (all)",
        timings(lambda i: store.search(common)),
        SEARCH_GOAL_MS,
        f"{word_hits(path, common):,} hits in all",
    )
    report(
        f"search {common!r} in one small conversation",
        timings(lambda i: store.search(common, small)),
        SEARCH_GOAL_MS,
    )
    report(
        f"search {rare!r} in the big conversation",
        timings(lambda i: store.search(rare, big)),
        SEARCH_GOAL_MS,
    )
    report(
        "search two words, prefix 'meeting tomor'",
        timings(lambda i: store.search("meeting tomor")),
        SEARCH_GOAL_MS,
    )
    report("count(big)", timings(lambda i: store.count(big)))
    report("unread_count(big)", timings(lambda i: store.unread_count(big)))
    report("conversations()", timings(lambda i: store.conversations(ACCOUNT)))
    print("Writes on the full database:")
    await outgoing_figures(store, small)
    await store.close()

    if args.keep:
        print(f"Kept: {path}")
    else:
        remove_database(path)


if __name__ == "__main__":
    asyncio.run(main())
