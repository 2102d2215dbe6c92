"""Group chat benchmarks (issue 12), against a local Prosody with its MUC service.

Usage: ``.venv/bin/python bench/bench_rooms.py [--occupants 500] [--archived 1000]
[--rate 200] [--seconds 30]``

A crowd process (this script with ``--crowd``) holds the other occupants: one account,
one stream per occupant (a resource each), every one of them in the room under its own
nick. Chinwag's core runs in this process, so its memory is measured alone.

1. Joining: the room holds ``--occupants`` occupants and ``--archived`` archived
   messages; Chinwag's core joins it. Printed: the time until the room lets us in with
   the whole occupant list, until the newest page of its history is stored (the
   archive is read newest page first: what the window shows), until the catch-up is
   over (a first visit reads a few pages back, not the whole archive), the memory the
   process gained (RSS), and the longest loop block while it happened.
2. A flood: ``--rate`` messages a second for ``--seconds`` seconds from the crowd to
   the room while the core is in it: the longest loop block, and how many of the
   messages were stored (every one of them, or the count missing).

With hundreds of occupants the server itself is the bottleneck of a flood (each message
goes to every occupant's stream, all on this machine): run the flood with
``--occupants 20`` for the client's figures.

The window is not measured yet (the group conversation window is still to come): these
are the core's figures. It prints figures; it never asserts on them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "gui"))

MUC = "http://jabber.org/protocol/muc"


def rss_mb() -> float:
    """This process's resident memory now, MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


class LoopLag:
    """The longest time the event loop was busy between two ticks (ms)."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, (loop.time() - before - self.tick) * 1000)

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.worst


# -- the crowd (a process of its own) ---------------------------------------------------


async def crowd(args: argparse.Namespace) -> None:
    """Sign in ``occupants`` streams of one account, put each in the room, then obey
    commands on stdin: ``archive N`` (N messages, from ten occupants), ``flood R S``
    (R a second for S seconds); each answered with ``done`` on stdout."""
    from slixmpp import ClientXMPP
    from slixmpp.xmlstream import ET

    os.environ["SSL_CERT_FILE"] = args.ca
    clients: list[Any] = []
    joined = 0
    first_in = asyncio.Event()
    all_in = asyncio.Event()

    def on_presence(presence: Any) -> None:
        nonlocal joined
        x = presence.xml.find(f"{{{MUC}#user}}x")
        codes = (
            {s.get("code") for s in x.findall(f"{{{MUC}#user}}status")} if x is not None else set()
        )
        if "110" in codes:
            joined += 1
            first_in.set()
            if joined == args.occupants:
                all_in.set()

    async def sign_in(i: int) -> Any:
        client = ClientXMPP(f"{args.jid}/o{i}", args.password)
        client.register_plugin("xep_0045")
        client.add_event_handler("presence", on_presence)
        started = asyncio.get_running_loop().create_future()
        client.add_event_handler(
            "session_start", lambda _: started.done() or started.set_result(None)
        )
        client.connect(host=args.host, port=args.port)
        await asyncio.wait_for(started, 120)
        return client

    for start in range(0, args.occupants, 25):
        clients += await asyncio.gather(
            *(sign_in(i) for i in range(start, min(start + 25, args.occupants)))
        )
    for i, client in enumerate(clients):
        presence = client.make_presence(pto=f"{args.room}/occupant-{i}")
        x = ET.SubElement(presence.xml, f"{{{MUC}}}x")
        ET.SubElement(x, f"{{{MUC}}}history", {"maxstanzas": "0"})
        presence.send()
        if i == 0:  # the first makes the room: persistent and open, once it is in
            await asyncio.wait_for(first_in.wait(), 60)
            iq = client.make_iq_set(ito=args.room)
            query = ET.SubElement(iq.xml, f"{{{MUC}#owner}}query")
            ET.SubElement(query, "{jabber:x:data}x", {"type": "submit"})
            await iq.send(timeout=30)
    await asyncio.wait_for(all_in.wait(), 300)
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while line := (await reader.readline()).decode().split():
        if line[0] == "archive":
            for n in range(int(line[1])):
                clients[n % 10].send_message(
                    mto=args.room, mbody=f"archived {n}", mtype="groupchat"
                )
                if n % 50 == 49:
                    await asyncio.sleep(0)
            # Once the room answers a query sent after them, it has them all.
            await clients[9].plugin["xep_0030"].get_info(jid=args.room, timeout=600)
        elif line[0] == "flood":
            rate, seconds = float(line[1]), float(line[2])
            total = int(rate * seconds)
            begin = time.monotonic()
            for n in range(total):
                clients[10 + n % 10].send_message(
                    mto=args.room, mbody=f"flood {n}", mtype="groupchat"
                )
                wait = begin + (n + 1) / rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await clients[19].plugin["xep_0030"].get_info(jid=args.room, timeout=600)
        print("done", flush=True)
    for client in clients:
        client.disconnect()


# -- Chinwag's side ---------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    from _server import bench_server
    from helpers import account_for, make_core

    from chinwag.core.events import ArchiveSynced, MessageAdded
    from chinwag.core.models import ConversationKey, ConversationKind

    print(
        f"Chinwag rooms benchmark: {args.occupants} occupants, {args.archived} archived "
        f"messages, a flood of {args.rate:g}/s for {args.seconds:g} s; Python "
        f"{platform.python_version()}, {platform.machine()}"
    )
    with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
        room = f"bench@{server.muc_domain}"
        crowd_jid, crowd_password = server.make_user("crowd")
        jid, password = server.make_user("alice")
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--crowd",
            "--jid", crowd_jid, "--password", crowd_password,
            "--host", server.host, "--port", str(server.port),
            "--room", room, "--ca", os.environ["SSL_CERT_FILE"],
            "--occupants", str(args.occupants),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdin is not None

        async def answer() -> str:
            assert proc.stdout is not None
            return (await asyncio.wait_for(proc.stdout.readline(), 600)).decode().strip()

        assert await answer() == "ready"
        print(f"  the crowd is in: {args.occupants} streams in {time.monotonic() - started:.1f} s")
        proc.stdin.write(f"archive {args.archived}\n".encode())
        assert await answer() == "done"

        core = make_core(Path(tmp) / "profile")
        core.add_account(account_for(server, jid), password)
        await core.sign_in(jid)
        await core.messaging.wait_archive_synced(jid)
        key = ConversationKey(jid, room, ConversationKind.GROUPCHAT)
        synced = asyncio.Event()
        core.bus.subscribe(ArchiveSynced, lambda e: e.room == room and synced.set())
        newest_body = f"archived {args.archived - 1}"
        newest_at: list[float] = []

        def newest_stored(event: MessageAdded) -> None:
            if event.message.body == newest_body and not newest_at:
                newest_at.append(time.perf_counter())

        core.bus.subscribe(MessageAdded, newest_stored)
        lag = LoopLag()
        before = rss_mb()
        lag.start()
        t0 = time.perf_counter()
        joined = await core.rooms.join(jid, room, "Alice")
        t_in = time.perf_counter() - t0
        occupants = len(joined.occupants)
        await asyncio.wait_for(synced.wait(), 300)
        t_history = time.perf_counter() - t0
        block = await lag.stop()
        gained = rss_mb() - before
        stored = core.store.count(key)
        t_newest = (newest_at[0] - t0) if newest_at else math.nan
        print("joining (goal: in with every occupant and the newest history under 1 s):")
        for label, seconds in (
            (f"in the room, {occupants} occupants listed:", t_in),
            ("newest page of the history stored:", t_newest),
            (f"history caught up ({stored} messages):", t_history),
        ):
            print(f"  {label:<39}{seconds * 1000:8.1f} ms")
        print(f"  memory gained (RSS):                     {gained:8.1f} MB  (goal < 20 MB)")
        print(f"  longest loop block:                      {block:8.1f} ms  (goal < 50 ms)")

        got = 0
        done = asyncio.Event()
        total = int(args.rate * args.seconds)

        def count(event: MessageAdded) -> None:
            nonlocal got
            if event.message.body.startswith("flood "):
                got += 1
                if got == total:
                    done.set()

        core.bus.subscribe(MessageAdded, count)
        lag.start()
        proc.stdin.write(f"flood {args.rate} {args.seconds}\n".encode())
        assert await answer() == "done"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 60)
        block = await lag.stop()
        print(f"a flood of {args.rate:g} messages/s for {args.seconds:g} s into the room:")
        print(f"  stored {got} of {total} ({total - got} missing)")
        print(f"  longest loop block:                      {block:8.1f} ms  (goal < 50 ms)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        print(f"  peak RSS of this process: {peak:.0f} MB")
        proc.stdin.close()
        await proc.wait()
        await core.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--occupants", type=int, default=500)
    parser.add_argument("--archived", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--crowd", action="store_true", help=argparse.SUPPRESS)
    for name in ("--jid", "--password", "--host", "--room", "--ca"):
        parser.add_argument(name, default="", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(crowd(args) if args.crowd else run(args))


if __name__ == "__main__":
    main()
