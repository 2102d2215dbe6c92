"""The Conversations API (conversations-api.md) over D-Bus, against Chinwag as a process
(offscreen, a private dbus-daemon, a local Prosody with MUC), measured with a stock
dbus-next client (``dbus_next.aio.MessageBus``, nothing of Chinwag's):

1. ``Conversation1.SendMessage`` round trip: from the call to ``OnSendMessage`` with
   that message arriving at the client (its uuid the one the reply gave), one message at
   a time, p50 and p99; in a room (the room's reflection makes the uuid, so this includes
   Prosody's MUC) and in a direct conversation. Goal: p50 under 5 ms. Also the reply's
   own p50, the app's CPU time per message (what other load on the machine changes
   least) and, for comparison, a slixmpp occupant's own message reflected by the room
   (Prosody's part of the room's round trip).
2. ``Conversation1.RetransmitEvents`` of 100 events (the room's last 100), p50 and p99
   over repeated calls; goal: under 10 ms. The reply is checked (100 events, consecutive
   sequences); dbus-next's decoding of it, the client's share, is timed on its own.
3. A burst: a slixmpp occupant sends N messages to the room as fast as its stream takes
   them, and a stock dbus-next client in a process of its own (this script, run with
   ``--listen``) follows ``OnSendMessage``: every one must arrive, in order (the texts
   in the order sent, the sequences consecutive). Printed: the time from the first
   message sent to the last signal arrived, events/s, and the CPU time the app, Prosody,
   the listener and this script spent meanwhile.

    .venv/bin/python bench/bench_conversations.py [--quick] [--messages 300]
        [--retransmits 200] [--burst 20000]

``--quick``: 30 messages, 20 retransmits, a burst of 1,000. Each figure is printed with
its goal and PASS or FAIL against it (timing goals depend on the machine's load)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import bench_server
from bench_automation import Api, RawBus, Tree, codec_seconds, percentile, tree_app
from bench_send_window import cpu_seconds
from dbus_next import Message, MessageType, Variant
from dbus_next.aio import MessageBus
from slixmpp import JID

from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
SEND_GOAL_MS = 5.0
RETRANSMIT_GOAL_MS = 10.0
RETRANSMIT_COUNT = 100
WARM_UP = 20
TIMEOUT = 60.0
IDLE = 60.0  # the burst's listener gives up after this long with nothing new


def ms(samples: list[float], q: float) -> float:
    return percentile(samples, q) * 1000


def verdict(value: float, goal: float) -> str:
    return "PASS" if value < goal else "FAIL"


# -- a stock dbus-next client ----------------------------------------------------------------


class StockClient:
    """A stock dbus-next connection calling Conversation1 with plain messages and
    recording when each ``OnSendMessage`` arrives, by message text."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.waiting: dict[str, asyncio.Future[tuple[float, str, dict[str, Any]]]] = {}
        bus.add_message_handler(self._on_message)

    @classmethod
    async def connect(cls, address: str) -> StockClient:
        client = cls(await MessageBus(bus_address=address).connect())
        await add_match(client.bus)
        return client

    def _on_message(self, msg: Message) -> bool:
        if (
            msg.message_type is MessageType.SIGNAL
            and msg.interface == CONVERSATIONS
            and msg.member == "OnSendMessage"
        ):
            arrived = time.perf_counter()
            path, event = msg.body
            message = event["message"].value
            waiter = self.waiting.pop(message["text"].value, None)
            if waiter is not None and not waiter.done():
                waiter.set_result((arrived, path, message))
        return False

    async def call(self, path: str, interface: str, member: str, sig: str, body: list[Any]) -> Any:
        reply = await self.bus.call(
            Message(
                destination="im.chinwag.Chinwag",
                path=path,
                interface=interface,
                member=member,
                signature=sig,
                body=body,
            )
        )
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise RuntimeError(f"{member}: {reply.error_name}: {reply.body}")
        return reply

    async def close(self) -> None:
        self.bus.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.bus.wait_for_disconnect(), 5)


async def add_match(bus: MessageBus) -> None:
    """Subscribe ``bus`` to ``OnSendMessage``; the daemon has the rule when this returns."""
    reply = await bus.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member="AddMatch",
            signature="s",
            body=[f"type='signal',interface='{CONVERSATIONS}',member='OnSendMessage'"],
        )
    )
    assert reply is not None
    assert reply.message_type is MessageType.METHOD_RETURN, reply.body


# -- setting up the conversations -------------------------------------------------------------


def participant(user: str) -> dict[str, Variant]:
    return {"user": Variant("s", user)}


async def create(client: StockClient, config: dict[str, Variant]) -> str:
    reply = await client.call(ROOT, CONVERSATIONS, "CreateConversation", "a{sv}", [config])
    return str(reply.body[0])


async def prop(client: StockClient, path: str, name: str) -> Any:
    reply = await client.call(
        path, "org.freedesktop.DBus.Properties", "Get", "ss", [CONVERSATION, name]
    )
    return reply.body[0].value


async def join(peer: XmppPeer, room: str, nick: str) -> None:
    client: Any = peer.client
    if "xep_0045" not in client.plugin:
        client.register_plugin("xep_0045")
    await client.plugin["xep_0045"].join_muc_wait(JID(room), nick, maxstanzas=0, timeout=15)


# -- 1. SendMessage round trip -------------------------------------------------------------------


async def send(client: StockClient, path: str, text: str) -> tuple[float, float]:
    """One SendMessage: seconds to its OnSendMessage and to its reply; the signal's
    message must be the reply's."""
    waiter = asyncio.get_running_loop().create_future()
    client.waiting[text] = waiter
    start = time.perf_counter()
    reply = await client.call(path, CONVERSATION, "SendMessage", "ss", [text, ""])
    replied = time.perf_counter()
    arrived, signal_path, message = await asyncio.wait_for(waiter, TIMEOUT)
    sent = reply.body[0]
    assert signal_path == path, (signal_path, path)
    assert message["uuid"].value == sent["message"].value["uuid"].value, text
    return arrived - start, replied - start


async def bench_send(client: StockClient, api: Api, path: str, n: int, label: str) -> None:
    for i in range(WARM_UP):
        await send(client, path, f"{label} warm {i}")
    signals: list[float] = []
    replies: list[float] = []
    cpu = cpu_seconds(api.pid)
    for i in range(n):
        to_signal, to_reply = await send(client, path, f"{label} {i}")
        signals.append(to_signal)
        replies.append(to_reply)
    cpu_ms = (cpu_seconds(api.pid) - cpu) / n * 1000
    p50 = ms(signals, 0.5)
    print(
        f"SendMessage -> OnSendMessage, {label}: p50 {p50:.2f} ms, p99 {ms(signals, 0.99):.2f} ms "
        f"({n:,} messages; goal p50 < {SEND_GOAL_MS:g} ms: {verdict(p50, SEND_GOAL_MS)})"
    )
    print(
        f"  the reply alone: p50 {ms(replies, 0.5):.2f} ms, p99 {ms(replies, 0.99):.2f} ms; "
        f"the app's CPU {cpu_ms:.2f} ms per message"
    )


async def bench_reflection(peer: XmppPeer, room: str, n: int) -> None:
    """For comparison: the room's part of the round trip, a slixmpp occupant's own message
    reflected back to it by Prosody's MUC."""
    target = JID(room)
    samples: list[float] = []
    for i in range(WARM_UP + n):
        while not peer.messages.empty():  # what the room said before
            peer.messages.get_nowait()
        text = f"reflect {i}"
        start = time.perf_counter()
        peer.client.send_message(mto=target, mbody=text, mtype="groupchat")
        while str((await peer.next_message(timeout=TIMEOUT))["body"]) != text:
            pass
        if i >= WARM_UP:
            samples.append(time.perf_counter() - start)
    print(
        f"  for comparison, a slixmpp occupant's own message reflected by the room: "
        f"p50 {ms(samples, 0.5):.2f} ms, p99 {ms(samples, 0.99):.2f} ms ({n:,} messages)"
    )


# -- 2. RetransmitEvents ---------------------------------------------------------------------------


def raw_retransmits(address: str, path: str, first: int, last: int, calls: int) -> list[float]:
    """RetransmitEvents on a bare connection (:class:`bench_automation.RawBus`): the
    seconds from writing the call to having read the whole reply, which is not decoded
    (the app's work and the bus, without the client's decoding). Blocking."""
    bus = RawBus(address)
    try:
        samples = []
        for i in range(WARM_UP + calls):
            call = bus.message(
                "im.chinwag.Chinwag", path, CONVERSATION, "RetransmitEvents", "xx", [first, last]
            )
            begin = time.perf_counter()
            bus.sock.sendall(call)
            reply = bus.read_reply()
            if i >= WARM_UP:
                samples.append(time.perf_counter() - begin)
            bus.check(reply)
        return samples
    finally:
        bus.close()


async def bench_retransmit(client: StockClient, path: str, repeats: int, address: str) -> None:
    last = int(await prop(client, path, "LastSequence"))
    for i in range(RETRANSMIT_COUNT - last):  # untimed: enough events to ask for
        await send(client, path, f"filler {i}")
        last += 1
    last = int(await prop(client, path, "LastSequence"))
    first = last - RETRANSMIT_COUNT + 1
    samples: list[float] = []
    reply = None
    for i in range(WARM_UP + repeats):
        start = time.perf_counter()
        reply = await client.call(path, CONVERSATION, "RetransmitEvents", "xx", [first, last])
        if i >= WARM_UP:
            samples.append(time.perf_counter() - start)
    assert reply is not None
    events = reply.body[0]
    sequences = [e["sequence"].value for e in events]
    checked = sequences == list(range(first, last + 1))
    _encoding, decoding = codec_seconds(reply)
    p50 = ms(samples, 0.5)
    print(
        f"RetransmitEvents({first}, {last}), {len(events)} events: p50 {p50:.2f} ms, "
        f"p99 {ms(samples, 0.99):.2f} ms ({repeats} calls; goal < {RETRANSMIT_GOAL_MS:g} ms: "
        f"{verdict(p50, RETRANSMIT_GOAL_MS)} at p50, "
        f"{verdict(ms(samples, 0.99), RETRANSMIT_GOAL_MS)} at p99)"
    )
    print(
        f"  of which dbus-next decoding the reply here: {decoding * 1000:.2f} ms; "
        f"reply {'checked' if checked else 'WRONG'}: "
        f"{'consecutive sequences' if checked else sequences[:5]}"
    )
    raw = await asyncio.to_thread(raw_retransmits, address, path, first, last, repeats)
    print(
        f"  the reply read but not decoded (the app's work and the bus): "
        f"p50 {ms(raw, 0.5):.2f} ms, p99 {ms(raw, 0.99):.2f} ms "
        f"({repeats} calls on a bare connection)"
    )


# -- 3. the burst -------------------------------------------------------------------------------


async def listen(address: str, path: str, count: int) -> None:
    """``--listen``: a stock dbus-next client following OnSendMessage of ``path``; prints
    ``ready`` once subscribed, then a JSON line when ``count`` arrived (or nothing new
    came for :data:`IDLE` seconds): how many, whether in order, the first and last
    arrival (``time.perf_counter``, the same clock as the parent's on Linux)."""
    bus = await MessageBus(bus_address=address).connect()
    texts: list[str] = []
    sequences: list[int] = []
    times: list[float] = []
    progress = asyncio.Event()

    def on_message(msg: Message) -> bool:
        if (
            msg.message_type is MessageType.SIGNAL
            and msg.member == "OnSendMessage"
            and msg.body[0] == path
        ):
            event = msg.body[1]
            text = event["message"].value["text"].value
            if text.startswith("flood "):
                times.append(time.perf_counter())
                texts.append(text)
                sequences.append(event["sequence"].value)
                progress.set()
        return False

    bus.add_message_handler(on_message)
    await add_match(bus)
    print("ready", flush=True)
    cpu = time.process_time()
    while len(texts) < count:
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), IDLE)
        except TimeoutError:
            break
    expected = [f"flood {i}" for i in range(count)]
    in_order = texts == expected
    consecutive = (
        sequences == list(range(sequences[0], sequences[0] + len(sequences)))
        if (sequences)
        else False
    )
    wrong = next((i for i, (a, b) in enumerate(zip(texts, expected, strict=False)) if a != b), None)
    result = {
        "count": len(texts),
        "in_order": in_order,
        "consecutive": consecutive,
        "first_wrong": None if wrong is None else [wrong, texts[wrong]],
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
        "sequences": [sequences[0], sequences[-1]] if sequences else None,
        "connected": bus.connected,
        "cpu": time.process_time() - cpu,
    }
    print(json.dumps(result), flush=True)
    bus.disconnect()


async def bench_burst(
    api: Api,
    server: ProsodyServer,
    bus_address: str,
    peer: XmppPeer,
    room: str,
    path: str,
    n: int,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--listen",
        bus_address,
        path,
        str(n),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
        assert line.strip() == b"ready", line
        prosody = server.pid
        assert prosody is not None
        cpu = cpu_seconds(api.pid), cpu_seconds(prosody), time.process_time()
        target = JID(room)
        start = time.perf_counter()
        for i in range(n):
            peer.client.send_message(mto=target, mbody=f"flood {i}", mtype="groupchat")
            if i % 100 == 0:
                await asyncio.sleep(0)  # let the socket drain
        sent = time.perf_counter()
        out, _ = await proc.communicate()
        app_cpu = cpu_seconds(api.pid) - cpu[0]
        prosody_cpu = cpu_seconds(prosody) - cpu[1]
        own_cpu = time.process_time() - cpu[2]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    result = json.loads(out.decode().strip().splitlines()[-1])
    whole = result["count"] == n and result["in_order"] and result["consecutive"]
    print(
        f"burst of {n:,} room messages from a slixmpp occupant -> OnSendMessage at a stock "
        f"dbus-next client: {result['count']:,} of {n:,} arrived, "
        f"{'in order' if result['in_order'] else 'NOT IN ORDER'}, sequences "
        f"{result['sequences']} {'consecutive' if result['consecutive'] else 'NOT CONSECUTIVE'} "
        f"(goal: all, in order: {'PASS' if whole else 'FAIL'})"
    )
    if result["first_wrong"] is not None:
        print(
            f"  first out of order: index {result['first_wrong'][0]}: {result['first_wrong'][1]!r}"
        )
    if result["last"] is not None:
        took = result["last"] - start
        rate = result["count"] / took
        print(
            f"  first message sent -> last signal arrived: {took:.2f} s, {rate:,.0f} events/s "
            f"(the occupant sent all in {sent - start:.2f} s; first signal after "
            f"{(result['first'] - start) * 1000:.0f} ms; the app's CPU "
            f"{app_cpu * 1000 / max(1, result['count']):.2f} ms per event)"
        )
        print(
            f"  CPU during the burst: the app {app_cpu:.1f} s, Prosody {prosody_cpu:.1f} s, "
            f"the listener {result['cpu']:.1f} s, this script (the occupant) {own_cpu:.1f} s"
        )


# -- main ------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    tree = Tree("current", None)
    with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
        async with tree_app(server, tree, Path(tmp)) as api:
            await run_all(api, tree.bus_address, server, args)


async def run_all(api: Api, address: str, server: ProsodyServer, args: argparse.Namespace) -> None:
    client = await StockClient.connect(address)
    async with XmppPeer(server, *server.make_user("bob")) as bob:
        room_path = await create(
            client,
            {
                "title": Variant("s", "bench"),
                "participants": Variant("aa{sv}", [participant(bob.jid)]),
            },
        )
        room = str(await prop(client, room_path, "Address"))
        await join(bob, room, "bob")
        direct_path = await create(
            client,
            {
                "direct": Variant("b", True),
                "participants": Variant("aa{sv}", [participant(bob.jid)]),
            },
        )
        print(
            f"app pid {api.pid}, room {room}; {args.messages:,} messages, "
            f"{args.retransmits} retransmits, burst {args.burst:,}"
        )
        await bench_send(client, api, room_path, args.messages, "room")
        await bench_reflection(bob, room, args.messages)
        await bench_send(client, api, direct_path, args.messages, "direct")
        await bench_retransmit(client, room_path, args.retransmits, address)
        await client.close()  # the burst's listener is a process of its own
        await bench_burst(api, server, address, bob, room, room_path, args.burst)


def run() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--listen":
        asyncio.run(listen(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--messages", type=int, help="timed SendMessage calls (300)")
    parser.add_argument("--retransmits", type=int, help="timed RetransmitEvents calls (200)")
    parser.add_argument("--burst", type=int, help="messages in the burst (20,000)")
    args = parser.parse_args()
    for name, full, quick in (
        ("messages", 300, 30),
        ("retransmits", 200, 20),
        ("burst", 20_000, 1_000),
    ):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    asyncio.run(main(args))


if __name__ == "__main__":
    run()
