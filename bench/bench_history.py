"""Conversation-window benchmark: opening a window on a history of 100,000 messages.

Usage: ``.venv/bin/python bench/bench_history.py [--messages 100000] [--runs 15] [--db PATH]``

Runs offscreen (``QT_QPA_PLATFORM=offscreen``) on the real stack: a ChinwagCore on a
SQLite store, the EventBridge, and ConversationWindow with its HistoryModel,
MessageDelegate and QListView. Two conversations are stored through
``SqliteMessageStore.add_incoming`` in batches of 5,000: one with ``--messages`` messages
and one with 1,000. Prints:

* open: from constructing the window and calling ``present()`` to the first paint of
  the history viewport that shows the newest message (seen by an event filter on the
  viewport; the figure is taken once that paint has finished), median and p95 over
  ``--runs`` windows, for both history sizes; the first window of the process (fonts,
  style) is reported apart;
* memory: the process's resident set before and after opening 10 windows on each
  history, twice in turn (all kept open), per window, and the rows each window loaded.

Figures only, against the goal of issue 3 (under 150 ms, memory not growing with the
history); it never asserts on time. With ``--db`` the database is kept and reused.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gui"))

import qasync
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QObject, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from chinwag.core.models import (
    AccountConfig,
    ConversationKey,
    Direction,
    Message,
    MessageState,
    Origin,
)
from chinwag.core.service import ChinwagCore
from chinwag.storage import SqliteMessageStore
from chinwag.system.config import JsonConfigStore
from chinwag.system.secrets import FileSecretStore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.conversation_window import ConversationWindow
from chinwag.ui.conversations import ConversationWindows
from chinwag.wiring import connection_factory

ACCOUNT = "me@example.org"
BIG = "big@example.net"
SMALL = "small@example.net"
BATCH = 5000
GOAL_MS = 150.0
WINDOWS_FOR_MEMORY = 10
_TEXT = (
    "the quick brown fox jumps over a lazy dog and then we meet for lunch tomorrow at the "
    "office near the station see https://example.org/page for the plan thanks"
)
_WORDS = _TEXT.split()


def history(peer: str, count: int) -> list[Message]:
    """``count`` messages with ``peer``, one minute apart, bodies of 3 to 40 words."""
    messages = []
    for n in range(count):
        outgoing = n % 3 == 0
        words = 3 + (n * 7919) % 38
        body = " ".join(_WORDS[(n + i) % len(_WORDS)] for i in range(words))
        messages.append(
            Message(
                account=ACCOUNT,
                peer=peer,
                direction=Direction.OUTGOING if outgoing else Direction.INCOMING,
                body=body,
                timestamp=1_600_000_000.0 + 60.0 * n,
                uid=f"{peer}-{n}",
                sender=ACCOUNT if outgoing else peer,
                state=MessageState.READ if outgoing else MessageState.DISPLAYED,
                origin=Origin.ARCHIVE,
            )
        )
    return messages


async def fill(store: SqliteMessageStore, peer: str, count: int) -> None:
    key = ConversationKey(ACCOUNT, peer)
    have = store.count(key)
    if have >= count:
        print(f"  {peer}: {have:,} messages already stored")
    else:
        messages = history(peer, count)
        start = time.perf_counter()
        for first in range(0, count, BATCH):
            await store.add_incoming(messages[first : first + BATCH])
        elapsed = time.perf_counter() - start
        print(f"  {peer}: stored {count:,} messages in {elapsed:.1f} s ({count / elapsed:,.0f}/s)")
    # The history is read (the contact's messages displayed): our read position is at
    # its end, as the app leaves it, so a window opens on the newest messages with no
    # "New messages" line (which follows the read position, not the messages' states).
    info = store.conversation_info(key)
    if info is not None:
        await store.set_read_sequence(key, info.last_sequence)


def rss_mib() -> float:
    """Resident set size of this process (Linux /proc), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class NewestPainted(QObject):
    """Resolves a future when a paint of the history viewport has finished with the
    newest message on screen (checked right after the paint, by a zero timer)."""

    def __init__(self, window: ConversationWindow, done: asyncio.Future[float]) -> None:
        super().__init__(window)
        self._window = window
        self._done = done
        window.history_view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._done.done():
            QTimer.singleShot(0, self._check)
        return False

    def _check(self) -> None:
        if self._done.done():
            return
        view, model = self._window.history_view, self._window.model
        rows = model.rowCount()
        if rows == 0:
            return
        rect = view.visualRect(model.index(rows - 1))
        scroll_bar = view.verticalScrollBar()
        if view.viewport().rect().intersects(rect) and scroll_bar.value() == scroll_bar.maximum():
            self._done.set_result(time.perf_counter())


async def open_window(ctx: UiContext, peer: str) -> tuple[ConversationWindow, float]:
    """Open a window on ``peer``; returns it and the milliseconds to the newest paint."""
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    start = time.perf_counter()
    window = ConversationWindow(ctx, ACCOUNT, peer)
    NewestPainted(window, done)
    window.present()
    end = await asyncio.wait_for(done, 10)
    return window, (end - start) * 1000


async def close(windows: list[ConversationWindow]) -> None:
    for window in windows:
        window.close()
    await asyncio.sleep(0.05)  # deleteLater() runs on the next turns of the loop
    gc.collect()


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace, root: Path) -> None:
    db = Path(args.db) if args.db else root / "history.sqlite3"
    store = SqliteMessageStore.open(db)
    config = JsonConfigStore(root / "accounts.json")
    config.save_accounts([AccountConfig(jid=ACCOUNT, nickname="Me")])
    core = ChinwagCore(store, FileSecretStore(root / "passwords.json"), config, connection_factory)
    bridge = EventBridge(core.bus)
    holder: list[UiContext] = []
    windows = ConversationWindows(
        lambda account, peer: ConversationWindow(holder[0], account, peer)
    )
    ctx = UiContext(core, bridge, windows)
    holder.append(ctx)
    try:
        print("filling the history (account offline, as the window must cope with):")
        await fill(store, BIG, args.messages)
        await fill(store, SMALL, 1000)

        print(f"\nopening a window until its newest page is painted (goal < {GOAL_MS:g} ms):")
        window, first = await open_window(ctx, SMALL)
        await close([window])
        print(f"  first window of the process (fonts, style, caches): {first:8.1f} ms")
        for peer, size in ((SMALL, 1000), (BIG, args.messages)):
            samples = []
            for _ in range(args.runs):
                window, elapsed = await open_window(ctx, peer)
                samples.append(elapsed)
                await close([window])
            median, p95 = statistics.median(samples), percentile(samples, 0.95)
            verdict = "ok" if median < GOAL_MS else "MISSED"
            print(
                f"  {size:>9,} messages: median {median:7.1f} ms  p95 {p95:7.1f} ms  "
                f"min {min(samples):6.1f} ms  ({args.runs} runs)  goal: {verdict}"
            )

        print(
            f"\nresident memory: {WINDOWS_FOR_MEMORY} windows opened on each history in turn, "
            "all kept open (freed memory would be reused and hide the growth):"
        )
        growth: dict[int, list[float]] = {}
        kept: list[ConversationWindow] = []
        for peer, size in ((SMALL, 1000), (BIG, args.messages)) * 2:
            gc.collect()
            before = rss_mib()
            opened = [(await open_window(ctx, peer))[0] for _ in range(WINDOWS_FOR_MEMORY)]
            gc.collect()
            after = rss_mib()
            kept += opened
            per_window = (after - before) / WINDOWS_FOR_MEMORY
            growth.setdefault(size, []).append(per_window)
            print(
                f"  {size:>9,} messages: RSS {before:7.1f} -> {after:7.1f} MiB, "
                f"{per_window:5.2f} MiB per window, "
                f"{opened[0].model.rowCount()} rows loaded per window"
            )
        await close(kept)
        print(
            f"  second round, per window: {growth[args.messages][1]:.2f} MiB on "
            f"{args.messages:,} messages, {growth[1000][1]:.2f} MiB on 1,000 "
            "(the first round includes one-time caches)"
        )
    finally:
        windows.close_all()
        await asyncio.sleep(0)
        bridge.close()
        await core.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--db", help="database to fill (kept, and reused when filled)")
    args = parser.parse_args()
    # The offscreen platform's "does not support propagateSizeHints()/raise()" notes
    # would interleave with the figures.
    qInstallMessageHandler(lambda *_: None)
    print(
        f"Python {platform.python_version()}, PySide6 {pyside_version}, "
        f"platform {os.environ['QT_QPA_PLATFORM']}, {platform.machine()}"
    )
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-") as tmp:
        qasync.run(bench(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
