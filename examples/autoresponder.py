#!/usr/bin/env python3
"""Answer incoming Chinwag messages with a fixed reply: an "I'm away" autoresponder.

    python3 autoresponder.py [--text TEXT] [--interval SECONDS]

It listens to ``im.chinwag.Messages1.MessageReceived`` on the session bus and answers each
incoming message with ``SendMessage``: to the sender (``message-sender-id``), from the
account the message arrived on (``account``). It leaves alone

* delivery reports (``message-type`` 4): they say what became of *our* messages;
* notices (``message-type`` 2): automatic messages, like the replies this script sends
  itself (as notices) -- so two autoresponders do not answer each other;
* your own messages (sent from another device and copied here);
* history caught up from the server's archive (``scrollback``): old news by now;
* a contact it answered less than ``--interval`` seconds ago (default 10 minutes).

It prints one line per decision on stdout. Ctrl-C or SIGTERM stops it (exit 0); it exits
with 3 when Chinwag is not running or quits, like ``chinwag-remote``.

Needs only dbus-next (``pip install dbus-next``) and a running Chinwag; copy it anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from dbus_next import BusType, DBusError, Variant
from dbus_next.aio import MessageBus

# The API's fixed names (automation-api.md).
BUS_NAME = "im.chinwag.Chinwag"
MESSENGER_PATH = "/im/chinwag/Chinwag"
MESSAGES = "im.chinwag.Messages1"
ACCOUNT = "im.chinwag.Account1"
NOTICE = 2  # message-type of an automatic message
DELIVERY_REPORT = 4  # message-type of a report on a message we sent


def say(line: str) -> None:
    print(line, flush=True)


def plain(parts: list[dict[str, Variant]]) -> dict[str, object]:
    """The header part of a Telepathy message with the Variants unwrapped."""
    return {key: value.value for key, value in parts[0].items()} if parts else {}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--text",
        default="I'm away from my computer right now; I'll answer when I'm back.",
        help="the reply",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=600.0,
        help="answer a contact at most once in this many seconds (default: 600)",
    )
    args = parser.parse_args()

    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    try:
        return await respond(bus, args.text, args.interval)
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()


async def respond(bus: MessageBus, text: str, interval: float) -> int:
    # Ask the bus whether Chinwag runs before talking to it: a call to a name nobody owns
    # could start a service (D-Bus activation) or wait for one.
    dbus_node = await bus.introspect("org.freedesktop.DBus", "/org/freedesktop/DBus")
    dbus = bus.get_proxy_object(
        "org.freedesktop.DBus", "/org/freedesktop/DBus", dbus_node
    ).get_interface("org.freedesktop.DBus")
    if not await dbus.call_name_has_owner(BUS_NAME):
        print("autoresponder: Chinwag is not running", file=sys.stderr)
        return 3

    chinwag = bus.get_proxy_object(
        BUS_NAME, MESSENGER_PATH, await bus.introspect(BUS_NAME, MESSENGER_PATH)
    )
    messages = chinwag.get_interface(MESSAGES)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    own_addresses: dict[str, str] = {}  # account path -> its address
    answered: dict[tuple[str, str], float] = {}  # (account, contact) -> when

    async def own_address(account: str) -> str:
        if account not in own_addresses:
            node = await bus.introspect(BUS_NAME, account)
            proxy = bus.get_proxy_object(BUS_NAME, account, node).get_interface(ACCOUNT)
            own_addresses[account] = await proxy.get_signin_name()
        return own_addresses[account]

    async def answer(message: list[dict[str, Variant]]) -> None:
        header = plain(message)
        kind = header.get("message-type", 0)
        sender = str(header.get("message-sender-id", ""))
        account = str(header.get("account", "/"))
        if kind == DELIVERY_REPORT or not sender:
            return
        if kind == NOTICE:
            say(f"not replying to {sender}: an automatic message (notice)")
            return
        if header.get("scrollback"):
            say(f"not replying to {sender}: history from the archive")
            return
        try:
            me = await own_address(account)
        except DBusError as error:
            say(f"not replying to {sender}: no account {account} ({error.text})")
            return
        if sender.casefold() == me.casefold():
            say(f"not replying to {sender}: that is you")
            return
        now = time.monotonic()
        last = answered.get((account, sender))
        if last is not None and now - last < interval:
            say(f"not replying to {sender}: answered {now - last:.0f} s ago")
            return
        answered[(account, sender)] = now
        reply = [
            {"message-type": Variant("u", NOTICE)},
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)},
        ]
        try:
            token = await messages.call_send_message(account, sender, reply, 0)
        except DBusError as error:
            say(f"could not reply to {sender}: {error.type}: {error.text}")
            return
        say(f"replied to {sender} ({token})")

    def on_message_received(message: list[dict[str, Variant]]) -> None:
        task = loop.create_task(answer(message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_name_owner_changed(name: str, old_owner: str, new_owner: str) -> None:
        if name == BUS_NAME and old_owner and not done.done():
            print("autoresponder: Chinwag has left the bus", file=sys.stderr)
            done.set_result(3)

    tasks: set[asyncio.Task[None]] = set()
    messages.on_message_received(on_message_received)
    dbus.on_name_owner_changed(on_name_owner_changed)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: done.done() or done.set_result(0))
    # dbus-next sends the subscriptions (match rules) without waiting; one more call
    # makes sure the bus has them -- and that Chinwag did not quit meanwhile.
    if not await dbus.call_name_has_owner(BUS_NAME):
        print("autoresponder: Chinwag is not running", file=sys.stderr)
        return 3
    print("autoresponder: answering messages; Ctrl-C to stop", file=sys.stderr, flush=True)
    return await done


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
