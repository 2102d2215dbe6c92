"""A room's window (issue 12): joining a big room with the window open, and a flood
into the open window, against a local Prosody with its MUC service. Chinwag's core and
its Qt window run in this process (offscreen, one qasync loop that is the Qt loop), the
other occupants in a crowd process (``bench_rooms.py --crowd``).

Usage: ``.venv/bin/python bench/bench_room_window.py [--occupants 500] [--archived 1000]
[--flood-occupants 20] [--rate 200] [--seconds 30]``

1. Joining: the room holds ``--occupants`` occupants and ``--archived`` archived
   messages; the room's window is opened (which enters the room). Printed: the time until
   the window shows the newest archived message and the whole participant list (goal
   under 1 s), the memory the process gained (RSS, goal under 20 MB) and the longest loop
   block (goal under 50 ms).
2. A flood: a second room with ``--flood-occupants`` occupants (with hundreds the server
   itself is the bottleneck: every message goes to every stream, all on this machine)
   sends ``--rate`` messages a second for ``--seconds`` seconds to the open window.
   Printed: the longest loop block (goal under 50 ms), and how many were stored and
   shown (all, or the count missing).

Figures only: nothing here passes or fails on time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "gui"))

import qasync  # noqa: E402
from bench_rooms import LoopLag, rss_mb  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


class Crowd:
    """The occupants of one room, in a process of their own (``bench_rooms --crowd``)."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, server: Any, room: str, occupants: int) -> Crowd:
        jid, password = server.make_user("crowd")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "bench_rooms.py"),
            "--crowd",
            "--jid", jid, "--password", password,
            "--host", server.host, "--port", str(server.port),
            "--room", room, "--ca", os.environ["SSL_CERT_FILE"],
            "--occupants", str(occupants),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        crowd = cls(proc)
        assert await crowd.answer() == "ready"
        return crowd

    async def answer(self) -> str:
        line = await asyncio.wait_for(self.proc.stdout.readline(), 900)
        return str(line.decode().strip())

    async def ask(self, command: str) -> None:
        self.proc.stdin.write(f"{command}\n".encode())
        assert await self.answer() == "done"

    async def close(self) -> None:
        self.proc.stdin.close()
        await self.proc.wait()


async def until(check: Any, within: float = 300.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there")
        await asyncio.sleep(0.002)


async def bench(args: argparse.Namespace, tmp: Path) -> None:
    from _server import bench_server
    from helpers import account_for, make_core

    from chinwag.core.events import MessageAdded
    from chinwag.core.models import ConversationKey, ConversationKind
    from chinwag.ui.bridge import EventBridge
    from chinwag.ui.context import UiContext
    from chinwag.ui.conversation_window import ConversationWindow
    from chinwag.ui.conversations import ConversationWindows
    from chinwag.ui.room_window import RoomWindow

    print(
        f"Chinwag room window benchmark: {args.occupants} occupants, {args.archived} archived "
        f"messages; a flood of {args.rate:g}/s for {args.seconds:g} s with "
        f"{args.flood_occupants} occupants; Python {platform.python_version()}, "
        f"{platform.machine()}, Qt offscreen"
    )
    with bench_server() as server:
        big = f"big@{server.muc_domain}"
        busy = f"busy@{server.muc_domain}"
        started = time.monotonic()
        crowd = await Crowd.start(server, big, args.occupants)
        print(f"  the crowd is in: {args.occupants} streams in {time.monotonic() - started:.1f} s")
        await crowd.ask(f"archive {args.archived - 1}")
        # The archive's order is the order the room got them (ten streams at once): the
        # newest is one more, sent once the room has all the others.
        await crowd.ask("flood 1 1")

        jid, password = server.make_user("alice")
        core = make_core(tmp / "profile")
        core.add_account(account_for(server, jid), password)
        await core.sign_in(jid)
        await core.messaging.wait_archive_synced(jid)
        bridge = EventBridge(core.bus)
        ctx: UiContext
        windows = ConversationWindows(
            lambda a, p: ConversationWindow(ctx, a, p),
            lambda a, r: RoomWindow(ctx, a, r),
            lambda a, r: core.rooms.room(a, r) is not None,
        )
        ctx = UiContext(core, bridge, windows)

        newest = "flood 0"
        lag = LoopLag()
        before = rss_mb()
        lag.start()
        t0 = time.perf_counter()
        window = windows.open(jid, big, kind=ConversationKind.GROUPCHAT)
        assert isinstance(window, RoomWindow)
        model = window.model

        def newest_shown() -> bool:
            rows = model.rowCount()
            return rows > 0 and model.message(rows - 1).body == newest

        def everyone_listed() -> bool:
            return window.occupants.rowCount() >= args.occupants + 1

        await until(lambda: core.rooms.is_joined(jid, big))
        t_in = time.perf_counter() - t0
        await until(newest_shown)
        t_newest = time.perf_counter() - t0
        await until(everyone_listed)
        t_all = time.perf_counter() - t0
        block = await lag.stop()
        gained = rss_mb() - before
        print("joining with the window open (goal: newest page and everyone under 1 s):")
        print(f"  in the room:                              {t_in * 1000:8.1f} ms")
        print(f"  newest archived message shown:            {t_newest * 1000:8.1f} ms")
        print(
            f"  all {window.occupants.rowCount()} participants listed:        "
            f"{t_all * 1000:8.1f} ms"
        )
        print(f"  memory gained (RSS):                      {gained:8.1f} MB  (goal < 20 MB)")
        print(f"  longest loop block:                       {block:8.1f} ms  (goal < 50 ms)")
        window.close()
        await crowd.close()

        crowd = await Crowd.start(server, busy, args.flood_occupants)
        window = windows.open(jid, busy, kind=ConversationKind.GROUPCHAT)
        assert isinstance(window, RoomWindow)
        await until(lambda: core.rooms.is_joined(jid, busy))
        key = ConversationKey(jid, busy, ConversationKind.GROUPCHAT)
        total = int(args.rate * args.seconds)
        stored = 0
        done = asyncio.Event()

        def count(event: MessageAdded) -> None:
            nonlocal stored
            if event.message.key == key and event.message.body.startswith("flood "):
                stored += 1
                if stored == total:
                    done.set()

        core.bus.subscribe(MessageAdded, count)
        lag.start()
        await crowd.ask(f"flood {args.rate} {args.seconds}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 60)
        await asyncio.sleep(0.2)  # let the window take the last ones
        block = await lag.stop()
        last = window.model.message(window.model.rowCount() - 1)
        (newest_stored,) = core.store.latest(key, 1)
        print(f"a flood of {args.rate:g} messages/s for {args.seconds:g} s into the open window:")
        print(f"  stored {stored} of {total} ({total - stored} missing)")
        shown = "yes" if last.uid == newest_stored.uid else f"no ({last.body!r})"
        print(f"  the window's last row is the newest stored message: {shown}")
        print(f"  longest loop block:                       {block:8.1f} ms  (goal < 50 ms)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        print(f"  peak RSS of this process: {peak:.0f} MB")
        windows.close_all()
        await crowd.close()
        bridge.close()
        await core.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--occupants", type=int, default=500)
    parser.add_argument("--archived", type=int, default=1000)
    parser.add_argument("--flood-occupants", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with tempfile.TemporaryDirectory() as tmp:
        qasync.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
