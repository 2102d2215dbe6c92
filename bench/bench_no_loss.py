"""Exactly once at a receiver that does not dedupe: N one-off ``Messages1.SendMessage``
calls from Chinwag (a process: offscreen, ``--background``, a private dbus-daemon, a local
Prosody) to a bare slixmpp client that counts every message body it gets, with a
disruption mid-stream:

* ``server-restart``: Prosody is shut down (``--server-crash``: SIGKILLed) and started
  again while messages are in flight; the receiver reconnects at once and gets what the
  server stored for it meanwhile.
* ``app-kill``: Chinwag is SIGKILLed while messages are in flight and started again on
  the same profile; it finishes what it had stored. No more calls are made after the kill
  (``--resume``: the rest are sent through the restarted app).

A message whose ``SendMessage`` returned a token is stored: it must arrive exactly once.
One whose call had not returned when the app died may be absent; it is not counted as
lost (it is listed separately). Printed per round: sent, received distinct, lost (never
received), duplicated (received more than once, and the extra copies).

    .venv/bin/python bench/bench_no_loss.py [--scenario all|server-restart|app-kill]
        [--rounds 1] [--messages 300] [--in-flight 8] [--pace 0.002] [--at 0.5]
        [--server-crash] [--resume] [--receipts]

The printed marks say where the disruption landed (calls returned, acked by the server,
still in flight); with the defaults it lands mid-stream on a busy two-core machine: if the
stream is over before the server is down, raise ``--pace``. ``--in-flight 16 --pace 0`` is
a burst: more messages are stored but not yet acked when the disruption comes.

Figures only: nothing here passes or fails."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import bench_server
from dbus_next import Message, MessageType, Variant

from chinwag.automation import names
from chinwag.automation.bus import connect_session_bus
from rig.app import ApiClient, AppProcess, start_app, wait_signed_in, write_profile
from rig.dbus import PrivateSessionBus, stop_all_buses
from rig.peer import LoginFailed, XmppPeer
from rig.prosody import ProsodyServer, stop_all

SCENARIOS = ("server-restart", "app-kill")
STEP_TIMEOUT = 60.0  # any single step: a server or app start, a sentinel's arrival

_live_apps: set[asyncio.subprocess.Process] = set()


def _kill_live_apps() -> None:
    for proc in list(_live_apps):
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()


# -- bob: the bare receiver ----------------------------------------------------------------


class BareReceiver:
    """A plain slixmpp client (the rig's XmppPeer) that counts every message with a body
    by its text, without any dedupe, and sends no receipts unless asked. Whenever its
    stream drops (a server restart) it signs in again at once; its presence makes the
    server deliver what it stored meanwhile."""

    def __init__(self, server: ProsodyServer, jid: str, password: str, receipts: bool) -> None:
        self.peer = XmppPeer(server, jid, password)
        client = self.peer.client
        if receipts:
            client.register_plugin("xep_0184")
            client.plugin["xep_0184"].auto_ack = True
        # To look in bob's own archive for what never reached him live (it is not counted
        # as received: a bare receiver reads no archive; a modern client would).
        client.register_plugin("xep_0059")
        client.register_plugin("xep_0313")
        self.counts: Counter[str] = Counter()
        #: body -> the stanza id of its first copy; extra copies with the same id
        self.first_id: dict[str, str] = {}
        self.same_id_copies = 0
        self.reconnects = 0
        self.last_arrival = time.monotonic()
        self._arrived = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        client.add_event_handler("message", self._on_message)
        client.add_event_handler("disconnected", lambda _event: self._lost.set())

    @property
    def jid(self) -> str:
        return self.peer.jid

    def _on_message(self, msg: Any) -> None:
        if msg["type"] in ("chat", "normal") and msg["body"]:
            body, stanza_id = str(msg["body"]), str(msg["id"])
            self.counts[body] += 1
            if self.counts[body] == 1:
                self.first_id[body] = stanza_id
            elif stanza_id and self.first_id[body] == stanza_id:
                self.same_id_copies += 1
            self.last_arrival = time.monotonic()
            self._arrived.set()

    async def start(self) -> None:
        await self.peer.login(STEP_TIMEOUT)
        self._task = asyncio.create_task(self._stay_connected(), name="bob reconnects")

    async def _stay_connected(self) -> None:
        while True:
            await self._lost.wait()
            self._lost.clear()
            if self.peer.client.transport is not None:
                continue  # a failed attempt's event, after a later one succeeded
            while True:
                try:
                    await self.peer.login(STEP_TIMEOUT)
                except LoginFailed:
                    await asyncio.sleep(0.2)  # the server is not back yet
                else:
                    self.reconnects += 1
                    break

    async def wait_for_body(self, body: str, limit: float) -> bool:
        deadline = time.monotonic() + limit
        while not self.counts[body]:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)
        return True

    async def wait_quiet(self, quiet: float, limit: float) -> bool:
        """Until nothing has arrived for ``quiet`` seconds (False: still busy at the end)."""
        deadline = time.monotonic() + limit
        while (idle := time.monotonic() - self.last_arrival) < quiet:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(min(quiet - idle, max(0.0, deadline - time.monotonic())))
        return True

    async def archived_bodies(self) -> set[str]:
        """Every body in bob's own archive (XEP-0313), page by page."""
        bodies: set[str] = set()
        rsm: dict[str, Any] = {"max": 250}
        while True:
            iq = await self.peer.client.plugin["xep_0313"].retrieve(rsm=rsm, timeout=STEP_TIMEOUT)
            results = iq["mam"]["results"]
            for result in results:
                body = result["mam_result"]["forwarded"]["stanza"]["body"]
                if body:
                    bodies.add(str(body))
            last = iq["mam_fin"]["rsm"]["last"]
            if iq["mam_fin"]["complete"] in (True, "true") or not results or not last:
                return bodies
            rsm = {"max": 250, "after": last}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
        await self.peer.logout()


# -- the script side: SendMessage calls and MessageSent signals ----------------------------


class Driver:
    """One bus connection that outlives app restarts: calls go to the well-known name,
    MessageSent is recorded from whichever process emits it."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.acked: set[str] = set()
        self._changed = asyncio.Event()

    @classmethod
    async def connect(cls, bus_address: str) -> Driver:
        driver = cls(ApiClient(await connect_session_bus(bus_address)))
        await driver.client.watch()
        driver.client.bus.add_message_handler(driver._on_bus_message)
        return driver

    def _on_bus_message(self, msg: Message) -> bool:
        if (
            msg.message_type is MessageType.SIGNAL
            and msg.interface == names.MESSAGES
            and msg.member == "MessageSent"
        ):
            self.acked.add(str(msg.body[2]))
            self._changed.set()
        return False

    async def send(self, target: str, body: str) -> str:
        parts = [
            {},
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", body)},
        ]
        reply = await self.client.call(
            names.MESSENGER_PATH,
            names.MESSAGES,
            "SendMessage",
            "osaa{sv}u",
            ["/", target, parts, 0],
        )
        return str(reply[0])

    async def wait_acked(self, tokens: set[str], limit: float) -> bool:
        deadline = time.monotonic() + limit
        while not tokens <= self.acked:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Stream:
    """What happened to each body: a token (stored), an error, or no call at all."""

    bodies: list[str]
    tokens: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    attempted: list[str] = field(default_factory=list)

    def unconfirmed(self) -> list[str]:
        return [b for b in self.attempted if b not in self.tokens]


async def send_stream(
    driver: Driver,
    target: str,
    bodies: list[str],
    stream: Stream,
    args: argparse.Namespace,
    stop: asyncio.Event,
    on_returned: Callable[[], None],
) -> None:
    """Like a script would: up to ``in_flight`` calls at once, one started every ``pace``
    seconds; no new call once ``stop`` is set."""
    slots = asyncio.Semaphore(args.in_flight)

    async def one(body: str) -> None:
        try:
            stream.tokens[body] = await driver.send(target, body)
        except Exception as exc:  # the app died under the call, or refused it
            stream.errors[body] = str(exc).splitlines()[0][:120]
        else:
            on_returned()
        finally:
            slots.release()

    calls: list[asyncio.Task[None]] = []
    try:
        for body in bodies:
            await slots.acquire()
            if stop.is_set():
                slots.release()
                break
            stream.attempted.append(body)
            calls.append(asyncio.create_task(one(body)))
            if args.pace > 0:
                await asyncio.sleep(args.pace)
        await asyncio.gather(*calls)
    finally:
        for call in calls:
            call.cancel()


# -- one round -----------------------------------------------------------------------------


@dataclass
class Round:
    scenario: str
    n: int
    marks: list[str] = field(default_factory=list)
    sent: int = 0  # calls that returned a token
    unconfirmed: list[str] = field(default_factory=list)
    not_attempted: int = 0
    refused: int = 0  # error replies while the app was up
    acked_all: bool = True
    acked: int = 0
    received_distinct: int = 0
    lost: int = 0
    #: of the lost: in the receiver's own archive all the same
    lost_but_archived: int = 0
    duplicated: int = 0
    extra_copies: int = 0
    same_id_copies: int = 0
    unconfirmed_arrived: int = 0
    unexpected: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Scene:
    """The parts of a round and their cleanup."""

    def __init__(self, server: ProsodyServer, bus_address: str, home: Path) -> None:
        self.server = server
        self.bus_address = bus_address
        self.home = home
        self.apps: list[AppProcess] = []
        self.alice, self.alice_password = server.make_user("alice")
        self.env = write_profile(home, self.alice, self.alice_password, server)
        self.env["HOME"] = str(home)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus_address

    async def start_app(self, driver: Driver) -> AppProcess:
        app = await start_app(self.home, self.env, self.alice, self.alice_password, self.server)
        self.apps.append(app)
        _live_apps.add(app.proc)
        await wait_signed_in(app, driver.client)
        return app

    async def close(self) -> None:
        for app in self.apps:
            await app.close_clients()
            if app.running():
                with contextlib.suppress(Exception):
                    await app.terminate(STEP_TIMEOUT)
            if app.running():
                app.proc.kill()
                await app.proc.wait()
            _live_apps.discard(app.proc)


def body_names(n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"m{i:0{width}d}" for i in range(1, n + 1)]


async def run_round(
    scenario: str, number: int, server: ProsodyServer, bus_address: str, args: argparse.Namespace
) -> Round:
    result = Round(scenario, args.messages)
    bodies = body_names(args.messages)
    trigger_at = max(1, min(args.messages, round(args.messages * args.at)))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"chinwag-noloss-{number}-") as tmp:
        scene = Scene(server, bus_address, Path(tmp))
        bob = BareReceiver(server, *server.make_user("bob"), receipts=args.receipts)
        driver = await Driver.connect(bus_address)
        sender: asyncio.Task[None] | None = None
        try:
            await bob.start()
            app = await scene.start_app(driver)
            stream = Stream(bodies)
            stop = asyncio.Event()
            trigger = asyncio.Event()

            def on_returned() -> None:
                if len(stream.tokens) >= trigger_at:
                    trigger.set()

            def mark(what: str) -> None:
                returned = len(stream.tokens)
                acked = len(driver.acked & set(stream.tokens.values()))
                pending = len(stream.attempted) - returned - len(stream.errors)
                result.marks.append(
                    f"{what} at +{time.monotonic() - stream_start:.2f} s: {returned} returned, "
                    f"{acked} acked, {pending} calls in flight"
                )

            stream_start = time.monotonic()

            sender = asyncio.create_task(
                send_stream(driver, bob.jid, bodies, stream, args, stop, on_returned)
            )
            await first_of(trigger.wait(), sender)
            if not trigger.is_set():
                result.notes.append("the stream ended before the disruption")
            if scenario == "server-restart":
                mark("server stop asked" if not args.server_crash else "server SIGKILL")
                if args.server_crash:
                    await asyncio.to_thread(server.crash)
                else:
                    await server.astop(graceful=True)
                mark("server down")
                await server.astart()
                mark("server up")
                await sender
                mark("last call returned")
            else:
                stop.set()
                mark("app SIGKILL")
                app.proc.kill()
                await app.proc.wait()
                await sender  # the calls in flight end with an error reply
                result.unconfirmed = stream.unconfirmed()
                app = await scene.start_app(driver)
                mark("app signed in again")
                if args.resume:
                    rest = bodies[len(stream.attempted) :]
                    stop.clear()
                    await send_stream(driver, bob.jid, rest, stream, args, stop, lambda: None)
            result.sent = len(stream.tokens)
            result.not_attempted = len(bodies) - len(stream.attempted)
            refused = [e for b, e in stream.errors.items() if b not in result.unconfirmed]
            result.refused = len(refused)
            if refused:
                result.notes.append(f"{len(refused)} calls failed, e.g. {refused[0]}")
            tokens = set(stream.tokens.values())
            result.acked_all = await driver.wait_acked(tokens, args.deadline)
            result.acked = len(tokens & driver.acked)
            sentinel = f"sentinel-{scenario}-{number}"
            await driver.send(bob.jid, sentinel)
            if not await bob.wait_for_body(sentinel, args.deadline):
                result.notes.append("the closing sentinel never arrived")
            if not await bob.wait_quiet(args.quiet, STEP_TIMEOUT):
                result.notes.append("the receiver never went quiet")
            count(result, stream, bob.counts, sentinel)
            if result.lost:
                archived = await bob.archived_bodies()
                result.lost_but_archived = sum(
                    1 for b in stream.tokens if not bob.counts[b] and b in archived
                )
            result.same_id_copies = bob.same_id_copies
            result.reconnects = bob.reconnects
        finally:
            if sender is not None and not sender.done():
                sender.cancel()
                await asyncio.wait({sender})
            await bob.close()
            await driver.close()
            await scene.close()
    result.seconds = time.monotonic() - started
    return result


async def first_of(event_wait: Awaitable[Any], task: asyncio.Task[None]) -> None:
    waiter = asyncio.ensure_future(event_wait)
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if task.done() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def count(result: Round, stream: Stream, counts: Counter[str], sentinel: str) -> None:
    known = set(stream.bodies)
    result.received_distinct = sum(1 for b in stream.bodies if counts[b])
    result.lost = sum(1 for b in stream.tokens if not counts[b])
    result.duplicated = sum(1 for b in stream.bodies if counts[b] > 1)
    result.extra_copies = sum(counts[b] - 1 for b in stream.bodies if counts[b] > 1)
    result.unconfirmed_arrived = sum(1 for b in result.unconfirmed if counts[b])
    result.unexpected = sum(c for b, c in counts.items() if b not in known and b != sentinel)


def report(number: int, r: Round) -> None:
    print(f"round {number} {r.scenario}: {'; '.join(r.marks)}")
    line = (
        f"  sent {r.sent}, received distinct {r.received_distinct}, lost {r.lost}, "
        f"duplicated {r.duplicated} ({r.extra_copies} extra copies)"
    )
    if r.lost:
        line += f"; of the lost, in bob's own archive {r.lost_but_archived}"
    if r.scenario == "app-kill":
        line += (
            f"; unconfirmed (call in flight at the kill) {len(r.unconfirmed)}, "
            f"of which arrived {r.unconfirmed_arrived}; never sent {r.not_attempted}"
        )
    print(line)
    acked = "all" if r.acked_all else f"only {r.acked} of {r.sent} (deadline)"
    print(
        f"  extra copies with the first copy's id {r.same_id_copies}; "
        f"MessageSent for {acked}; bob reconnected {r.reconnects} times; "
        f"unexpected bodies {r.unexpected}; {r.seconds:.1f} s"
    )
    for note in r.notes:
        print(f"  note: {note}")


def summary(scenario: str, rounds: list[Round], failed: int) -> None:
    if not rounds:
        print(f"summary {scenario}: no round finished ({failed} failed)")
        return
    print(
        f"summary {scenario}: {len(rounds)} rounds"
        + (f" ({failed} failed)" if failed else "")
        + f"; sent {sum(r.sent for r in rounds)}, lost {sum(r.lost for r in rounds)} "
        f"(in bob's own archive {sum(r.lost_but_archived for r in rounds)}), "
        f"duplicated {sum(r.duplicated for r in rounds)} "
        f"({sum(r.extra_copies for r in rounds)} extra copies); "
        f"rounds with a loss {sum(1 for r in rounds if r.lost)}, "
        f"with a duplicate {sum(1 for r in rounds if r.duplicated)}"
        + (
            f"; unconfirmed {sum(len(r.unconfirmed) for r in rounds)}, "
            f"of which arrived {sum(r.unconfirmed_arrived for r in rounds)}"
            if scenario == "app-kill"
            else ""
        )
    )


# -- main ----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if main_task is not None:
            loop.add_signal_handler(sig, main_task.cancel)
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    kind = "SIGKILL" if args.server_crash else "graceful"
    print(
        f"{args.messages} messages a round, {args.in_flight} calls in flight, one started "
        f"every {args.pace * 1000:g} ms, disruption after {args.at:.0%} returned; "
        f"server restart: {kind}; receipts from bob: {'yes' if args.receipts else 'no'}"
    )
    bus = PrivateSessionBus()
    address = bus.start()
    try:
        with bench_server() as server:
            for scenario in scenarios:
                done: list[Round] = []
                failed = 0
                for number in range(1, args.rounds + 1):
                    try:
                        result = await run_round(scenario, number, server, address, args)
                    except Exception as exc:
                        failed += 1
                        print(f"round {number} {scenario}: failed: {exc!r}"[:2000])
                        if not server.running:
                            await server.astart()
                        continue
                    done.append(result)
                    report(number, result)
                summary(scenario, done, failed)
    finally:
        _kill_live_apps()
        bus.stop()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--in-flight", type=int, default=8, help="SendMessage calls at once")
    parser.add_argument("--pace", type=float, default=0.002, help="seconds between call starts")
    parser.add_argument(
        "--at", type=float, default=0.5, help="disrupt once this share of calls returned"
    )
    parser.add_argument("--server-crash", action="store_true", help="SIGKILL Prosody instead")
    parser.add_argument("--resume", action="store_true", help="app-kill: send the rest after")
    parser.add_argument("--receipts", action="store_true", help="bob answers XEP-0184 requests")
    parser.add_argument("--deadline", type=float, default=60.0, help="for MessageSent, sentinel")
    parser.add_argument("--quiet", type=float, default=3.0, help="seconds of silence at bob")
    args = parser.parse_args()
    atexit.register(stop_all_buses)
    atexit.register(stop_all)
    atexit.register(_kill_live_apps)
    try:
        asyncio.run(main(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run()
