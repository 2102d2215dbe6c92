#!/usr/bin/env python3
"""Tell me when a contact comes online.

    python3 notify_online.py [--once] [--notify] ADDRESS

Finds the contact object with ``Messenger1.GetContact`` and follows
``Messenger1.OnContactStatusChange``: each time that contact goes from offline (or
unknown) to any other status it prints ``ADDRESS is online (STATUS)`` on stdout, and with
``--notify`` also shows a desktop notification. With ``--once`` it exits (0) the first
time the contact is online, at once if they already are: ``notify_online.py --once
bob@example.org && chinwag-remote send bob@example.org "Welcome back"``.

Ctrl-C or SIGTERM stops it (exit 0); it exits with 3 when Chinwag is not running or quits,
like ``chinwag-remote``. For the contact's status to be known you must be subscribed to
their presence (they are in your contact list and accepted).

Needs only dbus-next (``pip install dbus-next``) and a running Chinwag; copy it anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from dbus_next import BusType, DBusError, Message, MessageType
from dbus_next.aio import MessageBus

# The API's fixed names and MISTATUS values (automation-api.md).
BUS_NAME = "im.chinwag.Chinwag"
MESSENGER_PATH = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
CONTACT = "im.chinwag.Contact1"
OFFLINE_STATES = {0x00, 0x01}  # UNKNOWN, OFFLINE
STATUS_NAMES = {
    0x00: "unknown",
    0x01: "offline",
    0x02: "online",
    0x06: "invisible",
    0x0A: "busy",
    0x0E: "be right back",
    0x12: "idle",
    0x22: "away",
    0x32: "on the phone",
    0x42: "out to lunch",
}


async def desktop_notification(bus: MessageBus, summary: str) -> None:
    """Show a notification (org.freedesktop.Notifications); just warn if none answers."""
    reply = await bus.call(
        Message(
            destination="org.freedesktop.Notifications",
            path="/org/freedesktop/Notifications",
            interface="org.freedesktop.Notifications",
            member="Notify",
            signature="susssasa{sv}i",
            body=["Chinwag", 0, "im-user-online", summary, "", [], {}, -1],
        )
    )
    if reply is not None and reply.message_type == MessageType.ERROR:
        print(f"notify_online: no desktop notification: {reply.body[0]}", file=sys.stderr)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", metavar="ADDRESS", help="the contact's XMPP address")
    parser.add_argument("--once", action="store_true", help="exit once they are online")
    parser.add_argument("--notify", action="store_true", help="also a desktop notification")
    args = parser.parse_args()

    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    try:
        return await watch(bus, args.address, once=args.once, notify=args.notify)
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()


async def watch(bus: MessageBus, address: str, *, once: bool, notify: bool) -> int:
    # Ask the bus whether Chinwag runs before talking to it: a call to a name nobody owns
    # could start a service (D-Bus activation) or wait for one.
    dbus_node = await bus.introspect("org.freedesktop.DBus", "/org/freedesktop/DBus")
    dbus = bus.get_proxy_object(
        "org.freedesktop.DBus", "/org/freedesktop/DBus", dbus_node
    ).get_interface("org.freedesktop.DBus")
    if not await dbus.call_name_has_owner(BUS_NAME):
        print("notify_online: Chinwag is not running", file=sys.stderr)
        return 3

    chinwag = bus.get_proxy_object(
        BUS_NAME, MESSENGER_PATH, await bus.introspect(BUS_NAME, MESSENGER_PATH)
    )
    messenger = chinwag.get_interface(MESSENGER)
    try:
        # "" = the primary account; there is one contact object per address
        path = await messenger.call_get_contact(address, "")
    except DBusError as error:
        print(f"notify_online: {error.type}: {error.text}", file=sys.stderr)
        return 1
    contact = bus.get_proxy_object(BUS_NAME, path, await bus.introspect(BUS_NAME, path))
    properties = contact.get_interface(CONTACT)

    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    last: list[int] = []  # the status last seen

    def online(status: int) -> None:
        name = STATUS_NAMES.get(status, hex(status))
        print(f"{address} is online ({name})", flush=True)
        if notify:
            task = loop.create_task(desktop_notification(bus, f"{address} is online ({name})"))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if once and not done.done():
            done.set_result(0)

    def on_contact_status_change(changed: str, status: int) -> None:
        if changed != path:
            return
        was_offline = not last or last[-1] in OFFLINE_STATES
        last[:] = [status]
        if was_offline and status not in OFFLINE_STATES:
            online(status)

    def on_name_owner_changed(name: str, old_owner: str, new_owner: str) -> None:
        if name == BUS_NAME and old_owner and not done.done():
            print("notify_online: Chinwag has left the bus", file=sys.stderr)
            done.set_result(3)

    tasks: set[asyncio.Task[None]] = set()
    # Subscribe first, then read the status: no change can fall between the two.
    messenger.on_on_contact_status_change(on_contact_status_change)
    dbus.on_name_owner_changed(on_name_owner_changed)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: done.done() or done.set_result(0))
    status = await properties.get_status()  # also makes sure the subscriptions are in place
    if not last:  # no signal came meanwhile
        last[:] = [status]
        if status not in OFFLINE_STATES and once:
            online(status)
    now = STATUS_NAMES.get(last[-1], hex(last[-1]))
    print(f"notify_online: watching {address} (now {now})", file=sys.stderr, flush=True)
    if not await dbus.call_name_has_owner(BUS_NAME):  # Chinwag quit while we set up
        print("notify_online: Chinwag is not running", file=sys.stderr)
        return 3
    return await done


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
