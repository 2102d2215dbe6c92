"""``Messages1.SendMessage`` with the contact's conversation window closed and open, against
Chinwag as a process (offscreen, a private dbus-daemon, a local Prosody):

1. Sequential: one call at a time, the D-Bus round trip's p50 and p99, window closed
   and window open (goal: p50 under 3 ms both), and the CPU time the app spent per call
   (what other load on the machine changes least). With the window open, also the p50
   of each block of calls, as the rows the window holds grow to its cap (300): the cost
   of a call must not grow with them.
2. Pipelined: N calls, 32 in flight, from the first call to the N-th message arriving at
   a bare slixmpp client, window closed and window open; in the same run, bare slixmpp
   to bare slixmpp with the same N, once sending the stanza Chinwag sends (id and
   origin-id, receipt request, markable, chat state ``active``) and once a plain one (a
   body). Ratios against both (goal: at least 0.9 against the same stanza).

    .venv/bin/python bench/bench_send_window.py [--calls 600] [--block 100]
        [--messages 2000] [--in-flight 32] [--rounds 3]

Figures only: nothing here passes or fails on time."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import bench_server
from bench_automation import (
    MESSAGES,
    MESSENGER,
    ROOT,
    WINDOW,
    Api,
    Bare,
    close,
    counting_receiver,
    percentile,
    running_app,
)
from dbus_next import Variant
from slixmpp.xmlstream import ET

from rig.dbus import PrivateSessionBus
from rig.prosody import ProsodyServer

Account = tuple[str, str]


def parts(text: str) -> list[dict[str, Variant]]:
    return [{}, {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)}]


async def send_message(api: Api, to: str, text: str) -> None:
    await api.call(ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", to, parts(text), 0])


async def open_window(api: Api, contact: str) -> str:
    hr, window = await api.call(ROOT, MESSENGER, "InstantMessage", "v", [Variant("s", contact)])
    assert hr == 0, hr
    return str(window)


async def close_window(api: Api, window: str) -> None:
    await api.call(window, WINDOW, "Close")
    await api.call(window, WINDOW, "Release")


# -- 1. sequential -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far (all its threads; user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sequential(api: Api, to: str, calls: int, tag: str) -> tuple[list[float], float]:
    """Round trips of ``calls`` SendMessage calls, one after the other (seconds), and
    the app's CPU time per call (which other load on the machine hardly changes)."""
    samples = []
    cpu = cpu_seconds(api.pid)
    for i in range(calls):
        start = time.perf_counter()
        await send_message(api, to, f"{tag} {i}")
        samples.append(time.perf_counter() - start)
    await asyncio.sleep(0.5)  # what each call set off (acks, paints) is in its CPU time too
    return samples, (cpu_seconds(api.pid) - cpu) / calls


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def bench_sequential(api: Api, server: ProsodyServer, calls: int, block: int) -> None:
    sink = server.make_user("seq")
    receiver, _ = await counting_receiver(server, sink, 10**9)
    try:
        await sequential(api, sink[0], 50, "warm-up")
        closed, closed_cpu = await sequential(api, sink[0], calls, "closed")
        window = await open_window(api, sink[0])  # shows the newest page: 50 rows
        opened, opened_cpu = await sequential(api, sink[0], calls, "open")
        await close_window(api, window)
    finally:
        await close(receiver)
    print(f"SendMessage sequential ({calls} calls each; goal p50 < 3 ms):")
    for label, samples, cpu in (
        ("window closed", closed, closed_cpu),
        ("window open  ", opened, opened_cpu),
    ):
        print(
            f"  {label}: p50 {ms(percentile(samples, 0.5))}, p99 {ms(percentile(samples, 0.99))}"
            f"; the app's CPU {ms(cpu)} per call"
        )
    blocks = []
    for first in range(0, len(opened), block):
        rows = min(50 + first, 300)
        blocks.append(f"{rows}+ rows {ms(percentile(opened[first : first + block], 0.5))}")
    print(f"  window open, p50 per {block} calls, by rows held: " + ", ".join(blocks))


# -- 2. pipelined --------------------------------------------------------------------------


def chinwag_like(client: Bare, to: str, text: str) -> Any:
    """The stanza Chinwag sends (xmpp/stanzas.build_outgoing), built here by hand."""
    message = client.make_message(mto=to, mbody=text, mtype="chat")
    uid = str(uuid.uuid4())
    message["id"] = uid
    ET.SubElement(message.xml, "{urn:xmpp:sid:0}origin-id").set("id", uid)
    message.xml.append(ET.Element("{urn:xmpp:receipts}request"))
    message.xml.append(ET.Element("{urn:xmpp:chat-markers:0}markable"))
    message.xml.append(ET.Element("{http://jabber.org/protocol/chatstates}active"))
    return message


async def bare_round(server: ProsodyServer, a: Account, b: Account, n: int, *, full: bool) -> float:
    sender = Bare(*a)
    sender.connect(server.host, server.port)
    await sender.ready
    receiver, done = await counting_receiver(server, b, n)
    start = time.perf_counter()
    for i in range(n):
        if full:
            chinwag_like(sender, b[0], f"message {i}").send()
        else:
            sender.send_message(mto=b[0], mbody=f"message {i}", mtype="chat")
        if i % 100 == 0:
            await asyncio.sleep(0)  # let the socket drain
    end = await asyncio.wait_for(done, 600)
    for client in (sender, receiver):
        await close(client)
    return n / (end - start)


async def api_round(
    api: Api, server: ProsodyServer, b: Account, n: int, in_flight: int, *, window: bool
) -> float:
    receiver, done = await counting_receiver(server, b, n)
    path = await open_window(api, b[0]) if window else ""
    slots = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with slots:
            await send_message(api, b[0], f"message {i}")

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    end = await asyncio.wait_for(done, 600)
    await close(receiver)
    if path:
        await close_window(api, path)
    return n / (end - start)


async def bench_pipelined(api: Api, server: ProsodyServer, args: argparse.Namespace) -> None:
    n = args.messages
    rates: dict[str, list[float]] = {"plain": [], "same": [], "closed": [], "open": []}
    for r in range(args.rounds):
        users = [server.make_user(f"r{r}{p}") for p in ("a", "b", "c", "d", "sink1", "sink2")]
        rates["plain"].append(await bare_round(server, users[0], users[1], n, full=False))
        rates["same"].append(await bare_round(server, users[2], users[3], n, full=True))
        rates["closed"].append(
            await api_round(api, server, users[4], n, args.in_flight, window=False)
        )
        rates["open"].append(await api_round(api, server, users[5], n, args.in_flight, window=True))
        print(
            f"round {r + 1}: bare plain {rates['plain'][-1]:,.0f}, bare same stanza "
            f"{rates['same'][-1]:,.0f}, SendMessage window closed {rates['closed'][-1]:,.0f}, "
            f"window open {rates['open'][-1]:,.0f} messages/s"
        )
    median = {key: statistics.median(values) for key, values in rates.items()}
    print(
        f"SendMessage pipelined ({n:,} messages, {args.in_flight} in flight, "
        f"{args.rounds} rounds, medians; goal: at least 0.9 of bare slixmpp, same stanza):"
    )
    print(f"  bare slixmpp, plain stanza:       {median['plain']:,.0f} messages/s")
    print(f"  bare slixmpp, Chinwag's stanza:   {median['same']:,.0f} messages/s")
    for key, label in (("closed", "window closed"), ("open", "window open  ")):
        print(
            f"  SendMessage, {label}:       {median[key]:,.0f} messages/s, ratio "
            f"{median[key] / median['same']:.2f} (same stanza), "
            f"{median[key] / median['plain']:.2f} (plain)"
        )


# -- main ----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    bus = PrivateSessionBus()
    address = bus.start()
    try:
        with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
            app_jid, app_password = server.make_user("app")
            async with running_app(server, app_jid, app_password, address, Path(tmp)) as api:
                if args.calls:
                    await bench_sequential(api, server, args.calls, args.block)
                if args.rounds:
                    await bench_pipelined(api, server, args)
    finally:
        bus.stop()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="sequential calls per case")
    parser.add_argument("--block", type=int, default=100, help="calls per p50 block")
    parser.add_argument("--messages", type=int, default=2000, help="pipelined, per round")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    run()
