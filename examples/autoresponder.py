#!/usr/bin/env python3
"""Answer incoming Chinwag messages with a fixed reply: an "I'm away" autoresponder.

    python3 autoresponder.py [--text TEXT] [--interval SECONDS] [--state FILE]
                             [--catch-up-from SEQUENCE]

It listens to ``im.chinwag.Messages1.MessageReceived`` on the session bus and answers each
incoming message with ``SendMessage``: to the sender (``message-sender-id``), from the
account the message arrived on (``account``). It leaves alone

* delivery reports (``message-type`` 4): they say what became of *our* messages;
* notices (``message-type`` 2): automatic messages, like the replies this script sends
  itself (as notices) -- so two autoresponders do not answer each other;
* your own messages (sent from another device and copied here);
* history caught up from the server's archive (``scrollback``): old news by now;
* a contact it answered less than ``--interval`` seconds ago (default 10 minutes).

It also answers what came in while it was not running. Chinwag numbers what each account
receives (``message-sequence`` in the header: 1, 2, 3, ... with no gaps, kept across
restarts), and ``Messages1.GetReceived`` returns what came after a given number, exactly
as the signals carried it. The script keeps the last number it handled for each account
in a small state file (``--state``, by default
``$XDG_STATE_HOME/chinwag-autoresponder/state.json``, i.e. under ``~/.local/state``),
rewritten after each message. At start it subscribes to the signal first (what arrives
meanwhile waits), then fetches everything after the saved number, page by page, answering
as above; then it follows the signal, and a jump in the numbers (signals it missed) is
fetched with ``GetReceived`` too. Each message is handled once, in order.

The first time -- no state file, or an account the file does not know -- it starts from
the account's latest message: what came in before the autoresponder ever ran is not
answered. ``--catch-up-from 0`` answers all of that Chinwag still has (messages received
before Chinwag numbered them, in versions before 1.1 of its API, have no number and are
never fetched); ``--catch-up-from N``, what came after message N. Accounts the state file
knows go on from the saved number whatever the option says.

It prints one line per decision on stdout, ending with the message's number (``[#12]``).
Ctrl-C or SIGTERM stops it (exit 0) once the message in hand is done; it exits with 3
when Chinwag is not running or quits, like ``chinwag-remote``, and with 2 when the state
file cannot be read or written.

Needs only dbus-next (``pip install dbus-next``) and a running Chinwag; copy it anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from dbus_next import BusType, DBusError, Variant
from dbus_next.aio import MessageBus

# The API's fixed names (automation-api.md).
BUS_NAME = "im.chinwag.Chinwag"
MESSENGER_PATH = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
ACCOUNT = "im.chinwag.Account1"
NOTICE = 2  # message-type of an automatic message
DELIVERY_REPORT = 4  # message-type of a report on a message we sent
PAGE = 100  # messages per GetReceived call (Chinwag takes 1 to 1,000)
STOP_GRACE = 5.0  # seconds a stop waits for the message in hand


def say(line: str) -> None:
    print(line, flush=True)


def complain(line: str) -> None:
    print(f"autoresponder: {line}", file=sys.stderr, flush=True)


def plain(parts: list[dict[str, Variant]]) -> dict[str, object]:
    """The header part of a Telepathy message with the Variants unwrapped."""
    return {key: value.value for key, value in parts[0].items()} if parts else {}


def sequence_of(header: dict[str, object]) -> int | None:
    """The message's ``message-sequence``; None from a Chinwag before API 1.1."""
    value = header.get("message-sequence")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def default_state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "chinwag-autoresponder" / "state.json"


class StateError(Exception):
    """The state file cannot be read or written."""


class State:
    """The last ``message-sequence`` handled, per account. Keyed by the account's address:
    Chinwag numbers its account objects anew each run, the address stays. The file is
    replaced whole (a temporary file renamed over it), so it is never half written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handled: dict[str, int] = {}

    def load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            raise StateError(f"cannot read {self.path}: {error}") from error
        handled = data.get("handled") if isinstance(data, dict) else None
        if not isinstance(handled, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in handled.values()
        ):
            raise StateError(f"cannot read {self.path}: not a state file of this script")
        self.handled = {str(k): v for k, v in handled.items()}

    def save(self, durable: bool = False) -> None:
        """Write the file; ``durable``: on the disk before this returns (fsync)."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as out:
                json.dump({"handled": self.handled}, out, indent=1, sort_keys=True)
                out.write("\n")
                if durable:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            raise StateError(f"cannot write {self.path}: {error}") from error


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
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help="where to keep the last message handled per account "
        "(default: $XDG_STATE_HOME/chinwag-autoresponder/state.json)",
    )
    parser.add_argument(
        "--catch-up-from",
        type=int,
        default=None,
        metavar="SEQUENCE",
        help="for an account the state file does not know yet: answer what came after "
        "this message-sequence (0: everything Chinwag has); default: only what comes next",
    )
    args = parser.parse_args()
    if args.catch_up_from is not None and args.catch_up_from < 0:
        parser.error("--catch-up-from is 0 or more")

    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    try:
        state = State(args.state or default_state_file())
        return await respond(bus, args.text, args.interval, state, args.catch_up_from)
    except StateError as error:
        complain(str(error))
        return 2
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()


async def respond(
    bus: MessageBus, text: str, interval: float, state: State, catch_up_from: int | None
) -> int:
    # Ask the bus whether Chinwag runs before talking to it: a call to a name nobody owns
    # could start a service (D-Bus activation) or wait for one.
    dbus_node = await bus.introspect("org.freedesktop.DBus", "/org/freedesktop/DBus")
    dbus = bus.get_proxy_object(
        "org.freedesktop.DBus", "/org/freedesktop/DBus", dbus_node
    ).get_interface("org.freedesktop.DBus")
    if not await dbus.call_name_has_owner(BUS_NAME):
        complain("Chinwag is not running")
        return 3
    state.load()

    chinwag = bus.get_proxy_object(
        BUS_NAME, MESSENGER_PATH, await bus.introspect(BUS_NAME, MESSENGER_PATH)
    )
    messenger = chinwag.get_interface(MESSENGER)
    messages = chinwag.get_interface(MESSAGES)
    catches_up = hasattr(messages, "call_get_received")  # API 1.1 and later
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    own_addresses: dict[str, str] = {}  # account path -> its address
    answered: dict[tuple[str, str], float] = {}  # (account, contact) -> when
    incoming: asyncio.Queue[list[dict[str, Variant]]] = asyncio.Queue()
    busy = asyncio.Lock()  # held while a message is answered and the state saved

    async def own_address(account: str) -> str:
        if account not in own_addresses:
            node = await bus.introspect(BUS_NAME, account)
            proxy = bus.get_proxy_object(BUS_NAME, account, node).get_interface(ACCOUNT)
            own_addresses[account] = await proxy.get_signin_name()
        return own_addresses[account]

    async def answer(header: dict[str, object], tag: str) -> bool:
        """Answer the message if it should be; True when a reply went out."""
        kind = header.get("message-type", 0)
        sender = str(header.get("message-sender-id", ""))
        account = str(header.get("account", "/"))
        if kind == DELIVERY_REPORT or not sender:
            return False
        if kind == NOTICE:
            say(f"not replying to {sender}: an automatic message (notice){tag}")
            return False
        if header.get("scrollback"):
            say(f"not replying to {sender}: history from the archive{tag}")
            return False
        try:
            me = await own_address(account)
        except DBusError as error:
            say(f"not replying to {sender}: no account {account} ({error.text}){tag}")
            return False
        if sender.casefold() == me.casefold():
            say(f"not replying to {sender}: that is you{tag}")
            return False
        now = time.monotonic()
        last = answered.get((account, sender))
        if last is not None and now - last < interval:
            say(f"not replying to {sender}: answered {now - last:.0f} s ago{tag}")
            return False
        answered[(account, sender)] = now
        reply = [
            {"message-type": Variant("u", NOTICE)},
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)},
        ]
        try:
            token = await messages.call_send_message(account, sender, reply, 0)
        except DBusError as error:
            say(f"could not reply to {sender}: {error.type}: {error.text}{tag}")
            return False
        say(f"replied to {sender} ({token}){tag}")
        return True

    async def handle(header: dict[str, object], address: str, sequence: int) -> None:
        """Answer one numbered message and note it handled; after a reply the state is
        on the disk before the next message is taken, so a restart does not answer it
        again."""
        async with busy:
            replied = await answer(header, f" [#{sequence}]")
            state.handled[address] = sequence
            state.save(durable=replied)

    async def first_after(account: str, after: int) -> int | None:
        """The sequence of the first message after ``after``; None when there is none."""
        page = await messages.call_get_received(account, after, 1)
        return sequence_of(plain(page[0])) if page else None

    async def last_sequence(account: str) -> int:
        """The account's latest message-sequence (0: none). There is no call for it, but
        GetReceived(after=n, limit=1) says whether anything came after n: doubling the
        step, then halving the range, finds it in a few dozen tiny calls however long
        the history."""
        low = await first_after(account, 0)
        if low is None:
            return 0
        step, high = 1, None
        while high is None:  # low exists; is there anything after low + step?
            found = await first_after(account, low + step)
            if found is None:
                high = low + step
            else:
                low, step = found, step * 2
        while low < high:  # the latest is in [low, high]
            middle = (low + high) // 2
            found = await first_after(account, middle)
            if found is None:
                high = middle
            else:
                low = found
        return low

    async def catch_up(account: str, address: str) -> None:
        """Fetch and handle, oldest first, what the account received after the last
        message handled (a page at a time, one call in flight)."""
        after = state.handled[address]
        while True:
            try:
                page = await messages.call_get_received(account, after, PAGE)
            except DBusError as error:
                say(f"could not fetch missed messages of {address}: {error.type}: {error.text}")
                return
            before = after
            for parts in page:
                header = plain(parts)
                sequence = sequence_of(header)
                if sequence is None:
                    continue
                if sequence > state.handled[address]:
                    await handle(header, address, sequence)
                after = max(after, sequence)
            if len(page) < PAGE or after == before:
                return

    async def follow(accounts: dict[str, str]) -> None:
        """Catch up on every account, then handle the signals in order, skipping what was
        handled already and fetching what a jump in the numbers says was missed."""
        for account, address in accounts.items():
            await catch_up(account, address)
        while True:
            parts = await incoming.get()
            header = plain(parts)
            sequence = sequence_of(header)
            if sequence is None or not catches_up:  # a Chinwag before API 1.1
                await answer(header, "")
                continue
            account = str(header.get("account", "/"))
            try:
                address = await own_address(account)
            except DBusError as error:
                sender = header.get("message-sender-id", "")
                say(f"not replying to {sender}: no account {account} ({error.text})")
                continue
            if address not in state.handled:  # an account added since we started
                state.handled[address] = sequence - 1
            if sequence <= state.handled[address]:
                continue  # handled already: fetched with the catch-up or a gap
            if sequence > state.handled[address] + 1:
                await catch_up(account, address)  # we missed some: fetch them first
            if sequence > state.handled[address]:
                await handle(header, address, sequence)

    def on_message_received(message: list[dict[str, Variant]]) -> None:
        incoming.put_nowait(message)  # handled in order by follow()

    def on_name_owner_changed(name: str, old_owner: str, new_owner: str) -> None:
        if name == BUS_NAME and old_owner and not done.done():
            complain("Chinwag has left the bus")
            done.set_result(3)

    messages.on_message_received(on_message_received)
    dbus.on_name_owner_changed(on_name_owner_changed)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: done.done() or done.set_result(0))
    # dbus-next sends the subscriptions (match rules) without waiting; one more call
    # makes sure the bus has them -- and that Chinwag did not quit meanwhile. From here
    # on nothing is lost: what arrives waits in `incoming` while we catch up.
    if not await dbus.call_name_has_owner(BUS_NAME):
        complain("Chinwag is not running")
        return 3

    # Where each account starts: after the last message handled, as the state file says;
    # for an account it does not know, after --catch-up-from or else the latest message.
    # Never past the latest message (a new profile restarts the numbers).
    accounts: dict[str, str] = {}  # account path -> address
    if catches_up:
        for account in await messenger.get_accounts():
            try:
                address = await own_address(account)
                latest = await last_sequence(account)
            except DBusError as error:  # removed meanwhile
                say(f"could not look at account {account}: {error.type}: {error.text}")
                continue
            start = state.handled.get(address, catch_up_from)
            state.handled[address] = latest if start is None else min(start, latest)
            accounts[account] = address
        state.save(durable=True)
    else:
        complain("this Chinwag cannot fetch missed messages (no GetReceived): new ones only")

    worker = loop.create_task(follow(accounts))

    def worker_ended(task: asyncio.Task[None]) -> None:
        if task.cancelled() or done.done():
            return
        error = task.exception()
        if isinstance(error, StateError):
            complain(str(error))
            done.set_result(2)
        else:
            complain(f"stopped: {error!r}")
            done.set_result(1)

    worker.add_done_callback(worker_ended)
    complain("answering messages; Ctrl-C to stop")
    code = await done
    # Let the message in hand be finished (its reply sent, the state saved), then stop.
    finishing = loop.create_task(busy.acquire())
    await asyncio.wait([finishing], timeout=STOP_GRACE)
    finishing.cancel()
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
