#!/usr/bin/env python3
"""Mirror a Chinwag group conversation to stdout, and answer those who mention you there.

    python3 room_mirror.py ROOM [--from SEQUENCE] [--reply TEXT]

ROOM is the room's address (``team@conference.example.org``) or the conversation's uuid.
It uses the Conversations API (conversations-api.md): ``Conversations1.GetConversation``
gives the conversation's object, whose events it prints, one line each:

    #12 bob@example.org: hello                       (OnSendMessage)
    #13 bob@example.org edited 5d41...: hello all    (OnEditMessage)
    #14 bob@example.org removed 5d41...              (OnRemoveMessage)

It first catches up: ``Conversation1.RetransmitEventsFrom`` gives the conversation's log
from ``--from`` (default 1: everything this Chinwag has), 100 events a call, exactly as
the signals carried them. It subscribes to the signals before that, so nothing that
happens meanwhile is lost, then handles them in order: an event whose ``sequence`` it has
printed already is skipped, and a jump in the numbers (events it did not get) is fetched
with ``RetransmitEvents``.

A message that came after it started, by someone else, that mentions you -- the account's
display name or the local part of its address, as a word, in any case -- is answered in
the room with ``Conversation1.SendMessage`` (``--reply``), and the line
``replied to USER (#SEQUENCE)`` is printed.

Ctrl-C or SIGTERM stops it (exit 0); it exits with 3 when Chinwag is not running or
quits, with 1 when Chinwag refuses (an unknown conversation: ``8: ...``).

Needs only dbus-next (``pip install dbus-next``) and a running Chinwag; copy it anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import uuid as uuids
from typing import Any

from dbus_next import BusType, DBusError, Variant
from dbus_next.aio import MessageBus

# The API's fixed names (conversations-api.md).
BUS_NAME = "im.chinwag.Chinwag"
MESSENGER_PATH = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
PAGE = 100  # events per RetransmitEvents call (at most 100)
SHOWN = ("sendMessage", "editMessage", "removeMessage")


def say(line: str) -> None:
    print(line, flush=True)


def complain(line: str) -> None:
    print(f"room_mirror: {line}", file=sys.stderr, flush=True)


def plain(value: Any) -> Any:
    """A D-Bus value with every Variant unwrapped."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def conversation_uuid(room: str) -> str:
    """A room's conversation uuid (conversations-api.md section 1); a uuid as it is."""
    if "@" not in room:
        return room
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?join"))


def line_of(event: dict[str, Any]) -> str:
    message = event.get("message", {})
    who, sequence = event.get("user", ""), event.get("sequence", 0)
    if event["action"] == "sendMessage":
        return f"#{sequence} {who}: {message.get('text', '')}"
    if event["action"] == "editMessage":
        return f"#{sequence} {who} edited {message.get('uuid', '')}: {message.get('text', '')}"
    return f"#{sequence} {who} removed {message.get('uuid', '')}"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("room", help="the room's address or the conversation's uuid")
    parser.add_argument(
        "--from",
        dest="first",
        type=int,
        default=1,
        metavar="SEQUENCE",
        help="print the conversation's log from this sequence on (default: 1)",
    )
    parser.add_argument(
        "--reply",
        default="I saw that you mentioned me; I'll be back soon.",
        help="the answer to a message that mentions you",
    )
    args = parser.parse_args()
    if args.first < 1:
        parser.error("--from is 1 or more")
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    try:
        return await mirror(bus, conversation_uuid(args.room), args.first, args.reply)
    except DBusError as error:
        complain(f"{error.type}: {error.text}")
        return 1
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()


async def mirror(bus: MessageBus, uuid: str, first: int, reply: str) -> int:
    # Ask the bus whether Chinwag runs before talking to it (a call to a name nobody owns
    # could start a service, or wait for one).
    dbus_node = await bus.introspect("org.freedesktop.DBus", "/org/freedesktop/DBus")
    dbus = bus.get_proxy_object(
        "org.freedesktop.DBus", "/org/freedesktop/DBus", dbus_node
    ).get_interface("org.freedesktop.DBus")
    if not await dbus.call_name_has_owner(BUS_NAME):
        complain("Chinwag is not running")
        return 3
    messenger = bus.get_proxy_object(
        BUS_NAME, MESSENGER_PATH, await bus.introspect(BUS_NAME, MESSENGER_PATH)
    )
    conversations = messenger.get_interface(CONVERSATIONS)
    path = await conversations.call_get_conversation(uuid)
    conversation = bus.get_proxy_object(
        BUS_NAME, path, await bus.introspect(BUS_NAME, path)
    ).get_interface(CONVERSATION)
    me = await conversations.get_me()
    names = {me.partition("@")[0]}
    with contextlib.suppress(DBusError, KeyError):
        names.add(plain(await conversations.call_get_user_by_name(me))["display_name"])
    mention = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(n) for n in names if n) + r")(?!\w)", re.IGNORECASE
    )

    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def on_event(at: str, event: dict[str, Variant]) -> None:
        if at == path:
            incoming.put_nowait(plain(event))

    def on_name_owner_changed(name: str, old_owner: str, new_owner: str) -> None:
        if name == BUS_NAME and old_owner and not done.done():
            complain("Chinwag has left the bus")
            done.set_result(3)

    for signal_name in ("send_message", "edit_message", "remove_message"):
        getattr(conversations, f"on_on_{signal_name}")(on_event)
    dbus.on_name_owner_changed(on_name_owner_changed)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: done.done() or done.set_result(0))
    # dbus-next sends the subscriptions without waiting; one more call makes sure the bus
    # has them. From here on nothing is lost: what arrives waits in `incoming`.
    if not await dbus.call_name_has_owner(BUS_NAME):
        complain("Chinwag is not running")
        return 3
    started = await conversation.get_last_sequence()  # answered: what comes after this
    shown = first - 1  # the last sequence handled

    async def handle(event: dict[str, Any]) -> None:
        nonlocal shown
        shown = max(shown, int(event.get("sequence", 0)))
        if event.get("action") not in SHOWN:
            return
        say(line_of(event))
        text = event.get("message", {}).get("text", "")
        sequence = int(event.get("sequence", 0))
        if (
            event["action"] == "sendMessage"
            and sequence > started
            and event.get("user") != me
            and mention.search(text)
        ):
            try:
                await conversation.call_send_message(f"{event['user']}: {reply}", "")
            except DBusError as error:
                say(f"could not reply to {event['user']}: {error.type}: {error.text}")
                return
            say(f"replied to {event['user']} (#{sequence})")

    async def fetch(last: int) -> None:
        """Handle the log's events after ``shown`` up to ``last``, a page at a time."""
        while shown < last:
            count = min(PAGE, last - shown)
            page = plain(await conversation.call_retransmit_events_from(shown + 1, count))
            before = shown
            for event in page:
                await handle(event)
            if shown == before:  # nothing more to give (e.g. not told of what it holds)
                return

    async def follow() -> None:
        await fetch(started)
        while True:
            event = await incoming.get()
            sequence = int(event.get("sequence", 0))
            if sequence <= shown:
                continue  # handled already
            if sequence > shown + 1:
                await fetch(sequence - 1)  # missed some: fetch them first
            if sequence > shown:
                await handle(event)

    worker = loop.create_task(follow())

    def worker_ended(task: asyncio.Task[None]) -> None:
        if task.cancelled() or done.done():
            return
        error = task.exception()
        complain(f"stopped: {error!r}")
        done.set_result(3 if isinstance(error, DBusError) and "ServiceUnknown" in error.type else 1)

    worker.add_done_callback(worker_ended)
    complain(f"mirroring {path}; Ctrl-C to stop")
    code = await done
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
