"""A script writer's client of Chinwag's API on stock dbus-next 0.2.3 (nothing of Chinwag's
imported), for ``test_api_flood_stock_client.py``: it follows ``Messages1.MessageReceived``
through a proxy, as ``examples/autoresponder.py`` does, and may call the API once per
message.

    python stock_flood_client.py BUS_ADDRESS SENDER COUNT {listen,bounded,unbounded}

``listen`` only records; ``bounded`` also calls ``GetContact`` for each message's sender
with at most :data:`IN_FLIGHT` calls outstanding (the pattern ``examples/README.md``
describes); ``unbounded`` calls for each message at once. It prints ``ready`` once
subscribed, then, when ``COUNT`` messages from ``SENDER`` arrived and every call is
answered (or the connection is gone, or :data:`IDLE` seconds pass with nothing new), one
JSON line: the message texts in arrival order, whether the connection is still up, and
the calls answered and failed."""

import asyncio
import json
import sys

from dbus_next.aio import MessageBus

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
DELIVERY_REPORT = 4
IN_FLIGHT = 32
IDLE = 60.0


async def main(address: str, sender: str, count: int, mode: str) -> None:
    bus = await MessageBus(bus_address=address).connect()
    node = await bus.introspect(BUS_NAME, ROOT)
    chinwag = bus.get_proxy_object(BUS_NAME, ROOT, node)
    messages = chinwag.get_interface(MESSAGES)
    messenger = chinwag.get_interface(MESSENGER)
    texts: list[str] = []
    answered: list[str] = []
    failed: list[str] = []
    tasks: set[asyncio.Task[None]] = set()
    limit = asyncio.Semaphore(IN_FLIGHT)
    progress = asyncio.Event()

    async def look_up(address: str) -> None:
        try:
            if mode == "bounded":
                async with limit:
                    answered.append(await messenger.call_get_contact(address, ""))
            else:
                answered.append(await messenger.call_get_contact(address, ""))
        except Exception as exc:  # the connection is gone: every call after it fails
            failed.append(repr(exc))
        progress.set()

    def on_message_received(parts: list[dict]) -> None:
        header = parts[0]
        if header["message-sender-id"].value != sender:
            return
        if header["message-type"].value == DELIVERY_REPORT:
            return
        texts.append("\n".join(p["content"].value for p in parts[1:] if "content" in p))
        progress.set()
        if mode != "listen":
            task = asyncio.ensure_future(look_up(sender))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    messages.on_message_received(on_message_received)
    # The match rule goes out without a reply being awaited; a call after it makes sure
    # the bus has it before the flood starts.
    await messenger.get_my_status()
    print("ready", flush=True)

    calls = 0 if mode == "listen" else count
    while bus.connected and (len(texts) < count or len(answered) + len(failed) < calls):
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), IDLE)
        except TimeoutError:
            break
    if tasks:  # calls still pending when the connection went fail now
        await asyncio.wait(tasks, timeout=IDLE)
    result = {
        "texts": texts,
        "connected": bus.connected,
        "answered": len(answered),
        "failed": failed[:3],
        "failed_count": len(failed),
    }
    print(json.dumps(result), flush=True)
    if bus.connected:
        bus.disconnect()
        await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
