"""The automation API over D-Bus, against Chinwag as a process (offscreen, a private
dbus-daemon, a local Prosody):

1. ``InstantMessage`` round trip, p50 and p99: for the window already open (the same
   contact again and again) and for a new window (a new contact each call; the window is
   closed again, untimed, after each). Goals: under 2 ms and under 10 ms at p50.
2. ``Messages1.SendMessage`` throughput end to end: N calls pipelined (all in flight at
   once), from the first call to the last message arriving at a bare slixmpp client; and
   bare slixmpp to bare slixmpp with the same N in the same run; both rates and the ratio
   (goal: at least 0.6).

    .venv/bin/python bench/bench_automation.py [--messages 3000] [--rounds 3]
        [--existing 2000] [--new 300]

Figures only: nothing here passes or fails on time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slixmpp
from _server import bench_server
from dbus_next import Message, MessageType, Variant

from chinwag.automation.bus import ChinwagMessageBus, close_message_bus, connect_session_bus
from rig.app import write_profile
from rig.dbus import PrivateSessionBus
from rig.prosody import ProsodyServer

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
WINDOW = "im.chinwag.Window1"
ONLINE = 0x02
TIMEOUT = 60.0


# -- the app and the bus -----------------------------------------------------------------


class Api:
    """Raw calls to the app's API on one bus connection (``pid``: the app's process)."""

    def __init__(self, bus: ChinwagMessageBus, pid: int = 0) -> None:
        self.bus = bus
        self.pid = pid

    async def call(
        self,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
        destination: str = BUS_NAME,
    ) -> list[Any]:
        reply = await self.bus.call(
            Message(
                destination=destination,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise RuntimeError(f"{reply.error_name}: {reply.body[0] if reply.body else ''}")
        return list(reply.body)

    async def get(self, path: str, interface: str, prop: str) -> Any:
        body = await self.call(
            path, "org.freedesktop.DBus.Properties", "Get", "ss", [interface, prop]
        )
        return body[0].value


def profile(home: Path, jid: str, password: str, server: ProsodyServer, bus: str) -> dict[str, str]:
    env = write_profile(home, jid, password, server)
    env["HOME"] = str(home)
    env["DBUS_SESSION_BUS_ADDRESS"] = bus
    return env


@asynccontextmanager
async def running_app(
    server: ProsodyServer, jid: str, password: str, bus_address: str, home: Path
) -> AsyncIterator[Api]:
    """``chinwag --background`` offscreen, signed in; yields an API client."""
    env = profile(home, jid, password, server, bus_address)
    with (home / "stderr.txt").open("ab") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chinwag",
            "--background",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    bus = await connect_session_bus(bus_address)
    api = Api(bus, proc.pid)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (
            await api.call(
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "NameHasOwner",
                "s",
                [BUS_NAME],
                destination="org.freedesktop.DBus",
            )
        )[0]:
            if proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not come up; see " + str(home / "stderr.txt"))
            await asyncio.sleep(0.05)
        while await api.get(ROOT, MESSENGER, "MyStatus") != ONLINE:
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not sign in")
            await asyncio.sleep(0.05)
        yield api
    finally:
        await close_message_bus(bus)
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# -- 1. InstantMessage round trip ----------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def instant_message(api: Api, contact: str) -> tuple[float, str]:
    start = time.perf_counter()
    hr, window = await api.call(ROOT, MESSENGER, "InstantMessage", "v", [Variant("s", contact)])
    elapsed = time.perf_counter() - start
    assert hr == 0, hr
    return elapsed, window


async def bench_instant_message(api: Api, existing: int, new: int) -> None:
    _, window = await instant_message(api, "again@localhost")
    for _ in range(50):  # warm up
        await instant_message(api, "again@localhost")
    same: list[float] = []
    for _ in range(existing):
        elapsed, got = await instant_message(api, "again@localhost")
        assert got == window
        same.append(elapsed)
    await api.call(window, WINDOW, "Close")
    await api.call(window, WINDOW, "Release")
    fresh: list[float] = []
    for i in range(new):
        elapsed, window = await instant_message(api, f"new{i}@localhost")
        fresh.append(elapsed)
        await api.call(window, WINDOW, "Close")
        await api.call(window, WINDOW, "Release")
    for label, samples, goal in (
        ("existing window", same, 2.0),
        ("new window     ", fresh, 10.0),
    ):
        print(
            f"InstantMessage, {label}: p50 {percentile(samples, 0.5) * 1000:.2f} ms, "
            f"p99 {percentile(samples, 0.99) * 1000:.2f} ms "
            f"({len(samples)} calls; goal p50 < {goal:g} ms)"
        )


# -- 2. SendMessage throughput -------------------------------------------------------------


class Bare(slixmpp.ClientXMPP):  # type: ignore[misc]
    def __init__(self, jid: str, password: str) -> None:
        super().__init__(jid, password)
        self.enable_plaintext = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.add_event_handler("session_start", self._start)

    def _start(self, _: object) -> None:
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(None)


async def close(client: Bare) -> None:
    """Disconnect and wait until the stream is gone; end slixmpp's filter task."""
    gone = client.disconnected
    await client.disconnect(wait=2.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(gone), 3.0)
    task = getattr(client, "_run_out_filters", None)
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def counting_receiver(
    server: ProsodyServer, account: tuple[str, str], n: int
) -> tuple[Bare, asyncio.Future[float]]:
    """A bare slixmpp client; the future is the time its ``n``-th message arrived."""
    receiver = Bare(*account)
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    count = 0

    def on_message(_msg: object) -> None:
        nonlocal count
        count += 1
        if count == n and not done.done():
            done.set_result(time.perf_counter())

    receiver.add_event_handler("message", on_message)
    receiver.connect(server.host, server.port)
    await receiver.ready
    return receiver, done


async def bare_round(
    server: ProsodyServer, a: tuple[str, str], b: tuple[str, str], n: int
) -> float:
    sender = Bare(*a)
    sender.connect(server.host, server.port)
    await sender.ready
    receiver, done = await counting_receiver(server, b, n)
    start = time.perf_counter()
    for i in range(n):
        sender.send_message(mto=b[0], mbody=f"message {i}", mtype="chat")
        if i % 100 == 0:
            await asyncio.sleep(0)  # let the socket drain
    end = await asyncio.wait_for(done, 300)
    for client in (sender, receiver):
        await close(client)
    return n / (end - start)


async def api_round(api: Api, server: ProsodyServer, b: tuple[str, str], n: int) -> float:
    receiver, done = await counting_receiver(server, b, n)

    def send(i: int) -> Any:
        parts = [
            {},
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", f"message {i}")},
        ]
        return api.call(ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", b[0], parts, 0])

    start = time.perf_counter()
    calls = [asyncio.ensure_future(send(i)) for i in range(n)]  # all in flight
    await asyncio.gather(*calls)
    replied = time.perf_counter()
    end = await asyncio.wait_for(done, 300)
    await close(receiver)
    print(f"  (all {n:,} SendMessage replies after {replied - start:.2f} s)")
    return n / (end - start)


# -- main ----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    bus = PrivateSessionBus()
    address = bus.start()
    try:
        with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
            app_jid, app_password = server.make_user("app")
            async with running_app(server, app_jid, app_password, address, Path(tmp)) as api:
                await bench_instant_message(api, args.existing, args.new)
                bare_rates, api_rates = [], []
                for r in range(args.rounds):
                    users = [server.make_user(p) for p in ("ba", "bb", "sink")]
                    bare_rates.append(await bare_round(server, users[0], users[1], args.messages))
                    api_rates.append(await api_round(api, server, users[2], args.messages))
                    print(
                        f"round {r + 1}: bare slixmpp {bare_rates[-1]:,.0f} msg/s, "
                        f"SendMessage over D-Bus {api_rates[-1]:,.0f} msg/s"
                    )
            bare, api_rate = statistics.median(bare_rates), statistics.median(api_rates)
            print(f"messages per round: {args.messages:,}, rounds: {args.rounds}")
            print(f"bare slixmpp -> bare slixmpp:         {bare:,.0f} messages/s (median)")
            print(f"SendMessage (D-Bus) -> bare slixmpp:  {api_rate:,.0f} messages/s (median)")
            print(f"ratio SendMessage / bare: {api_rate / bare:.2f} (goal: at least 0.6)")
    finally:
        bus.stop()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--existing", type=int, default=2000, help="calls for an open window")
    parser.add_argument("--new", type=int, default=300, help="calls that open a new window")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    run()
