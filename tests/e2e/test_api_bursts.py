"""End to end: bursts over the automation API. 5,000 method calls in flight from one client
(property reads and GetContact; one-off sends), and 20,000 signals produced for real (a
flood of incoming messages, each a MessageReceived): every reply and every signal arrives,
in order, and the app keeps its bus connection (dbus-next 0.2.3 dropped its whole
connection on the first EAGAIN of its socket; with its writer put back, the first two
tests here time out and the flood stalls after a few hundred signals).

The names below are written out from the spec (``automation-api.md``) on purpose."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from dbus_next import Message, MessageType, Variant

from rig.app import APP_TIMEOUT, AppProcess
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.slow, pytest.mark.shared_app]

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
ONLINE = 0x02
DELIVERY_REPORT = 4

CALLS = 5_000
SIGNALS = 20_000
STALL = 60.0


async def owner(client: Any) -> str:
    body = await client.call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "GetNameOwner",
        "s",
        [BUS_NAME],
        destination="org.freedesktop.DBus",
    )
    return str(body[0])


async def still_up(app: AppProcess, client: Any, unique_name: str) -> None:
    """The app runs, owns the name on the same connection as before, and answers."""
    assert app.running(), app.diagnostics()
    assert await owner(client) == unique_name, app.diagnostics()
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE


class Recorder:
    """Messages1 signals as they arrive, kept cheaply (no per-signal rescans)."""

    def __init__(self, client: Any, keep: Callable[[str, list[Any]], Any]) -> None:
        self.items: list[Any] = []
        self._keep = keep
        self._client = client
        self._changed = asyncio.Event()

    async def start(self) -> Recorder:
        def on_message(msg: Message) -> bool:
            if msg.message_type is MessageType.SIGNAL and msg.interface == MESSAGES:
                item = self._keep(str(msg.member), list(msg.body))
                if item is not None:
                    self.items.append(item)
                    self._changed.set()
            return False

        self._client.bus.add_message_handler(on_message)
        await self._client.call(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            "s",
            [f"type='signal',path='{ROOT}',interface='{MESSAGES}'"],
            destination="org.freedesktop.DBus",
        )
        return self

    async def wait_count(self, count: int, app: AppProcess, unique_name: str) -> None:
        """Until ``count`` signals are in; fails early when the app dies, loses its bus
        connection (its name changes owner), or no signal comes for ``STALL`` seconds."""
        loop = asyncio.get_running_loop()
        seen, last_progress = len(self.items), loop.time()
        while len(self.items) < count:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 5.0)
            if len(self.items) != seen:
                seen, last_progress = len(self.items), loop.time()
                continue
            progress = f"{len(self.items)} of {count} signals"
            assert app.running(), f"the app exited: {progress}\n{app.diagnostics()}"
            try:
                now = await owner(self._client)
            except Exception as exc:  # the name has no owner any more
                raise AssertionError(f"{progress}; {exc}\n{app.diagnostics()}") from exc
            assert now == unique_name, f"{progress}; the app's bus connection was replaced"
            assert loop.time() - last_progress < STALL, (
                f"{progress}, none for {STALL:g}s\n{app.diagnostics()}"
            )


def text_of(parts: list[dict[str, Variant]]) -> str:
    return "\n".join(
        p["content"].value
        for p in parts[1:]
        if "content-type" in p and p["content-type"].value.startswith("text/plain")
    )


async def test_5000_method_calls_in_flight_from_one_client(
    chinwag_app: AppProcess,
) -> None:
    client = await chinwag_app.client()
    unique_name = await owner(client)

    def call(i: int) -> Any:
        kind = i % 3
        if kind == 0:
            return client.get(ROOT, MESSENGER, "MyStatus")
        if kind == 1:
            return client.messenger("GetContact", "ss", f"burst{i % 500}@localhost", "")
        return client.get(ROOT, MESSENGER, "MySigninName")

    replies = await asyncio.gather(*(call(i) for i in range(CALLS)), return_exceptions=True)
    failed = [r for r in replies if isinstance(r, BaseException)]
    assert not failed, (
        f"{len(failed)} of {CALLS} calls failed, the first: {failed[0]!r}\n"
        f"{chinwag_app.diagnostics()}"
    )
    contacts: dict[str, str] = {}
    for i, reply in enumerate(replies):
        kind = i % 3
        if kind == 0:
            assert reply == ONLINE, (i, reply)
        elif kind == 1:
            # one object per address: the same address always gives the same path
            assert isinstance(reply, str)
            assert reply.startswith(ROOT + "/"), (i, reply)
            assert contacts.setdefault(f"burst{i % 500}", reply) == reply, (i, reply)
        else:
            assert reply == chinwag_app.jid, (i, reply)
    assert len(set(contacts.values())) == len(contacts) == 500
    await still_up(chinwag_app, client, unique_name)


@pytest.mark.timeout(600)
async def test_20000_incoming_messages_each_signalled_in_order(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    unique_name = await owner(client)
    async with XmppPeer(prosody, *prosody.make_user("flood")) as bob:

        def keep(member: str, body: list[Any]) -> str | None:
            if member != "MessageReceived":
                return None
            head = body[0][0]
            if head.get("message-sender-id", Variant("s", "")).value != bob.jid:
                return None
            if head.get("message-type", Variant("u", 0)).value == DELIVERY_REPORT:
                return None
            return text_of(body[0])

        recorder = await Recorder(client, keep).start()
        for i in range(SIGNALS):
            bob.send_chat(chinwag_app.jid, f"flood {i}")
        bob.send_chat(chinwag_app.jid, "flood end")  # after it, no duplicate can hide
        await recorder.wait_count(SIGNALS + 1, chinwag_app, unique_name)
        assert recorder.items == [*(f"flood {i}" for i in range(SIGNALS)), "flood end"]
    await still_up(chinwag_app, client, unique_name)


@pytest.mark.timeout(600)
async def test_5000_sends_in_flight_each_answered_signalled_and_delivered(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    unique_name = await owner(client)
    async with XmppPeer(prosody, *prosody.make_user("sink")) as bob:

        def keep(member: str, body: list[Any]) -> str | None:
            return str(body[2]) if member == "MessageSent" else None

        recorder = await Recorder(client, keep).start()

        def send(i: int) -> Any:
            parts = [
                {},
                {"content-type": Variant("s", "text/plain"), "content": Variant("s", f"s{i}")},
            ]
            return client.call(
                ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", bob.jid, parts, 0], timeout=180
            )

        replies = await asyncio.gather(*(send(i) for i in range(CALLS)), return_exceptions=True)
        failed = [r for r in replies if isinstance(r, BaseException)]
        assert not failed, (
            f"{len(failed)} of {CALLS} calls failed, the first: {failed[0]!r}\n"
            f"{chinwag_app.diagnostics()}"
        )
        tokens = [reply[0] for reply in replies]
        assert len(set(tokens)) == CALLS
        await recorder.wait_count(CALLS, chinwag_app, unique_name)
        last = await send(CALLS)  # after its MessageSent, no duplicate can hide
        tokens.append(last[0])
        await recorder.wait_count(CALLS + 1, chinwag_app, unique_name)
        assert sorted(recorder.items) == sorted(tokens)
        received = [str((await bob.next_message(APP_TIMEOUT))["body"]) for _ in tokens]
        assert sorted(received) == sorted(f"s{i}" for i in range(CALLS + 1))
    await still_up(chinwag_app, client, unique_name)
