"""End to end: catching up on received messages (automation-api.md section 6a) against
the app as a process on a private bus and a real Prosody.

Every ``MessageReceived`` header carries ``message-sequence`` (x): per account, 1 for the
first message or delivery report received in the profile, +1 for each, kept across
restarts; ``Messages1.GetReceived(o account, x after, u limit)`` answers the entries after
``after``, oldest first, at most ``limit`` (1 to 1,000), each exactly as its signal
carried it. A bot that was not running, or missed a signal, fetches the gap.

The script side is ``stock_catch_up_client.py``: a bot on stock dbus-next 0.2.3 keeping
its own journal, killed in the middle of a flood and started again, or stopped (SIGSTOP)
through most of one; at the end its journal holds every message once, in order.

Names, codes and values are written out from the spec on purpose (not imported from
the app): these tests check the contract."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import (
    APP_TIMEOUT,
    ApiClient,
    ApiError,
    AppProcess,
    SignalLog,
    start_app,
    wait_signed_in,
    write_profile,
)
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

# -- the contract (spec sections 1, 2, 6 and 6a) ------------------------------------------

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSAGES = "im.chinwag.Messages1"
INVALID_ARGUMENT = "im.chinwag.Error.InvalidArgument"
E_INVALIDARG = "0x80070057: "
MAX_LIMIT = 1000
REPORT_DELIVERY = 1
DELIVERY_REPORT = 4  # message-type of a delivery report
DELIVERED, ACCEPTED = 1, 4

CLIENT = Path(__file__).with_name("stock_catch_up_client.py")
STALL = 60.0  # a flood that makes no progress for this long has stopped

Parts = list[dict[str, Variant]]


# -- helpers -------------------------------------------------------------------------------


def plain(parts: Parts) -> list[dict[str, tuple[str, Any]]]:
    """Parts with each variant as (signature, value): equal when exactly the same."""
    return [{key: (v.signature, v.value) for key, v in part.items()} for part in parts]


def sequence(parts: Parts) -> int:
    value = parts[0]["message-sequence"]
    assert value.signature == "x", parts[0]
    return int(value.value)


def sender(parts: Parts) -> str:
    return str(parts[0]["message-sender-id"].value)


def text(parts: Parts) -> str:
    return "\n".join(str(p["content"].value) for p in parts[1:] if "content" in p)


async def get_received(
    client: ApiClient, after: int, limit: int, account: str = "/"
) -> list[Parts]:
    (entries,) = await client.call(ROOT, MESSAGES, "GetReceived", "oxu", [account, after, limit])
    return list(entries)


async def get_all_received(client: ApiClient, after: int = 0, page: int = MAX_LIMIT) -> list[Parts]:
    """Every entry after ``after``, fetched ``page`` at a time (until an empty page: a
    page may hold fewer than asked for when the texts are long)."""
    entries: list[Parts] = []
    while got := await get_received(client, after, page):
        entries += got
        after = sequence(got[-1])
    return entries


async def received(
    signals: SignalLog,
    count: int,
    *,
    mark: int = 0,
    match: Callable[[Parts], bool] = lambda _parts: True,
    app: AppProcess | None = None,
) -> list[Parts]:
    """The first ``count`` MessageReceived (matching ``match``) after signal ``mark``,
    once they have come: waits while they keep coming (none for :data:`STALL` seconds
    fails)."""
    loop = asyncio.get_running_loop()
    found: list[Parts] = []
    scanned = mark
    since = loop.time()
    while True:
        for member, body in signals.items[scanned:]:
            if member == "MessageReceived" and match(body[0]):
                found.append(body[0])
        if len(signals.items) > scanned:
            since = loop.time()
        scanned = len(signals.items)
        if len(found) >= count:
            return found[:count]
        left = since + STALL - loop.time()
        if app is not None and not app.running():
            raise AssertionError(f"the app exited\n{app.diagnostics()}")
        try:
            await signals.wait_for_more(scanned, max(left, 0.0))
        except AssertionError:
            raise AssertionError(
                f"{len(found)} of {count} MessageReceived, then none for {STALL:g}s"
                f"\n{app.diagnostics() if app is not None else ''}"
            ) from None


async def next_entry(
    client: ApiClient, signals: SignalLog, after: int, match: Callable[[Parts], bool]
) -> Parts:
    """The first entry after sequence ``after`` that matches, from the log if it is there
    already, else from its signal (``signals`` watched before the log is read: an entry
    not yet in the log is signalled after the read)."""
    for parts in await get_all_received(client, after):
        if match(parts):
            return parts
    (parts,) = await received(signals, 1, match=lambda p: sequence(p) > after and match(p))
    return parts


def from_peer(peer: XmppPeer) -> Callable[[Parts], bool]:
    """Its messages and the reports on what was sent to it."""
    return lambda parts: sender(parts) == peer.jid


def message_from(peer: XmppPeer) -> Callable[[Parts], bool]:
    return lambda parts: sender(parts) == peer.jid and not is_a_report(parts)


def is_a_report(parts: Parts) -> bool:
    mtype: int = parts[0]["message-type"].value
    return mtype == DELIVERY_REPORT


async def api_error(client: ApiClient, signature: str, body: list[Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await client.call(ROOT, MESSAGES, "GetReceived", signature, body)
    return caught.value


def peer_with_receipts(server: ProsodyServer, name: str) -> XmppPeer:
    """A peer that answers XEP-0184 receipt requests."""
    peer = XmppPeer(server, *server.make_user(name))
    peer.client.register_plugin("xep_0184")
    peer.client.plugin["xep_0184"].auto_ack = True
    return peer


async def send_message(client: ApiClient, target: str, body: str, flags: int) -> str:
    parts = [
        {"message-type": Variant("u", 0)},
        {"content-type": Variant("s", "text/plain"), "content": Variant("s", body)},
    ]
    (token,) = await client.call(
        ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", target, parts, flags]
    )
    return str(token)


def is_report(token: str, status: int) -> Callable[[Parts], bool]:
    def match(parts: Parts) -> bool:
        h = parts[0]
        return is_a_report(parts) and (h["delivery-token"].value, h["delivery-status"].value) == (
            token,
            status,
        )

    return match


# -- 1. the sequence and GetReceived against the signals -----------------------------------


@pytest.mark.fresh_app  # sequence 1 is the profile's first message
async def test_each_message_received_has_the_next_sequence_and_get_received_pages_them(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    assert await get_received(client, 0, MAX_LIMIT) == []
    sent = [f"message {i}" for i in range(25)]
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        for body in sent:
            bob.send_chat(chinwag_app.jid, body)
        told = await received(signals, len(sent), app=chinwag_app)
    assert [sender(p) for p in told] == [bob.jid] * len(sent)
    assert [text(p) for p in told] == sent
    assert [sequence(p) for p in told] == list(range(1, len(sent) + 1))
    header = told[0][0]
    assert header["account"].signature == "o"
    assert header["account"].value.startswith(ROOT + "/account/")

    # Exactly what the signals carried, on "/" and on the account's own path.
    assert [plain(p) for p in await get_received(client, 0, MAX_LIMIT)] == [plain(p) for p in told]
    account = header["account"].value
    assert [plain(p) for p in await get_received(client, 0, MAX_LIMIT, account)] == [
        plain(p) for p in told
    ]

    # 10 at a time: 1-10, 11-20, 21-25, then nothing.
    pages = [await get_received(client, after, 10) for after in (0, 10, 20, 25)]
    assert [[sequence(p) for p in page] for page in pages] == [
        list(range(1, 11)),
        list(range(11, 21)),
        list(range(21, 26)),
        [],
    ]
    assert [plain(p) for page in pages for p in page] == [plain(p) for p in told]
    assert [plain(p) for p in await get_all_received(client, page=10)] == [plain(p) for p in told]
    # Any starting point, any size.
    assert [sequence(p) for p in await get_received(client, 3, 4)] == [4, 5, 6, 7]
    assert [sequence(p) for p in await get_received(client, 24, 1)] == [25]
    assert [plain(p) for p in await get_received(client, 17, MAX_LIMIT)] == [
        plain(p) for p in told[17:]
    ]


# -- 2. across a restart, delivery reports in the same sequence -----------------------------


@pytest.mark.fresh_app
@pytest.mark.timeout(300)
async def test_the_sequence_is_kept_across_a_restart_and_reports_take_their_place(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    jid, password = prosody.make_user("app")
    env = write_profile(tmp_path, jid, password, prosody)
    app = await start_app(tmp_path, env, jid, password, prosody)
    try:
        async with peer_with_receipts(prosody, "bob") as bob:
            client = await app.client()
            await wait_signed_in(app, client)
            signals = await client.watch()
            for i in range(5):
                bob.send_chat(jid, f"before {i}")
            before = await received(signals, 5, app=app)
            assert [sequence(p) for p in before] == [1, 2, 3, 4, 5]

            # Report_Delivery: the server's acceptance and the delivery are received
            # entries too, in the same sequence.
            mark = len(signals.items)
            token = await send_message(client, bob.jid, "please confirm", REPORT_DELIVERY)
            assert (await bob.next_message(APP_TIMEOUT))["body"] == "please confirm"
            (delivered,) = await received(
                signals, 1, mark=mark, match=is_report(token, DELIVERED), app=app
            )
            bob.send_chat(jid, "after the report")
            (after_report,) = await received(
                signals, 1, mark=mark, match=message_from(bob), app=app
            )
            told = [body[0] for m, body in signals.items if m == "MessageReceived"]
            assert [sequence(p) for p in told] == list(range(1, len(told) + 1))
            reports = [p for p in told if is_a_report(p)]
            assert [p[0]["delivery-status"].value for p in reports] == [ACCEPTED, DELIVERED]
            for parts in reports:
                h = parts[0]
                assert len(parts) == 1, parts  # a report has no content
                assert h["delivery-token"].value == token
                assert h["delivery-status"].signature == "u"
                assert h["message-sender-id"].value == bob.jid
            assert sequence(delivered) == sequence(reports[-1])
            assert sequence(after_report) == len(told) == sequence(delivered) + 1
            assert text(after_report) == "after the report"
            log = [plain(p) for p in await get_received(client, 0, MAX_LIMIT)]
            assert log == [plain(p) for p in told]

            # Stopped (SIGTERM) and started again on the same profile.
            await app.close_clients()
            assert await app.terminate() == 0
            bob.send_chat(jid, "while it was down")
            app = await start_app(tmp_path, env, jid, password, prosody)
            client = await app.client()
            signals = await client.watch()
            await wait_signed_in(app, client)
            kept = [plain(p) for p in await get_received(client, 0, len(told))]
            assert kept == log
            # What came while it was down is the next entry, once (it may be in before
            # the watch: the app signs in as soon as it starts).
            down = await next_entry(client, signals, len(told), message_from(bob))
            assert text(down) == "while it was down"
            assert sequence(down) == len(told) + 1
            mark = len(signals.items)
            bob.send_chat(jid, "after the restart")
            (later,) = await received(signals, 1, mark=mark, match=message_from(bob), app=app)
            assert text(later) == "after the restart"
            assert sequence(later) == len(told) + 2
            now = [plain(p) for p in await get_received(client, 0, MAX_LIMIT)]
            assert now == [*log, plain(down), plain(later)]
    finally:
        await app.close_clients()
        await app.terminate()


# -- 3. a stock bot with a journal: killed, stopped, catching up ---------------------------


class StockBot:
    """``stock_catch_up_client.py`` as a process; its stdout read as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr: Path) -> None:
        self.proc = proc
        self.stderr = stderr
        self.lines: list[str] = []
        self.at = -1
        self.ended = False
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            said = line.decode().strip()
            self.lines.append(said)
            if said.startswith(("at ", "ready ")):
                self.at = int(said.split()[1])
            self._changed.set()
        self.ended = True
        self._changed.set()

    def said(self, word: str) -> list[str]:
        return [line for line in self.lines if line.split()[0] == word]

    def diagnostics(self) -> str:
        err = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        return f"bot said (tail): {self.lines[-10:]}\nbot stderr (tail):\n{err[-3000:]}"

    async def wait_until(self, check: Callable[[], bool], what: str) -> None:
        """Until ``check()``, while the bot keeps saying something (:data:`STALL`)."""
        loop = asyncio.get_running_loop()
        since, said = loop.time(), len(self.lines)
        while not check():
            if self.ended:
                raise AssertionError(f"the bot ended before {what}\n{self.diagnostics()}")
            if len(self.lines) != said:
                since, said = loop.time(), len(self.lines)
            left = since + STALL - loop.time()
            if left <= 0:
                raise AssertionError(f"no {what} within {STALL:g}s\n{self.diagnostics()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def stop(self) -> dict[str, Any]:
        """SIGTERM: it exits 0 and says ``bye`` with its counts."""
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), APP_TIMEOUT)
        await asyncio.wait_for(self._reader, APP_TIMEOUT)
        assert code == 0, f"the bot exited {code}\n{self.diagnostics()}"
        (bye,) = self.said("bye")
        counts: dict[str, Any] = json.loads(bye.split(" ", 1)[1])
        return counts

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        await self.proc.wait()
        await asyncio.wait_for(self._reader, APP_TIMEOUT)


@contextlib.asynccontextmanager
async def stock_bot(app: AppProcess, journal: Path, drop_every: int = 0) -> AsyncIterator[StockBot]:
    """The bot, subscribed (it said ``ready``); killed if still running after."""
    stderr = journal.with_name(f"{journal.name}.{len(list(journal.parent.iterdir()))}.err")
    with stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CLIENT),
            app.bus_address,
            str(journal),
            str(drop_every),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    bot = StockBot(proc, stderr)
    try:
        await bot.wait_until(lambda: bool(bot.said("ready")), "ready")
        yield bot
    finally:
        if proc.returncode is None:
            await bot.kill()


def journal_of(path: Path) -> list[tuple[int, str]]:
    """The journal's lines as (sequence, text); every line complete."""
    data = path.read_text()
    assert data.endswith("\n"), f"a torn last line: {data[-80:]!r}"
    return [(int(s), t) for s, t in (line.split("\t", 1) for line in data.splitlines())]


async def flood_mark(signals: SignalLog, bob: XmppPeer, app: AppProcess) -> int:
    """The sequence of a first message from bob (the bot's journal starts there)."""
    mark = len(signals.items)
    bob.send_chat(app.jid, "before the flood")
    (first,) = await received(signals, 1, mark=mark, match=from_peer(bob), app=app)
    assert text(first) == "before the flood"
    return sequence(first)


def check_journal(path: Path, base: int, sent: list[str]) -> None:
    """Every message once, in order, the sequences consecutive from ``base``."""
    entries = journal_of(path)
    sequences = [s for s, _ in entries]
    assert sequences == list(range(base, base + len(sent) + 1)), (
        f"{len(entries)} lines for {len(sent) + 1} messages; first jumps: "
        f"{[(a, b) for a, b in itertools.pairwise(sequences) if b != a + 1][:5]}"
    )
    texts = [t for _, t in entries]
    assert texts == ["before the flood", *sent]


FLOOD = 2_000


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_stock_bot_killed_in_a_flood_catches_up_from_its_journal(
    chinwag_app: AppProcess, prosody: ProsodyServer, tmp_path: Path
) -> None:
    app = chinwag_app
    reference = await app.client()
    signals = await reference.watch()
    journal = tmp_path / "bot" / "journal.tsv"
    journal.parent.mkdir()
    sent = [f"flood {i}" for i in range(FLOOD)]
    half = FLOOD // 2
    async with XmppPeer(prosody, *prosody.make_user("flood")) as bob:
        mark = len(signals.items)
        base = await flood_mark(signals, bob, app)
        journal.write_text(f"{base}\tbefore the flood\n")

        # The first bot follows the first half live, missing every 7th signal (so it
        # fetches gaps), and is killed once it has handled some hundreds.
        async with stock_bot(app, journal, drop_every=7) as first:
            assert first.said("ready") == [f"ready {base}"]
            for body in sent[:half]:
                bob.send_chat(app.jid, body)
            await first.wait_until(lambda: first.at >= base + 300, "300 messages handled")
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
            assert first.said("gap"), first.lines[-20:]
        handled = journal_of(journal)
        assert base + 300 <= handled[-1][0] <= base + half

        # The second half comes with no bot running.
        for body in sent[half:]:
            bob.send_chat(app.jid, body)
        told = await received(signals, len(sent) + 1, mark=mark, match=from_peer(bob), app=app)
        assert [text(p) for p in told] == ["before the flood", *sent]
        assert [sequence(p) for p in told] == list(range(base, base + len(sent) + 1))
        last = sequence(told[-1])

        # As if killed in the middle of a write: a torn line after the last whole one.
        with journal.open("a") as f:
            f.write(f"{handled[-1][0] + 1}\tflo")

        async with stock_bot(app, journal) as second:
            assert second.said("ready") == [f"ready {handled[-1][0]}"]
            await second.wait_until(lambda: second.at >= last, f"sequence {last} handled")
            # caught up; what comes now, it gets live
            bob.send_chat(app.jid, "after the catch-up")
            await second.wait_until(lambda: second.at >= last + 1, "the next message live")
            counts = await second.stop()
        assert counts["fetched"] == last - handled[-1][0], counts
        assert counts["signals"] == 1, counts
        assert counts["gaps"] == 0, counts
    check_journal(journal, base, [*sent, "after the catch-up"])


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_stock_bot_stopped_through_a_flood_fetches_its_gaps_once(
    chinwag_app: AppProcess, prosody: ProsodyServer, tmp_path: Path
) -> None:
    app = chinwag_app
    reference = await app.client()
    signals = await reference.watch()
    journal = tmp_path / "bot" / "journal.tsv"
    journal.parent.mkdir()
    sent = [f"flood {i}" for i in range(FLOOD)]
    part = FLOOD // 4
    async with XmppPeer(prosody, *prosody.make_user("flood")) as bob:
        mark = len(signals.items)
        base = await flood_mark(signals, bob, app)
        journal.write_text(f"{base}\tbefore the flood\n")
        # Missing every 7th signal: each gap it fetches holds entries whose signals are
        # still queued for it (the backlog of the stop), which it must not handle twice.
        # A bot learns of a missed signal only from a later one, so the flood's last
        # signal must reach it: with the last one dropped, whether the bot ever got the
        # last message hung on where its page-sized gap fetches happened to end.
        drop = 7
        assert len(sent) % drop != 0
        async with stock_bot(app, journal, drop_every=drop) as bot:
            for body in sent[:part]:
                bob.send_chat(app.jid, body)
            await bot.wait_until(lambda: bot.at >= base + 100, "100 messages handled")
            os.kill(bot.proc.pid, signal.SIGSTOP)
            try:
                for body in sent[part:]:
                    bob.send_chat(app.jid, body)
                told = await received(
                    signals, len(sent) + 1, mark=mark, match=from_peer(bob), app=app
                )
            finally:
                os.kill(bot.proc.pid, signal.SIGCONT)
            last = sequence(told[-1])
            assert last == base + len(sent)
            await bot.wait_until(lambda: bot.at >= last, f"sequence {last} handled")
            counts = await bot.stop()
        assert counts["signals"] == len(sent), counts
        assert counts["gaps"] > 0, counts
        assert counts["ignored"] > 0, counts
        assert counts["fetched"] >= counts["dropped"], counts
    check_journal(journal, base, sent)


# -- 4. bad arguments, and the edges of the log ---------------------------------------------


async def test_get_received_is_introspectable_with_its_signature(
    chinwag_app: AppProcess,
) -> None:
    client = await chinwag_app.client()
    (xml,) = await client.call(ROOT, "org.freedesktop.DBus.Introspectable", "Introspect")
    node = ET.fromstring(xml)
    (method,) = [
        m
        for i in node.iter("interface")
        if i.get("name") == MESSAGES
        for m in i.iter("method")
        if m.get("name") == "GetReceived"
    ]
    args = [(a.get("name"), a.get("type"), a.get("direction", "in")) for a in method.iter("arg")]
    assert [(t, d) for _n, t, d in args] == [
        ("o", "in"),
        ("x", "in"),
        ("u", "in"),
        ("aaa{sv}", "out"),
    ]


@pytest.mark.parametrize("limit", [0, MAX_LIMIT + 1, 2**32 - 1])
async def test_get_received_refuses_a_limit_outside_1_to_1000(
    chinwag_app: AppProcess, limit: int
) -> None:
    client = await chinwag_app.client()
    error = await api_error(client, "oxu", ["/", 0, limit])
    assert error.name == INVALID_ARGUMENT, error
    assert error.text.startswith(E_INVALIDARG), error


@pytest.mark.parametrize(
    "account",
    [
        ROOT + "/account/99",
        ROOT + "/window/main",
        ROOT,
        ROOT + "/account",
        "/org/freedesktop/DBus",
    ],
)
async def test_get_received_refuses_what_is_not_an_account(
    chinwag_app: AppProcess, account: str
) -> None:
    client = await chinwag_app.client()
    error = await api_error(client, "oxu", [account, 0, 10])
    assert error.name == INVALID_ARGUMENT, error
    assert error.text.startswith(E_INVALIDARG), error


@pytest.mark.parametrize(
    ("signature", "body"),
    [
        ("sxu", ["/", 0, 10]),
        ("oiu", ["/", 0, 10]),
        ("oxi", ["/", 0, 10]),
        ("oxt", ["/", 0, 10]),
        ("ox", ["/", 0]),
        ("", []),
        ("oxuu", ["/", 0, 10, 10]),
    ],
)
async def test_get_received_with_wrong_dbus_types_is_an_invalid_argument(
    chinwag_app: AppProcess, signature: str, body: list[Any]
) -> None:
    client = await chinwag_app.client()
    error = await api_error(client, signature, body)
    assert error.name == INVALID_ARGUMENT, error
    assert error.text.startswith(E_INVALIDARG), error
    # and the app goes on answering
    assert isinstance(await get_received(client, 0, 1), list)


async def test_get_received_at_the_edges_of_the_log(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        for i in range(3):
            bob.send_chat(chinwag_app.jid, f"edge {i}")
        told = await received(signals, 3, match=from_peer(bob), app=chinwag_app)
    last = sequence(told[-1])
    assert [sequence(p) for p in told] == [last - 2, last - 1, last]
    # after the last one (or far beyond, or the largest x): nothing, not an error
    for after in (last, last + 1, last + 10_000, 2**63 - 1):
        assert await get_received(client, after, MAX_LIMIT) == [], after
    # a negative after is the start of the log
    first = await get_received(client, 0, 5)
    assert first, "nothing in the log"
    assert sequence(first[0]) == 1
    for after in (-1, -5, -(2**63)):
        assert [plain(p) for p in await get_received(client, after, 5)] == [
            plain(p) for p in first
        ], after
    # limit 1 and 1000 are inside the range
    assert [plain(p) for p in await get_received(client, last - 1, 1)] == [plain(told[-1])]
    assert [plain(p) for p in await get_received(client, last - 3, MAX_LIMIT)] == [
        plain(p) for p in told
    ]


# -- 5. per account ------------------------------------------------------------------------


@pytest.mark.fresh_app
async def test_each_account_has_its_own_sequence(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    """Two accounts in one profile: each numbers its own entries from 1, GetReceived
    answers one account's ("/" the primary's), and the account header says whose."""
    primary, password = prosody.make_user("first")
    second, second_password = prosody.make_user("second")
    env = write_profile(tmp_path, primary, password, prosody)
    config = tmp_path / "config" / "chinwag" / "accounts.json"
    accounts = json.loads(config.read_text())
    accounts["accounts"].append({"jid": second, "host": prosody.host, "port": prosody.port})
    config.write_text(json.dumps(accounts))
    secrets = tmp_path / "data" / "chinwag" / "passwords.json"
    secrets.write_text(json.dumps({primary: password, second: second_password}))
    app = await start_app(tmp_path, env, primary, password, prosody)
    try:
        client = await app.client()
        signals = await client.watch()
        await wait_signed_in(app, client)
        async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
            for i in range(3):
                bob.send_chat(primary, f"to the first {i}")
                bob.send_chat(second, f"to the second {i}")
            told = await received(signals, 6, match=from_peer(bob), app=app)
        paths = {str(p[0]["account"].value) for p in told}
        assert len(paths) == 2, told
        by_account = {
            path: [p for p in told if p[0]["account"].value == path] for path in sorted(paths)
        }
        for path, entries in by_account.items():
            assert [sequence(p) for p in entries] == [1, 2, 3], path
            assert [plain(p) for p in await get_received(client, 0, MAX_LIMIT, path)] == [
                plain(p) for p in entries
            ]
        firsts = [p for p in told if text(p).startswith("to the first")]
        assert [plain(p) for p in await get_received(client, 0, MAX_LIMIT)] == [
            plain(p) for p in firsts
        ]
    finally:
        await app.close_clients()
        await app.terminate()


# -- 6. a page of long messages --------------------------------------------------------------

LONG = 240_000  # characters: a stanza under Prosody's 256 KiB limit


async def owns_the_name(app: AppProcess) -> bool:
    observer = await app.client()
    (owned,) = await observer.call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        "s",
        [BUS_NAME],
        destination="org.freedesktop.DBus",
    )
    return bool(owned)


@pytest.mark.fresh_app
@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_page_of_long_messages_still_comes_back(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    """300 messages of 240,000 characters (what any contact may send): 72 MB, more than
    one D-Bus message may carry (an array at most 64 MiB, a message 128 MiB).
    GetReceived answers at most ``limit``: fewer when they would not fit, but an answer,
    and paging on from the last one returned gets the rest."""
    app = chinwag_app
    client = await app.client()
    signals = await client.watch()
    count = 300
    async with XmppPeer(prosody, *prosody.make_user("long")) as bob:
        sent = [f"{i:04d} " + "x" * LONG for i in range(count)]
        for body in sent:
            bob.send_chat(app.jid, body)
        told = await received(signals, count, match=from_peer(bob), app=app)
    assert [sequence(p) for p in told] == list(range(1, count + 1))
    entries: list[Parts] = []
    pages = 0
    while True:
        try:
            page = await get_received(client, len(entries), MAX_LIMIT)
        except ApiError as exc:
            raise AssertionError(
                f"GetReceived after {len(entries)}: {exc}; the app is running: "
                f"{app.running()}, owns im.chinwag.Chinwag: {await owns_the_name(app)}"
            ) from None
        if not page:
            break
        pages += 1
        assert [sequence(p) for p in page] == list(
            range(len(entries) + 1, len(entries) + len(page) + 1)
        )
        entries += page
    assert [text(p) for p in entries] == sent
    assert [plain(p) for p in entries] == [plain(p) for p in told]
    assert pages > 1  # not all in one answer
    assert await owns_the_name(app)
