"""The script gateways (gateways.md) against the automation API over D-Bus, with Chinwag
as a process (offscreen, a private dbus-daemon, a local Prosody; ``--xmlrpc-port 0
--rest-port 0``, the ports read from ``$XDG_STATE_HOME/chinwag/gateways.json``, keys
made with ``chinwag-remote gateway-key create``) and a bare slixmpp peer receiving every
message sent (each one is checked to have arrived exactly once):

1. Round trip, one request at a time after a warm-up, p50 and p99 (goal: p50 under
   5 ms): XML-RPC ``LJ.XMLRPC.sendmessage`` (``clear`` auth with the key) posted by
   aiohttp on one keep-alive connection (the body made and the answer read with
   ``xmlrpc.client.dumps``/``loads``), and by Python's own ``xmlrpc.client.ServerProxy``
   (one persistent connection, in a thread of its own); UCWA ``sendMessage`` (text/plain,
   a new ``operationId`` each) by aiohttp, from the request to the 201 read; and
   ``Messages1.SendMessage`` over D-Bus for comparison.
2. Sustained messages/s through each gateway and through ``Messages1.SendMessage``
   (one-off sends), all three with the same concurrency: ``--in-flight`` K workers each
   sending its next message once its last is answered (K calls on one D-Bus connection;
   K keep-alive HTTP connections, aiohttp), from the first request to the last message
   arriving at the peer. The transports take turns round by round; rates are the median
   of the rounds, with each gateway's ratio to D-Bus (goal: at least 0.8) and the app's
   CPU time per message (what other load on the machine changes least).
3. ``--polls`` idle UCWA long polls (``GET events?ack=N&timeout=180``, nothing happening),
   spread over ``--apps`` applications (an account has at most 50), held by a client in a
   process of its own (this script with ``--hold-polls``; it raises its soft open-files
   limit) while this process times D-Bus calls: the app's RSS before and while they are
   held (goal: under 20 MB more), and ``Messenger1`` ``MyStatus`` Get and
   ``Messages1.SendMessage`` p50/p99 without and with the polls, each with the app's CPU
   time per call (which the polls should not raise). The polls are held at
   least ``--hold`` seconds (past the gateways' 20 s keep-alive bound), then the peer sends
   the app one message and every poll must answer 200 with it. A small untimed round of
   polls comes first, so nothing the first poll loads is counted as held by the polls.

    .venv/bin/python bench/bench_gateways.py [--quick] [--latency 1000] [--messages 2000]
        [--rounds 3] [--in-flight 8] [--polls 1000] [--apps 40] [--dbus-calls 500]
        [--hold 30]

``--quick``: 100 round trips, 300 messages, 1 round, 100 polls over 10 applications,
100 D-Bus calls, 5 s held. Figures only, each with its goal; nothing passes or fails on
time (a message lost or a poll answered wrongly is printed as WRONG)."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp
from _server import bench_server
from bench_automation import (
    MESSENGER,
    ROOT,
    Api,
    Bare,
    close,
    percentile,
    profile,
    running_app,
    send_message,
)
from bench_send_window import cpu_seconds

from chinwag.gateways.server import raise_open_files_limit
from rig.dbus import PrivateSessionBus
from rig.prosody import ProsodyServer

REMOTE = (sys.executable, "-m", "chinwag.cli.remote")
XMLRPC_PATH = "/interface/xmlrpc"
UCWA = "/ucwa/v1"
LATENCY_GOAL_MS = 5.0
RATIO_GOAL = 0.8
MEMORY_GOAL_MB = 20.0
WARM_UP = 50
TIMEOUT = 60.0


def ms(samples: list[float], q: float) -> float:
    return percentile(samples, q) * 1000


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def established(port: int) -> int:
    """TCP connections established to the local ``port`` (the server's ends)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


# -- the peer ----------------------------------------------------------------------------


class Peer:
    """A bare slixmpp contact counting every body it gets; :meth:`expect` gives when the
    ``n`` messages ``tag:0`` .. ``tag:n-1`` have all arrived."""

    def __init__(self, client: Bare) -> None:
        self.client = client
        self.jid = client.boundjid.bare
        self.bodies: collections.Counter[str] = collections.Counter()
        self._prefix = ""
        self._left = 0
        self._done: asyncio.Future[float] | None = None
        client.add_event_handler("message", self._on_message)

    def _on_message(self, msg: Any) -> None:
        body = msg["body"]
        if not body:
            return
        self.bodies[body] += 1
        done = self._done
        if done is not None and body.startswith(self._prefix) and self.bodies[body] == 1:
            self._left -= 1
            if self._left == 0 and not done.done():
                done.set_result(time.perf_counter())

    def expect(self, tag: str, n: int) -> asyncio.Future[float]:
        self._prefix, self._left = f"{tag}:", n
        self._done = asyncio.get_running_loop().create_future()
        return self._done

    async def arrived(self, tag: str, n: int, done: asyncio.Future[float]) -> float:
        """When the last of them arrived; raises (saying what is missing) after a while."""
        try:
            return await asyncio.wait_for(asyncio.shield(done), 300)
        except TimeoutError:
            missing = sum(1 for i in range(n) if not self.bodies[f"{tag}:{i}"])
            raise RuntimeError(f"WRONG: {missing} of {n} messages {tag} never arrived") from None

    def duplicates(self, tag: str, n: int) -> int:
        return sum(self.bodies[f"{tag}:{i}"] - 1 for i in range(n) if self.bodies[f"{tag}:{i}"])


# -- the senders -------------------------------------------------------------------------

Send = Callable[[str], Awaitable[None]]


def dbus_sender(api: Api, peer: str) -> Send:
    async def send(text: str) -> None:
        await send_message(api, peer, text)

    return send


def xmlrpc_body(jid: str, key: str, peer: str, text: str) -> bytes:
    args = {"username": jid, "password": key, "to": [peer], "body": text}
    return xmlrpc.client.dumps((args,), "LJ.XMLRPC.sendmessage", encoding="utf-8").encode()


def check_sent(data: bytes) -> None:
    (answer,), _ = xmlrpc.client.loads(data)  # a fault raises
    if answer.get("sent_count") != 1:
        raise RuntimeError(f"WRONG: sendmessage answered {answer}")


def xmlrpc_sender(session: aiohttp.ClientSession, url: str, jid: str, key: str, peer: str) -> Send:
    headers = {"Content-Type": "text/xml"}

    async def send(text: str) -> None:
        body = xmlrpc_body(jid, key, peer, text)
        async with session.post(url, data=body, headers=headers) as response:
            data = await response.read()
        check_sent(data)

    return send


class Ucwa:
    """One UCWA application of the key's account, driven with aiohttp (links followed)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.application: dict[str, Any] = {}

    async def request(
        self, method: str, href: str, status: int, **kwargs: Any
    ) -> tuple[dict[str, str], Any]:
        async with self.session.request(method, self.base + href, **kwargs) as response:
            data = await response.read()
            if response.status != status:
                raise RuntimeError(f"{method} {href}: {response.status} {data[:300]!r}")
            return dict(response.headers), json.loads(data) if data.strip() else None

    async def create(self, endpoint: str) -> None:
        fields = {"userAgent": "bench_gateways", "endpointId": endpoint, "culture": "en-US"}
        _, self.application = await self.request("POST", f"{UCWA}/applications", 201, json=fields)

    async def make_me_available(self) -> None:
        href = self.application["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]
        await self.request("POST", href, 204)

    async def drained_events(self) -> str:
        """The events link past every event there is now (so a poll of it waits)."""
        href = self.application["_links"]["events"]["href"]
        while True:
            _, batch = await self.request("GET", href + "&timeout=0", 200)
            href = batch["_links"]["next"]["href"]
            if not any(sender["events"] for sender in batch["sender"]):
                return str(href)

    async def start_messaging(self, peer: str, text: str) -> str:
        """A conversation with ``peer`` (``text`` its first message): its sendMessage link."""
        links = self.application["_embedded"]["communication"]["_links"]
        body = {
            "operationId": f"start-{peer}",
            "to": f"xmpp:{peer}",
            "subject": "bench",
            "importance": "Normal",
            "_links": {"message": {"href": "data:text/plain;charset=utf-8," + text}},
        }
        _, invitation = await self.request("POST", links["startMessaging"]["href"], 201, json=body)
        _, messaging = await self.request("GET", invitation["_links"]["messaging"]["href"], 200)
        if "sendMessage" not in messaging["_links"]:
            raise RuntimeError(f"WRONG: no sendMessage link: {messaging}")
        return str(messaging["_links"]["sendMessage"]["href"])

    def sender(self, send_href: str) -> Send:
        operations = itertools.count()
        headers = {"Content-Type": "text/plain; charset=utf-8"}

        async def send(text: str) -> None:
            url = f"{self.base}{send_href}?operationId=op-{next(operations)}"
            async with self.session.post(url, data=text.encode(), headers=headers) as response:
                data = await response.read()
                if response.status != 201:
                    raise RuntimeError(f"WRONG: sendMessage {response.status}: {data[:300]!r}")
            json.loads(data)

        return send


# -- 1. and 2. ---------------------------------------------------------------------------


async def round_trips(send: Send, peer: Peer, tag: str, n: int) -> list[float]:
    """``n`` sends one after the other (after a warm-up); the seconds of each."""
    for i in range(WARM_UP):
        await send(f"warm-{tag}:{i}")
    done = peer.expect(tag, n)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await send(f"{tag}:{i}")
        samples.append(time.perf_counter() - start)
    await peer.arrived(tag, n, done)
    return samples


def stock_xmlrpc(url: str, jid: str, key: str, peer: str, tag: str, n: int) -> list[float]:
    """The same with Python's xmlrpc.client (one ServerProxy: one persistent connection).
    Blocking: run in a thread."""
    samples = []
    with xmlrpc.client.ServerProxy(url) as proxy:
        for i in range(WARM_UP + n):
            text = f"warm-{tag}:{i}" if i < WARM_UP else f"{tag}:{i - WARM_UP}"
            args = {"username": jid, "password": key, "to": [peer], "body": text}
            start = time.perf_counter()
            answer = proxy.LJ.XMLRPC.sendmessage(args)
            if i >= WARM_UP:
                samples.append(time.perf_counter() - start)
            if answer.get("sent_count") != 1:
                raise RuntimeError(f"WRONG: sendmessage answered {answer}")
    return samples


async def stock_round_trips(
    url: str, jid: str, key: str, peer: Peer, tag: str, n: int
) -> list[float]:
    done = peer.expect(tag, n)
    samples = await asyncio.to_thread(stock_xmlrpc, url, jid, key, peer.jid, tag, n)
    await peer.arrived(tag, n, done)
    return samples


async def sustained(
    send: Send, peer: Peer, tag: str, n: int, in_flight: int, pid: int
) -> tuple[float, float, float]:
    """``n`` messages with ``in_flight`` workers: messages/s to the last arrival, seconds
    to the last answer, the app's CPU seconds per message."""
    done = peer.expect(tag, n)
    numbers = iter(range(n))

    async def worker() -> None:
        for i in numbers:
            await send(f"{tag}:{i}")

    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    answered = time.perf_counter() - start
    end = await peer.arrived(tag, n, done)
    used = cpu_seconds(pid) - cpu
    return n / (end - start), answered, used / n


# -- 3. long polls -----------------------------------------------------------------------


async def dbus_latency(
    api: Api, peer: Peer, tag: str, n: int
) -> dict[str, tuple[list[float], float]]:
    """Seconds of ``n`` MyStatus Gets and of ``n`` SendMessage calls, one at a time, each
    with the app's CPU seconds per call."""
    cpu = cpu_seconds(api.pid)
    gets = []
    for _ in range(n):
        start = time.perf_counter()
        await api.get(ROOT, MESSENGER, "MyStatus")
        gets.append(time.perf_counter() - start)
    middle = cpu_seconds(api.pid)
    sends = await round_trips(dbus_sender(api, peer.jid), peer, tag, n)
    end = cpu_seconds(api.pid)
    return {"MyStatus Get": (gets, (middle - cpu) / n), "SendMessage": (sends, (end - middle) / n)}


async def quiet(pid: int, port: int, n: int, limit: float = 60.0) -> None:
    """Until ``n`` connections to ``port`` are established and then the app uses under
    2 % of a CPU for half a second (every poll read and parked)."""
    deadline = time.monotonic() + limit
    while established(port) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{established(port)} connections to the app, not {n}")
        await asyncio.sleep(0.05)
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < 0.01:
            return
        before = now


class Holder:
    """The long polls' client: this script with ``--hold-polls`` (see :func:`hold_polls`),
    spoken to in JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, config: dict[str, Any]) -> Holder:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--hold-polls",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        holder = cls(proc)
        holder.write(config)
        return holder

    def write(self, value: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(value).encode() + b"\n")

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 300)
        if not line:
            raise RuntimeError(f"the poll holder ended ({await self.proc.wait()})")
        value: dict[str, Any] = json.loads(line)
        return value

    async def finish(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 30)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def held_polls(
    api: Api,
    peer: Peer,
    app_jid: str,
    config: dict[str, Any],
    hold: float,
    during: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Open the polls in a holder, wait until the app is quiet, run ``during``, hold
    until ``hold`` seconds have passed, then the peer sends the app a message and every
    poll is to answer with it. What the holder saw, with ``rss``: the app's RSS (MB)
    once they were all parked and at the end of the hold."""
    files = open_files(api.pid)
    holder = await Holder.start(config)
    try:
        sent = await holder.read()
        if "error" in sent:
            raise RuntimeError(f"the poll holder: {sent['error']}")
        parked = time.perf_counter()
        await quiet(api.pid, config["port"], config["polls"])
        rss = [rss_mb(api.pid)]
        print(f"  ({config['polls']:,} polls parked)", flush=True)
        files = (files, open_files(api.pid))
        if during is not None:
            await during()
        left = hold - (time.perf_counter() - parked)
        if left > 0:
            await asyncio.sleep(left)  # the polls are to stay held this long
        rss.append(rss_mb(api.pid))
        held_for = time.perf_counter() - parked
        holder.write("release")
        await holder.read()  # it has taken note: what comes from now on is the answer
        peer.client.send_message(mto=app_jid, mbody="wake up", mtype="chat")
        result = await holder.read()
        return {**result, "rss": rss, "sent": sent, "held_for": held_for, "files": files}
    finally:
        await holder.finish()


async def poll_applications(base: str, key: str, count: int, new: bool = True) -> list[str]:
    """``count`` applications, each made available (``new``: they are not yet) and
    drained: their events links. Not ``new``: the same applications again."""
    headers = {"Authorization": f"Bearer {key}"}
    hrefs = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for a in range(count):
            ucwa = Ucwa(session, base)
            await ucwa.create(f"poll-{a}")  # (the same endpointId: the same application)
            if new:
                await ucwa.make_me_available()
            hrefs.append(await ucwa.drained_events())
    return hrefs


async def hold_polls() -> None:
    """The holder's side: reads ``{"base", "key", "hrefs", "polls"}``, opens that many
    polls (timeout=180, round robin over the links), says ``{"sent", "seconds"}`` once
    every request head has gone out, then waits for ``"release"``, answers ``{}``, and
    once every poll has answered (or failed) says what they answered."""
    raise_open_files_limit()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = json.loads(await reader.readline())
    n, hrefs = int(config["polls"]), list(config["hrefs"])
    sent = 0
    all_sent: asyncio.Future[float] = loop.create_future()

    async def on_sent(*_: Any) -> None:
        nonlocal sent
        sent += 1
        if sent == n and not all_sent.done():
            all_sent.set_result(time.perf_counter())

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_sent)
    released: float | None = None
    answers: list[tuple[float, int, bool, bool]] = []  # when, status, with the message, early
    errors: collections.Counter[str] = collections.Counter()

    def say(value: Any) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        headers={"Authorization": f"Bearer {config['key']}"},
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=None),
        trace_configs=[trace],
    ) as session:

        async def poll(href: str) -> None:
            try:
                async with session.get(config["base"] + href + "&timeout=180") as response:
                    data = await response.read()
                status = response.status
            except Exception as exc:  # (counted, not raised: the rest go on)
                errors[f"{type(exc).__name__}: {exc}"] += 1
                return
            events = (
                [e for s in json.loads(data)["sender"] for e in s["events"]]
                if status == 200
                else []
            )
            message = any(e["link"]["rel"] == "message" and e["type"] == "added" for e in events)
            answers.append((time.perf_counter(), status, message, released is None))

        start = time.perf_counter()
        tasks = [asyncio.create_task(poll(hrefs[i % len(hrefs)])) for i in range(n)]
        try:
            when = await asyncio.wait_for(all_sent, 120)
        except TimeoutError:
            say({"error": f"only {sent} of {n} requests went out in 120 s; {dict(errors)}"})
            for task in tasks:
                task.cancel()
            return
        say({"sent": n, "seconds": when - start, "early": len(answers)})
        await reader.readline()  # "release"
        released = time.perf_counter()
        say({})
        await asyncio.gather(*tasks)
        statuses = collections.Counter(status for _, status, _, _ in answers)
        say(
            {
                "answered": len(answers),
                "with_message": sum(1 for a in answers if a[2] and not a[3]),
                "early": sum(1 for a in answers if a[3]),
                "statuses": {str(k): v for k, v in statuses.items()},
                "errors": dict(errors),
                "seconds": (max(a[0] for a in answers) - released) if answers else None,
            }
        )


# -- main --------------------------------------------------------------------------------


def make_key(env: dict[str, str], jid: str, kind: str) -> str:
    made = subprocess.run(
        [*REMOTE, "gateway-key", "create", jid, "--kind", kind],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return made.stdout.strip()


async def gateway_ports(home: Path) -> dict[str, int]:
    path = home / "state" / "chinwag" / "gateways.json"
    deadline = time.monotonic() + TIMEOUT
    while True:
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(path.read_text())
            if "xmlrpc" in state and "rest" in state:
                return {name: int(state[name]["port"]) for name in ("xmlrpc", "rest")}
        if time.monotonic() > deadline:
            raise RuntimeError(f"no gateways in {path}")
        await asyncio.sleep(0.1)


def latency_line(name: str, samples: list[float], goal: bool = True) -> str:
    note = f"goal p50 < {LATENCY_GOAL_MS:g} ms" if goal else "for comparison"
    return (
        f"  {name:<44} p50 {ms(samples, 0.5):6.2f} ms, p99 {ms(samples, 0.99):6.2f} ms "
        f"({len(samples):,} calls; {note})"
    )


async def connected_peer(server: ProsodyServer) -> Peer:
    client = Bare(*server.make_user("peer"))
    peer = Peer(client)
    client.connect(server.host, server.port)
    await client.ready
    peer.jid = client.boundjid.bare
    return peer


async def main(args: argparse.Namespace) -> None:
    print(f"start: {load()}", flush=True)
    with bench_server() as server, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "app"
        home.mkdir()
        jid, password = server.make_user("app")
        bus = PrivateSessionBus()
        address = bus.start()
        try:
            env = profile(home, jid, password, server, address)
            gateways = ("--xmlrpc-port", "0", "--rest-port", "0")
            async with running_app(server, jid, password, address, home, args=gateways) as api:
                ports = await gateway_ports(home)
                print(f"the app: pid {api.pid}, gateways on ports {ports}", flush=True)
                xmlrpc_key = make_key(env, jid, "xmlrpc")
                rest_key = make_key(env, jid, "rest")
                peer = await connected_peer(server)
                try:
                    await run_all(api, peer, jid, ports, xmlrpc_key, rest_key, args)
                finally:
                    await close(peer.client)
        finally:
            bus.stop()
    print(f"end: {load()}", flush=True)


async def run_all(
    api: Api,
    peer: Peer,
    jid: str,
    ports: dict[str, int],
    xmlrpc_key: str,
    rest_key: str,
    args: argparse.Namespace,
) -> None:
    xmlrpc_url = f"http://127.0.0.1:{ports['xmlrpc']}{XMLRPC_PATH}"
    rest_base = f"http://127.0.0.1:{ports['rest']}"
    wrong: list[str] = []
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=args.in_flight),
        headers={"Authorization": f"Bearer {rest_key}"},
    )
    async with session:
        ucwa = Ucwa(session, rest_base)
        await ucwa.create("bench-sender")
        send_href = await ucwa.start_messaging(peer.jid, "start")
        senders: dict[str, Send] = {
            "D-Bus Messages1.SendMessage": dbus_sender(api, peer.jid),
            "XML-RPC sendmessage (aiohttp)": xmlrpc_sender(
                session, xmlrpc_url, jid, xmlrpc_key, peer.jid
            ),
            "UCWA sendMessage (aiohttp)": ucwa.sender(send_href),
        }
        names = list(senders)

        # 1. round trips
        print(f"\n1. round trip, one at a time ({args.latency:,} each, after {WARM_UP} untimed)")
        latency: dict[str, list[float]] = {}
        for t, name in enumerate(names):
            latency[name] = await round_trips(senders[name], peer, f"lat{t}", args.latency)
        latency["XML-RPC sendmessage (xmlrpc.client)"] = await stock_round_trips(
            xmlrpc_url, jid, xmlrpc_key, peer, "latstock", args.latency
        )
        for name, samples in latency.items():
            print(latency_line(name, samples, goal=not name.startswith("D-Bus")), flush=True)

        # 2. sustained
        print(
            f"\n2. sustained: {args.messages:,} messages per round, {args.in_flight} in "
            f"flight for each, {args.rounds} round(s), transports in turns"
        )
        rates: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                tag = f"tput{names.index(name)}r{r}"
                rate, answered, per = await sustained(
                    senders[name], peer, tag, args.messages, args.in_flight, api.pid
                )
                rates[name].append(rate)
                cpu[name].append(per)
                print(
                    f"  round {r + 1}, {name}: {rate:,.0f} msg/s to the last arrival "
                    f"(all answered after {answered:.2f} s; app CPU {per * 1000:.2f} ms/msg)",
                    flush=True,
                )
        dbus = statistics.median(rates[names[0]])
        for name in names:
            rate = statistics.median(rates[name])
            ratio = "" if name == names[0] else f", {rate / dbus:.2f} of D-Bus (goal >= 0.8)"
            print(
                f"  {name:<30} {rate:8,.0f} msg/s (median){ratio}; app CPU "
                f"{statistics.median(cpu[name]) * 1000:.2f} ms/msg"
            )
        for t, _ in enumerate(names):
            for r in range(args.rounds):
                extra = peer.duplicates(f"tput{t}r{r}", args.messages)
                if extra:
                    wrong.append(f"{extra} messages of tput{t}r{r} arrived twice")
        total = args.rounds * args.messages * len(names)
        print(f"  every one of the {total:,} messages arrived at the peer (counted by text)")

    # 3. long polls
    await bench_polls(api, peer, jid, rest_base, rest_key, args, wrong)
    for problem in wrong:
        print(f"WRONG: {problem}")


async def bench_polls(
    api: Api,
    peer: Peer,
    jid: str,
    base: str,
    key: str,
    args: argparse.Namespace,
    wrong: list[str],
) -> None:
    print(
        f"\n3. {args.polls:,} idle UCWA long polls (timeout=180) over {args.apps} "
        f"applications, held by a client process of their own for {args.hold:g} s or more"
    )
    port = int(base.rsplit(":", 1)[1])
    hrefs = await poll_applications(base, key, args.apps)
    warm = min(50, args.polls)
    result = await held_polls(
        api, peer, jid, {"base": base, "port": port, "key": key, "hrefs": hrefs, "polls": warm}, 0
    )
    check_polls(result, warm, wrong)
    hrefs = await poll_applications(base, key, args.apps, new=False)  # drained again
    without = await dbus_latency(api, peer, "busy0", args.dbus_calls)
    before = rss_mb(api.pid)
    with_polls: list[dict[str, tuple[list[float], float]]] = []

    async def during() -> None:
        with_polls.append(await dbus_latency(api, peer, "busy1", args.dbus_calls))

    config = {"base": base, "port": port, "key": key, "hrefs": hrefs, "polls": args.polls}
    result = await held_polls(api, peer, jid, config, args.hold, during)
    after = rss_mb(api.pid)
    check_polls(result, args.polls, wrong)
    parked, end = result["rss"]
    print(
        f"  all {args.polls:,} requests out in {result['sent']['seconds']:.2f} s; the app's "
        f"open files {result['files'][0]} -> {result['files'][1]} "
        f"(held {result['held_for']:.1f} s)"
    )
    print(
        f"  app RSS: {before:.1f} MB before, {parked:.1f} MB with them parked, {end:.1f} MB "
        f"at the end of the hold: {end - before:+.1f} MB held (goal < {MEMORY_GOAL_MB:g} MB), "
        f"{(end - before) * 1024 / args.polls:.1f} kB a poll; {after:.1f} MB once answered"
    )
    print(
        f"  the peer's message answered {result['with_message']:,} polls (200, the message "
        f"added) in {result['seconds']:.2f} s; statuses {result['statuses']}"
    )
    print(f"  D-Bus meanwhile ({args.dbus_calls} calls each, one at a time):")
    for call in without:
        for label, (samples, cpu) in (
            ("no polls", without[call]),
            (f"{args.polls:,} polls held", with_polls[0][call]),
        ):
            print(
                f"    {call + ', ' + label:<36} p50 {ms(samples, 0.5):6.2f} ms, p99 "
                f"{ms(samples, 0.99):6.2f} ms; app CPU {cpu * 1000:.2f} ms a call"
            )


def check_polls(result: dict[str, Any], n: int, wrong: list[str]) -> None:
    if result["early"] or result["sent"]["early"]:
        wrong.append(f"{result['early']} polls answered before anything happened")
    if result["with_message"] != n:
        wrong.append(
            f"{result['with_message']} of {n} polls answered with the message: "
            f"statuses {result['statuses']}, errors {result['errors']}"
        )


QUICK = {
    "latency": 100,
    "messages": 300,
    "rounds": 1,
    "polls": 100,
    "apps": 10,
    "dbus_calls": 100,
    "hold": 5.0,
}
FULL = {
    "latency": 1000,
    "messages": 2000,
    "rounds": 3,
    "polls": 1000,
    "apps": 40,
    "dbus_calls": 500,
    "hold": 30.0,
}


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--latency", type=int, help="round trips per transport")
    parser.add_argument("--messages", type=int, help="sustained: messages per round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--in-flight", type=int, default=8, help="the same for all three")
    parser.add_argument("--polls", type=int, help="idle long polls")
    parser.add_argument("--apps", type=int, help="applications the polls are spread over")
    parser.add_argument("--dbus-calls", type=int, help="D-Bus calls timed without/with polls")
    parser.add_argument("--hold", type=float, help="seconds the polls are held at least")
    parser.add_argument("--hold-polls", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hold_polls:
        asyncio.run(hold_polls())
        return
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not 1 <= args.apps <= 49:
        parser.error("--apps: 1 to 49 (an account has at most 50 applications)")
    raise_open_files_limit()
    asyncio.run(main(args))


if __name__ == "__main__":
    run()
