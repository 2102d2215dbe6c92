"""Messages per second between two accounts through Chinwag's core, and between two bare
slixmpp clients, against the same local Prosody in the same run; prints the ratio.

    .venv/bin/python bench/bench_messaging.py [--messages 5000] [--rounds 3] [--loop qasync]

Chinwag's sender awaits each ``send`` (the message is committed before it goes out, as
for a user or a script); its receiver stores every message before it counts. Figures
only: nothing here passes or fails on time."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slixmpp
from _server import bench_server

from chinwag.core.events import MessageAdded
from chinwag.core.models import AccountConfig, Direction
from chinwag.system.paths import Paths
from chinwag.system.secrets import FileSecretStore
from chinwag.wiring import build_core


class Bare(slixmpp.ClientXMPP):  # type: ignore[misc]
    def __init__(self, jid: str, password: str) -> None:
        super().__init__(jid, password)
        self.enable_plaintext = False
        self.ready = asyncio.get_running_loop().create_future()
        self.add_event_handler("session_start", self._start)

    def _start(self, _: object) -> None:
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(None)


async def bare_round(server, a, b, n: int) -> float:  # type: ignore[no-untyped-def]
    sender, receiver = Bare(*a), Bare(*b)
    done = asyncio.get_running_loop().create_future()
    count = 0

    def on_message(msg: object) -> None:
        nonlocal count
        count += 1
        if count == n and not done.done():
            done.set_result(time.perf_counter())

    receiver.add_event_handler("message", on_message)
    for client in (sender, receiver):
        client.connect(server.host, server.port)
    await asyncio.gather(sender.ready, receiver.ready)
    start = time.perf_counter()
    for i in range(n):
        sender.send_message(mto=b[0], mbody=f"message {i}", mtype="chat")
        if i % 100 == 0:
            await asyncio.sleep(0)  # let the socket drain, as the core's awaits do
    end = await asyncio.wait_for(done, 300)
    for client in (sender, receiver):
        client.disconnect()
    await asyncio.sleep(0.2)
    return n / (end - start)


async def chinwag_round(server, a, b, n: int, tmp: Path) -> float:  # type: ignore[no-untyped-def]
    cores = []
    for jid, password in (a, b):
        root = tmp / f"{jid}-{time.monotonic_ns()}"
        paths = Paths.under(root).ensure()
        core = build_core(paths, secrets=FileSecretStore(paths.secrets_file))
        core.add_account(AccountConfig(jid=jid, host=server.host, port=server.port), password)
        await core.sign_in(jid)
        await core.messaging.wait_archive_synced(jid)
        cores.append(core)
    sender, receiver = cores
    done = asyncio.get_running_loop().create_future()
    count = 0

    def on_added(event: MessageAdded) -> None:
        nonlocal count
        if event.message.direction is Direction.INCOMING:
            count += 1
            if count == n and not done.done():
                done.set_result(time.perf_counter())

    receiver.bus.subscribe(MessageAdded, on_added)
    start = time.perf_counter()
    for i in range(n):
        await sender.messaging.send(a[0], b[0], f"message {i}")
    end = await asyncio.wait_for(done, 300)
    for core in cores:
        await core.shutdown()
    return n / (end - start)


async def main(args: argparse.Namespace) -> None:
    with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
        bare_rates, core_rates = [], []
        for r in range(args.rounds):
            users = [server.make_user(p) for p in ("ba", "bb", "ca", "cb")]
            bare_rates.append(await bare_round(server, users[0], users[1], args.messages))
            core_rates.append(
                await chinwag_round(server, users[2], users[3], args.messages, Path(tmp))
            )
            print(
                f"round {r + 1}: bare slixmpp {bare_rates[-1]:,.0f} msg/s, "
                f"chinwag core {core_rates[-1]:,.0f} msg/s"
            )
        bare, core = statistics.median(bare_rates), statistics.median(core_rates)
        print(f"messages per round: {args.messages:,}, rounds: {args.rounds}, loop: {args.loop}")
        print(f"bare slixmpp -> bare slixmpp: {bare:,.0f} messages/s (median)")
        print(f"chinwag core -> chinwag core: {core:,.0f} messages/s (median)")
        print(f"ratio chinwag / bare: {core / bare:.2f} (goal: at least 0.70)")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop", choices=("qasync", "asyncio"), default="qasync")
    args = parser.parse_args()
    if args.loop == "asyncio":
        asyncio.run(main(args))
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    qasync.run(main(args))
    del app


if __name__ == "__main__":
    run()
