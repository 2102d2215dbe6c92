"""How long what a peer sends blocks the event loop of an open conversation window.

A real peer (slixmpp, in a process of its own so its work is not ours) sends through a
local Prosody to Chinwag's core running here, on the qasync loop, with the contact's
conversation window open (offscreen). A watchdog timer fires every millisecond; the
longest gap between two of its ticks is the longest the loop was blocked. Per phase,
goal under 50 ms each:

* baselines: the first window of the process opening, 20 short messages arriving, the
  window resized with only short messages in it (what any window costs on this machine);
* 3 x 250,000-character messages arrive in the open window (and are painted), then the
  window is resized, then closed and opened again on them (what ``InstantMessage`` does);
* 25,000 emoji in one message, 50,000 combining marks on one letter, each then resized;
* "Show all" of each of those messages (where the code has it), its window resized and
  scrolled to the end.

Each round uses a new contact (a new window); the table gives the median and the
longest over the rounds. The machine's load shows in the baselines.

    .venv/bin/python bench/bench_render.py [--rounds 3] [--chars 250000] [--count 3]
        [--resizes 6] [--body run|words|lines] [--explain MS]

To compare with older code, put its package first on the path (the rig and this script
stay the current ones): ``PYTHONPATH=/tmp/old/gui .venv/bin/python bench/bench_render.py``.
Figures only: nothing here passes or fails on time."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import bench_server

from rig.prosody import ProsodyServer

GOAL_MS = 50.0
#: After the last change of a phase: time for layouts and paints to run.
SETTLE_S = 0.6
#: What a long message is made of: one unbroken run, words, or short lines.
FILLERS = {"run": "x", "words": "lorem ipsum dolor sit amet ", "lines": "line\n"}
SIZES = [(400, 600), (700, 800), (520, 640), (360, 500), (900, 700), (600, 900)]


# -- the peer, in a process of its own -------------------------------------------------------


async def peer_main(spec: dict[str, Any]) -> None:
    """Log in as the peer, send the bodies, log out once the server has them all."""
    from rig.peer import XmppPeer

    server = SimpleNamespace(host=spec["host"], port=spec["port"], direct_tls_port=0)
    async with XmppPeer(server, spec["jid"], spec["password"]) as peer:  # type: ignore[arg-type]
        for body in spec["bodies"]:
            peer.send_chat(spec["to"], body)
        await peer.logout(wait=30)  # once everything is written out


async def send_from_peer(
    server: ProsodyServer, peer: tuple[str, str], to: str, bodies: list[str]
) -> None:
    spec = {
        "host": server.host,
        "port": server.port,
        "jid": peer[0],
        "password": peer[1],
        "to": to,
        "bodies": bodies,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--peer",
        stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(json.dumps(spec).encode())
    if proc.returncode:
        raise RuntimeError(f"the peer failed: {err.decode(errors='replace')[-2000:]}")


# -- the watchdog ----------------------------------------------------------------------------


class Watchdog:
    """A 1 ms precise Qt timer; :attr:`longest` is the longest gap between two ticks (ms)
    since :meth:`reset`. With ``explain`` (ms), a thread prints where the main thread
    was while a block lasted longer than that (Python frames only)."""

    def __init__(self, explain: float = 0.0) -> None:
        from PySide6.QtCore import Qt, QTimer

        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._tick)
        self._last = time.perf_counter()
        self.longest = 0.0
        self._explain = explain / 1000
        self._main = threading.get_ident()
        self._running = False
        self._seen: set[str] = set()

    def start(self) -> None:
        self.reset()
        self._timer.start()
        if self._explain:
            self._running = True
            threading.Thread(target=self._sample, daemon=True).start()

    def stop(self) -> None:
        self._timer.stop()
        self._running = False

    def _sample(self) -> None:
        while self._running:
            time.sleep(0.002)
            if time.perf_counter() - self._last < self._explain:
                continue
            frame = sys._current_frames().get(self._main)
            stack = "".join(traceback.format_stack(frame, limit=12)) if frame else "?"
            if stack not in self._seen:
                self._seen.add(stack)
                print(f"-- blocked {1000 * (time.perf_counter() - self._last):.0f} ms in:")
                print(stack, flush=True)

    def reset(self) -> None:
        self._last = time.perf_counter()
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, (now - self._last) * 1000)
        self._last = now


async def phase(
    dog: Watchdog, action: Callable[[], Awaitable[Any] | None], settle: float = SETTLE_S
) -> float:
    """The longest block (ms) from ``action`` until ``settle`` seconds after it."""
    await asyncio.sleep(0.05)
    dog.reset()
    result = action()
    if result is not None:
        await result
    await asyncio.sleep(settle)
    return dog.longest


class Figures:
    """The longest block of each phase, per round, in the order the phases ran."""

    def __init__(self) -> None:
        self.blocks: dict[str, list[float]] = {}

    def add(self, label: str, ms: float) -> None:
        self.blocks.setdefault(label, []).append(ms)
        print(f"  {label:<58} {ms:8.1f} ms", flush=True)

    def table(self) -> None:
        print(f"\n{'longest block of the loop, ms':<60} {'median':>8} {'max':>8}")
        for label, blocks in self.blocks.items():
            worst = max(blocks)
            flag = "" if worst < GOAL_MS else f"  over {GOAL_MS:g}"
            print(f"{label:<60} {statistics.median(blocks):8.1f} {worst:8.1f}{flag}")


async def resizes(dog: Watchdog, window: Any, count: int, label: str, figures: Figures) -> None:
    """Resize ``window`` ``count`` times; the longest block of them all."""
    blocks = []
    for n in range(count):
        width, height = SIZES[n % len(SIZES)]
        blocks.append(await phase(dog, lambda w=width, h=height: window.resize(w, h)))
    figures.add(f"{label} ({count} sizes)", max(blocks))


# -- the app side ----------------------------------------------------------------------------


async def until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return value


async def bench(args: argparse.Namespace) -> None:
    import chinwag
    from chinwag.core.models import AccountConfig, TlsMode
    from chinwag.system.paths import Paths
    from chinwag.system.secrets import FileSecretStore
    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.wiring import build_core

    print(f"chinwag from {Path(chinwag.__file__).parent}")
    figures = Figures()
    with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
        me = server.make_user("app")
        paths = Paths.under(Path(tmp) / "profile").ensure()
        core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
        core.add_account(
            AccountConfig(jid=me[0], host=server.host, port=server.port, tls=TlsMode.STARTTLS),
            me[1],
        )
        await core.sign_in(me[0])
        await core.messaging.wait_archive_synced(me[0])
        bridge = EventBridge(core.bus)
        holder: list[UiContext] = []
        windows = ConversationWindows(
            lambda account, contact: ConversationWindow(holder[0], account, contact)
        )
        ctx = UiContext(core, bridge, windows)
        holder.append(ctx)
        dog = Watchdog(args.explain)
        dog.start()
        try:
            for number in range(args.rounds):
                print(f"round {number + 1}:")
                peer = server.make_user("peer")
                await bench_round(args, server, me[0], peer, windows, dog, figures)
        finally:
            dog.stop()
            windows.close_all()
            await asyncio.sleep(0.1)
            bridge.close()
            await core.shutdown()
    figures.table()


async def bench_round(
    args: argparse.Namespace,
    server: ProsodyServer,
    me: str,
    peer: tuple[str, str],
    windows: Any,
    dog: Watchdog,
    figures: Figures,
) -> None:
    """One round with a new contact: every phase once."""
    window: Any = None

    def open_window() -> None:
        nonlocal window
        window = windows.open(me, peer[0])

    async def receive(bodies: list[str]) -> None:
        rows = window.model.rowCount()
        await send_from_peer(server, peer, me, bodies)
        await until(lambda: window.model.rowCount() >= rows + len(bodies), 120, "the messages")

    figures.add("baseline: a window opens", await phase(dog, open_window))
    figures.add("idle, window open (the watchdog's own noise)", await phase(dog, lambda: None))
    shorts = [f"hello {n}" for n in range(20)]
    figures.add("baseline: 20 short messages arrive", await phase(dog, lambda: receive(shorts)))
    await resizes(dog, window, args.resizes, "baseline: resized, short messages", figures)

    longs = [
        (f"long message {n}: " + FILLERS[args.body] * args.chars)[: args.chars]
        for n in range(args.count)
    ]
    figures.add(
        f"{args.count} x {args.chars:,} characters ({args.body}) arrive",
        await phase(dog, lambda: receive(longs)),
    )
    await resizes(dog, window, args.resizes, "  then resized", figures)
    window.close()
    await asyncio.sleep(0.2)
    figures.add("  then the window opened again on them", await phase(dog, open_window))

    for label, short, body in (
        ("25,000 emoji in one message", "emoji", "\U0001f600" * 25_000),
        ("50,000 combining marks on one letter", "marks", "a" + "\u0301" * 50_000),
    ):
        figures.add(label, await phase(dog, lambda b=body: receive([b])))
        await resizes(dog, window, 2, f"  then resized ({short})", figures)

    show_all = getattr(window, "show_full_text", None)
    if show_all is None:
        return  # not in this code
    model = window.model
    for label, short, body in (
        (f"{args.chars:,} characters", "long", longs[0]),
        ("25,000 emoji", "emoji", "\U0001f600" * 25_000),
        ("50,000 combining marks", "marks", "a" + "\u0301" * 50_000),
    ):
        row = next(r for r in range(model.rowCount()) if model.message(r).body == body)
        shown: list[Any] = []

        async def show(r: int = row, into: list[Any] = shown) -> None:
            into.append(show_all(model.index(r)))
            await until(lambda: into[0].view.loaded, 60, "the whole text")

        figures.add(f"show all of the {label}", await phase(dog, show))
        text_window = shown[0]
        await resizes(dog, text_window, 2, f"  then its window resized ({short})", figures)

        def to_end(w: Any = text_window) -> None:
            bar = w.view.verticalScrollBar()
            bar.setValue(bar.maximum())

        figures.add(f"  then scrolled to its end ({short})", await phase(dog, to_end))
        text_window.close()
    window.close()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=250_000)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--resizes", type=int, default=6)
    parser.add_argument("--body", choices=list(FILLERS), default="run")
    parser.add_argument(
        "--explain", type=float, default=0.0, help="print stacks of blocks over this (ms)"
    )
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        asyncio.run(peer_main(json.loads(sys.stdin.read())))
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    qasync.run(bench(args))
    del app


if __name__ == "__main__":
    run()
