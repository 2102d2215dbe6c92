"""A script writer's bot on stock dbus-next 0.2.3 (nothing of Chinwag's imported) that
never misses a message, for ``test_api_catch_up.py``: it keeps a journal of what it
handled and catches up with ``Messages1.GetReceived`` (automation-api.md section 6a).

    python stock_catch_up_client.py BUS_ADDRESS JOURNAL [DROP_EVERY]

The journal holds one line per handled message or delivery report, ``sequence<TAB>text``
(text with backslash, tab and newline escaped), appended and flushed one line at a time.
On start the bot reads the journal's last complete line (a torn last line, from a kill
in the middle of a write, is cut off: that entry was not handled), subscribes to
``MessageReceived``, then asks ``GetReceived`` for everything after that sequence, a page
at a time until one is empty (a page may hold fewer than asked for when the texts are
long), and then handles the signals as they come: a sequence it already handled is
ignored, a sequence jump (a signal it missed) is fetched with ``GetReceived`` first.

``DROP_EVERY`` (default 0: none) makes it act as if every n-th signal never reached it,
the way signals are lost while a bot's connection is down, so the gap handling runs.

It prints, one line each and flushed: ``ready <sequence>`` once subscribed (the last
sequence of its journal), ``at <sequence>`` when it has handled up to that sequence and
has nothing queued (and every :data:`PROGRESS` entries), and ``gap <after> <sequence>``
for each jump it fetched. On SIGTERM or SIGINT it closes its connection, prints ``bye``
with its counts as JSON, and exits 0."""

import asyncio
import json
import os
import signal
import sys
from typing import Any

from dbus_next.aio import MessageBus

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
DELIVERY_REPORT = 4
PAGE = 250  # GetReceived takes 1 to 1,000
PROGRESS = 100


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def text_of(parts: list[dict[str, Any]]) -> str:
    """What the journal says about an entry: a message's text, or the report."""
    header = parts[0]
    if header["message-type"].value == DELIVERY_REPORT:
        return f"report {header['delivery-status'].value} {header['delivery-token'].value}"
    return "\n".join(p["content"].value for p in parts[1:] if "content" in p)


class Journal:
    """The handled entries, one line each, appended and flushed."""

    def __init__(self, path: str) -> None:
        self.last = 0
        good = b""
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            good = data[: data.rfind(b"\n") + 1]  # complete lines only
            lines = good.decode().splitlines()
            if lines:
                self.last = int(lines[-1].split("\t", 1)[0])
        with open(path, "wb") as f:  # a torn last line is dropped
            f.write(good)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the run)

    def add(self, sequence: int, text: str) -> None:
        self._file.write(f"{sequence}\t{escape(text)}\n")
        self._file.flush()
        self.last = sequence


async def main(address: str, journal_path: str, drop_every: int) -> None:
    journal = Journal(journal_path)
    bus: Any = await MessageBus(bus_address=address).connect()
    node = await bus.introspect(BUS_NAME, ROOT)
    chinwag = bus.get_proxy_object(BUS_NAME, ROOT, node)
    messages: Any = chinwag.get_interface(MESSAGES)  # members made from introspection
    messenger: Any = chinwag.get_interface(MESSENGER)
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    counts = {"signals": 0, "dropped": 0, "fetched": 0, "ignored": 0, "gaps": 0}

    def on_message_received(parts: list[dict[str, Any]]) -> None:
        counts["signals"] += 1
        if drop_every and counts["signals"] % drop_every == 0:
            counts["dropped"] += 1  # as if it never arrived
            return
        queue.put_nowait(parts)

    messages.on_message_received(on_message_received)
    # The match rule goes out without a reply being awaited; a call after it makes sure
    # the bus has it before anything else happens.
    await messenger.get_my_status()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {journal.last}", flush=True)

    def handle(parts: list[dict[str, Any]]) -> None:
        journal.add(parts[0]["message-sequence"].value, text_of(parts))
        if journal.last % PROGRESS == 0:
            print(f"at {journal.last}", flush=True)

    async def fetch(until: int | None) -> None:
        """Everything after the journal's last sequence (up to ``until``, at least)."""
        while until is None or journal.last < until:
            page = await messages.call_get_received("/", journal.last, PAGE)
            if not page:
                return  # nothing more is stored (a short page may just be a full one:
                # GetReceived gives fewer than asked when the texts are long)
            for parts in page:
                if parts[0]["message-sequence"].value > journal.last:
                    counts["fetched"] += 1
                    handle(parts)

    async def run() -> None:
        await fetch(None)  # catch up on what came while the bot was not running
        print(f"at {journal.last}", flush=True)
        while True:
            parts = await queue.get()
            sequence = parts[0]["message-sequence"].value
            if sequence <= journal.last:
                counts["ignored"] += 1  # already handled (fetched with a gap)
            else:
                if sequence > journal.last + 1:
                    counts["gaps"] += 1
                    print(f"gap {journal.last} {sequence}", flush=True)
                    await fetch(sequence - 1)
                if sequence > journal.last:
                    handle(parts)
                else:
                    counts["ignored"] += 1
            if queue.empty():
                print(f"at {journal.last}", flush=True)

    worker = asyncio.ensure_future(run())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([worker, stopping], return_when=asyncio.FIRST_COMPLETED)
    if worker.done():
        worker.result()  # it failed: say why (a traceback, exit 1)
    worker.cancel()
    stopping.cancel()
    bus.disconnect()
    await bus.wait_for_disconnect()
    print("bye " + json.dumps({"last": journal.last, **counts}), flush=True)


if __name__ == "__main__":
    drop = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    asyncio.run(main(sys.argv[1], sys.argv[2], drop))
