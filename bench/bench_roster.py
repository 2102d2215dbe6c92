"""Contact-list benchmark: a roster of 5,000 contacts in 50 groups.

Usage: ``.venv/bin/python bench/bench_roster.py [--contacts 5000] [--groups 50] [--rounds 3]``

Runs offscreen (``QT_QPA_PLATFORM=offscreen``) on the real stack: a ChinwagCore on a
SQLite store in a temporary directory, the EventBridge, and the MainWindow with its
RosterModel, RosterFilterModel, ContactDelegate and QTreeView. Roster and presence go in
through the roster service's listener methods, as the XMPP layer feeds them. It prints:

* build: from nothing to the main window shown with its contact list painted once;
* keystrokes in the filter box: per key, the filter plus the view's relayout and repaint,
  typing a word (the goal) and erasing it again (the last key brings back every row);
* a burst of 5,000 presence updates through the bridge: the longest time the event loop
  was blocked, seen by a 1 ms Qt timer, with the stanzas delivered as the network does
  (one socket read's worth per loop callback), and all in one callback for reference;
* a first sign-in: the whole roster arriving as events while the window is up.

Each figure is measured ``--rounds`` times (the machine may be shared): the median is the
figure, the worst is shown beside it. Figures only: it never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gui"))

import qasync
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chinwag.core.models import AccountConfig, Contact, Presence, Show
from chinwag.core.service import ChinwagCore
from chinwag.storage import SqliteMessageStore
from chinwag.system.config import JsonConfigStore
from chinwag.system.secrets import FileSecretStore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.context import UiContext
from chinwag.ui.main_window import MainWindow

SEED = 20240601
ACCOUNT = "me@example.org"
BUILD_GOAL_MS = 500.0
KEY_GOAL_MS = 30.0
BLOCK_GOAL_MS = 50.0
#: Presence stanzas handled per loop callback: what one socket read of a presence flood
#: holds (64 KiB of ~300-byte stanzas is about 200).
STANZAS_PER_READ = 200

FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Lukas",
    "Mia",
    "Nils",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sven",
    "Tina",
    "Uwe",
    "Vera",
    "Willem",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Ada",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Élodie",
    "Farid",
    "Gül",
    "Håkon",
    "Ivo",
    "Jürgen",
    "Kenji",
    "Leila",
    "Marta",
    "Noor",
]
LAST = [
    "Adams",
    "Berg",
    "Castro",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Meyer",
    "Novak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ulrich",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
]
SHOWS = (Show.ONLINE, Show.AWAY, Show.DND, Show.XA, Show.CHAT)


class _Windows:
    """ConversationWindows stand-in: the benchmark opens no conversation."""

    def open(self, account: str, peer: str) -> None:
        pass


class LagProbe(QObject):
    """A 1 ms precise Qt timer; the longest gap between two ticks is how long the event
    loop was kept from running anything."""

    def __init__(self) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def start(self) -> None:
        self.longest = 0.0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> float:
        """Stop; the longest gap in ms, less the probe's own 1 ms period."""
        self._timer.stop()
        self._tick()
        return max(0.0, self.longest * 1000 - 1.0)


class PaintWatch(QObject):
    """Resolves a future once the watched widget has handled a paint event."""

    def __init__(self, widget: QObject) -> None:
        super().__init__(widget)
        self.future: asyncio.Future[float] | None = None
        widget.installEventFilter(self)

    def arm(self) -> asyncio.Future[float]:
        self.future = asyncio.get_running_loop().create_future()
        return self.future

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        future = self.future
        if event.type() == QEvent.Type.Paint and future is not None and not future.done():
            # The paint runs after this filter returns; a zero timer fires once it is done.
            QTimer.singleShot(0, lambda: future.done() or future.set_result(time.perf_counter()))
        return False


def make_roster(contacts: int, groups: int, rng: random.Random) -> list[Contact]:
    names = [f"Group {g:02d}" for g in range(groups)]
    out = []
    for n in range(contacts):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}{n}".lower().encode("ascii", "ignore").decode()
        out.append(
            Contact(ACCOUNT, f"{local}@example.org", f"{first} {last}", (names[n % groups],))
        )
    return out


def make_core(directory: Path) -> ChinwagCore:
    core = ChinwagCore(
        SqliteMessageStore.open(directory / "h.db"),
        FileSecretStore(directory / "secrets.json"),
        JsonConfigStore(directory / "accounts.json"),
        _no_network,
    )
    core.add_account(AccountConfig(jid=ACCOUNT, nickname="Bench"), "pw")
    return core


def _no_network(*args: object, **kwargs: object) -> object:
    raise RuntimeError("the benchmark never signs in")


def ms(seconds: float) -> float:
    return seconds * 1000.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def verdict(value: float, goal: float) -> str:
    return f"goal < {goal:.0f} ms: {'ok' if value < goal else 'OVER'}"


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def build_window(ctx: UiContext) -> tuple[MainWindow, float]:
    """A main window, shown; ms from the start of construction to its list painted."""
    t0 = time.perf_counter()
    window = MainWindow(ctx)
    watch = PaintWatch(window.contact_view.viewport())
    painted = watch.arm()
    window.resize(360, 720)
    window.show()
    return window, ms(await painted - t0)


def close_window(window: MainWindow) -> None:
    window.really_quit = True
    window.close()
    window.deleteLater()


def type_and_erase(window: MainWindow, word: str) -> tuple[list[float], list[float]]:
    """Per keystroke: filter + relayout + repaint of the list (all synchronous)."""
    edit, viewport = window.filter_edit, window.contact_view.viewport()
    edit.setFocus()
    typing, erasing = [], []
    for ch in word:
        t0 = time.perf_counter()
        QTest.keyClick(edit, ch)
        viewport.repaint()  # QTreeView runs its pending relayout before painting
        typing.append(ms(time.perf_counter() - t0))
    for _ in word:
        t0 = time.perf_counter()
        QTest.keyClick(edit, Qt.Key.Key_Backspace)
        viewport.repaint()
        erasing.append(ms(time.perf_counter() - t0))
    return typing, erasing


def presence_updates(roster: list[Contact], rng: random.Random) -> list[tuple[str, Presence]]:
    """One new presence per contact: 70 % available in some show, 30 % going offline."""
    return [
        (c.jid, Presence(rng.choice(SHOWS), f"status {rng.randrange(1000)}", resource="pc"))
        if rng.random() < 0.7
        else (c.jid, Presence(Show.OFFLINE, resource="pc"))
        for c in roster
    ]


async def burst(
    core: ChinwagCore, window: MainWindow, updates: list[tuple[str, Presence]], per_callback: int
) -> float:
    """Deliver ``updates``, ``per_callback`` per loop callback; the longest loop block, ms,
    until the list has taken them all in (model flushed, view laid out and painted)."""
    on_presence = core.roster.on_presence
    loop = asyncio.get_running_loop()
    delivered = loop.create_future()

    def deliver(start: int) -> None:
        for jid, presence in updates[start : start + per_callback]:
            on_presence(ACCOUNT, jid, presence)
        if start + per_callback < len(updates):
            loop.call_soon(deliver, start + per_callback)
        else:
            delivered.set_result(None)

    probe = LagProbe()
    probe.start()
    await asyncio.sleep(0.02)
    loop.call_soon(deliver, 0)
    await delivered
    # Long enough for the coalesced signals, a throttled re-sort and the relayout.
    await asyncio.sleep(0.4)
    return probe.stop()


async def first_sign_in(core: ChinwagCore, roster: list[Contact]) -> float:
    """The roster arrives as events (ContactUpdated x N, then RosterReceived) while the
    window is up; the longest loop block, ms."""
    core.roster.on_roster(ACCOUNT, [], "v0", True)  # start empty, like a first sign-in
    await settle(0.2)
    probe = LagProbe()
    probe.start()
    await asyncio.sleep(0.02)
    core.roster.on_roster(ACCOUNT, roster, "v1", True)
    await asyncio.sleep(0.3)
    return probe.stop()


def _name_all(window: MainWindow) -> None:
    window.sort_by_name_action.trigger()
    window.show_offline_action.setChecked(True)


def _status_online(window: MainWindow) -> None:
    window.sort_by_status_action.trigger()
    window.show_offline_action.setChecked(False)


VIEWS: list[tuple[str, Callable[[MainWindow], None]]] = [
    ("by name, offline shown", _name_all),
    ("by status, offline hidden", _status_online),
]


def line(label: str, samples: list[float], goal: float | None = None) -> str:
    med = statistics.median(samples)
    text = f"  {label:<58} median {med:6.1f} ms, worst {max(samples):6.1f} ms"
    return text + (f"   [{verdict(med, goal)}]" if goal is not None else "")


async def bench_build(ctx: UiContext, rounds: int) -> None:
    builds = []
    for _ in range(rounds):
        window, took = await build_window(ctx)
        builds.append(took)
        await settle()
        close_window(window)
        await settle()
    print("Build (model + proxy + view + main window, shown and first painted)")
    print(line("5,000 contacts", builds, BUILD_GOAL_MS))


async def bench_keys(window: MainWindow, word: str, rounds: int) -> None:
    print(f"Filter box, per keystroke incl. relayout and repaint, word {word!r}")
    for label, setup in VIEWS:
        setup(window)
        window.roster_model.flush()
        await settle(0.3)
        typing: list[float] = []
        erasing: list[float] = []
        for _ in range(rounds):
            t, e = type_and_erase(window, word)
            typing += t
            erasing += e
            await settle()
        print(line(f"typing, {label}: p95 {p95(typing):.1f} ms;", typing, KEY_GOAL_MS))
        print(line(f"erasing (last key restores every row), {label};", erasing))


async def bench_bursts(
    core: ChinwagCore, window: MainWindow, roster: list[Contact], rounds: int, rng: random.Random
) -> None:
    print(f"Presence burst of {len(roster)} updates through the bridge: longest loop block")
    for label, setup in VIEWS:
        setup(window)
        window.roster_model.flush()
        await settle(0.3)
        for per_callback, how in (
            (STANZAS_PER_READ, f"{STANZAS_PER_READ} per loop callback"),
            (len(roster), "all in one callback (reference)"),
        ):
            blocks = []
            for _ in range(rounds):
                updates = presence_updates(roster, rng)
                blocks.append(await burst(core, window, updates, per_callback))
            goal = BLOCK_GOAL_MS if per_callback == STANZAS_PER_READ else None
            print(line(f"{label}, {how}", blocks, goal))


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(SEED)
    roster = make_roster(args.contacts, args.groups, rng)
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-") as tmp:
        core = make_core(Path(tmp))
        bridge = EventBridge(core.bus)
        ctx = UiContext(core, bridge, _Windows())  # type: ignore[arg-type]
        print(
            f"Chinwag roster benchmark: {len(roster)} contacts in {args.groups} groups, "
            f"{args.rounds} rounds; Python {platform.python_version()}, PySide6 "
            f"{pyside_version}, QPA {os.environ['QT_QPA_PLATFORM']}, {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.2f}"
        )
        # Reference first: the core and the bridge alone take in the roster (no window).
        core_alone = await first_sign_in(core, roster)
        for contact in roster[: len(roster) // 3]:
            core.roster.on_presence(ACCOUNT, contact.jid, Presence(Show.ONLINE, resource="pc"))
        await core.roster.drain()

        await bench_build(ctx, args.rounds)
        window, _ = await build_window(ctx)
        await settle()
        await bench_keys(window, args.word, args.rounds)
        await bench_bursts(core, window, roster, args.rounds, rng)

        _name_all(window)
        await settle(0.3)
        block = await first_sign_in(core, roster)
        print("First sign-in: the whole roster in one roster stanza (one loop callback)")
        print(line("longest loop block, with the main window up", [block]))
        print(line("the same, core and bridge alone, no window (reference)", [core_alone]))
        assert window.roster_model.rowCount() == args.groups, "the roster did not come in"

        close_window(window)
        bridge.close()
        await core.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--word", default="jonas", help="typed into the filter box")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the password-file notice is not a figure
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    qasync.run(run(args))


if __name__ == "__main__":
    main()
