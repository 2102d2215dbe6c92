"""Plain D-Bus calls for the activation tests (packaging/): a method call that must
succeed, a call on the bus daemon itself, and quitting an activated Chinwag."""

from __future__ import annotations

import asyncio
from typing import Any

from chinwag.automation.constants import BUS_NAME, MESSENGER, MESSENGER_PATH

TIMEOUT = 60.0


async def call(
    bus: Any,
    destination: str,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: list[object] | None = None,
) -> list[object]:
    """The reply's body; anything but a method return fails the test."""
    from dbus_next.constants import MessageType
    from dbus_next.message import Message

    message = Message(
        destination=destination,
        path=path,
        interface=interface,
        member=member,
        signature=signature,
        body=body or [],
    )
    reply = await asyncio.wait_for(bus.call(message), TIMEOUT)
    assert reply.message_type == MessageType.METHOD_RETURN, reply.body
    return list(reply.body)


async def bus_daemon(
    bus: Any, member: str, signature: str = "", body: list[object] | None = None
) -> list[object]:
    """A call on org.freedesktop.DBus."""
    daemon = "org.freedesktop.DBus"
    return await call(bus, daemon, "/org/freedesktop/DBus", daemon, member, signature, body)


async def quit_and_wait(bus: Any) -> None:
    """Quit the activated Chinwag and wait until it has left the bus."""
    from dbus_next.message import Message

    gone = asyncio.Event()

    def on_message(message: Message) -> None:
        # [name, old owner, new owner]: gone when there is no new owner
        if message.member == "NameOwnerChanged" and message.body[::2] == [BUS_NAME, ""]:
            gone.set()

    bus.add_message_handler(on_message)
    try:
        rule = f"type='signal',member='NameOwnerChanged',arg0='{BUS_NAME}'"
        await bus_daemon(bus, "AddMatch", "s", [rule])
        await call(bus, BUS_NAME, MESSENGER_PATH, MESSENGER, "Quit")
        await asyncio.wait_for(gone.wait(), TIMEOUT)
    finally:
        bus.remove_message_handler(on_message)
