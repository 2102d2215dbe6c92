# dbus-next 0.2.3 ships py.typed but leaves most methods unannotated.
# mypy: disable-error-code="no-untyped-call"
"""``chinwag-remote``: drives a running Chinwag over its D-Bus automation API.

A command-line front for shell scripts, in the spirit of ``purple-remote``: send a message,
open a conversation window, set or read your status, list contacts, sign in or out,
watch the API's signals as JSON lines, and catch up on the messages received meanwhile
(``received``, page by page with ``--all``). The API it speaks is the fixed contract in
``docs/automation-api.md``; its names, paths, statuses and flags come from
:mod:`chinwag.automation.constants`, which the server uses too.

Start-up is kept short: nothing but the standard library and those constants is imported
until a command needs the bus (``--help``, ``version`` and usage errors never load
dbus-next), and Qt is never imported. Calls carry ``NO_AUTO_START`` and the bus name is checked with
``NameHasOwner`` first, so a missing Chinwag is reported at once (exit 3) rather than
activated or waited for -- unless ``--start`` asks for it: then the bus starts Chinwag by
D-Bus activation (its service file runs ``chinwag --background``: in the tray, no window)
and the command runs once it is on the bus.

The pure parts -- :func:`parse_args`, :func:`parse_status`, :func:`status_name`,
:func:`parse_sequence`, :func:`parse_limit`, :func:`to_json`, :func:`signal_record`,
:func:`next_after`, :func:`contact_record`, :func:`delivery_outcome`,
:func:`message_parts` -- are plain functions with no bus.

Exit codes (:class:`Exit`): 0 success (S_FALSE included), 1 the API refused (or the
awaited outcome failed), 2 usage error, 3 Chinwag not running / no session bus, 4 timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import enum
import json
import math
import os
import select
import signal
import stat
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from chinwag.automation.constants import (
    ACCOUNT,
    BUS_NAME,
    CONTACT,
    DBUS_NAME,
    DBUS_PATH,
    ERROR_PREFIX,
    HRESULTS,
    MAIN_WINDOW_PATH,
    MESSAGE_TYPE_DELIVERY_REPORT,
    MESSAGES,
    MESSAGES_SIGNALS,
    MESSENGER,
    MESSENGER_PATH,
    MESSENGER_SIGNALS,
    PROPERTIES,
    RECEIVED_LIMIT,
    REPORT_DELIVERY,
    REPORT_READ,
    S_FALSE,
    UNKNOWN_OBJECT,
    WINDOW,
    DeliveryStatus,
    MessageType,
    MiStatus,
)

if TYPE_CHECKING:
    from dbus_next.aio.message_bus import MessageBus
    from dbus_next.message import Message

PROG = "chinwag-remote"

#: How long a single method call may take before we give up (the D-Bus default).
CALL_TIMEOUT = 25.0
#: Default for ``--timeout`` of the commands that ``--wait``.
WAIT_TIMEOUT = 60.0
#: Contact property reads in flight at once in ``contacts`` (a roster may have thousands).
CONTACT_READS_IN_FLIGHT = 256
#: The largest ``message-sequence`` (D-Bus ``x``).
MAX_SEQUENCE = 2**63 - 1


class Exit(enum.IntEnum):
    """The exit codes a script can rely on."""

    OK = 0
    REFUSED = 1  # the API refused; or the outcome awaited with --wait failed
    USAGE = 2  # bad arguments (argparse)
    NOT_RUNNING = 3  # Chinwag is not running or left the bus; no session bus
    TIMEOUT = 4  # --wait (or a call) ran out of time
    INTERRUPTED = 130  # Ctrl-C (except in watch, which ends with 0)


EXIT_CODES_HELP = """\
exit status:
  0    success; also when the API answered S_FALSE ("nothing to do": already in that
       state, window already closed, ...), which only -v mentions on stderr
  1    the API refused the request; stderr says "chinwag-remote: <ErrorName>: <message>",
       e.g. "chinwag-remote: NotLoggedOn: 0x8100031E: not signed in"; also when what
       --wait waits for failed (message not delivered, sign-in refused)
  2    usage error (bad command line)
  3    Chinwag is not running (nobody owns im.chinwag.Chinwag on the session bus; with
       --start: the bus could not start it), it left the bus while we waited, or there
       is no session bus
  4    timed out: --wait ran past --timeout, or Chinwag did not answer a call
  130  interrupted with Ctrl-C (watch ends with 0 on Ctrl-C or SIGTERM instead)
"""


class RemoteFailure(Exception):
    """A failure to report on stderr as ``chinwag-remote: <message>`` with an exit code.

    ``error_name`` is the D-Bus error name when the failure is an error reply.
    """

    def __init__(self, code: Exit, message: str, error_name: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.error_name = error_name


# --------------------------------------------------------------------------- statuses

#: MISTATUS values (spec section 3) by the names chinwag-remote reads and prints
#: (``be-right-back`` for BE_RIGHT_BACK).
STATUS_VALUES: dict[str, int] = {
    status.name.lower().replace("_", "-"): int(status) for status in MiStatus
}
#: Other spellings accepted on the command line.
STATUS_ALIASES: dict[str, str] = {
    "brb": "be-right-back",
    "phone": "on-the-phone",
    "lunch": "out-to-lunch",
    "appear-offline": "invisible",
    "local-connecting-to-server": "connecting",
}
#: Names that describe a state but cannot be set.
UNSETTABLE_STATUSES = frozenset({"unknown", "connecting"})
_STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}
_NOT_ONLINE = frozenset({STATUS_VALUES["unknown"], STATUS_VALUES["offline"]})


def parse_status(text: str) -> int:
    """The MISTATUS for a status given on the command line.

    Accepts the names (``online``, ``busy``, ``brb``/``be-right-back``, ``away``,
    ``phone``/``on-the-phone``, ``lunch``/``out-to-lunch``, ``invisible``/``appear-offline``,
    ``offline``, ``idle``) in any case, with ``-``, ``_`` or spaces between words (so the
    spec's ``BE_RIGHT_BACK`` works too), or a number (``34``, ``0x22``). Raises
    :class:`ValueError` with a message for anything else.
    """
    key = "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    key = STATUS_ALIASES.get(key, key)
    if key in STATUS_VALUES:
        if key in UNSETTABLE_STATUSES:
            raise ValueError(f"{text!r} is a state Chinwag reports, not one you can set")
        return STATUS_VALUES[key]
    try:
        value = int(text.strip(), 0)
    except ValueError:
        settable = [n for n in STATUS_VALUES if n not in UNSETTABLE_STATUSES]
        names = ", ".join([*settable, *(a for a, n in STATUS_ALIASES.items() if n in settable)])
        raise ValueError(f"unknown status {text!r} (one of: {names}; or a number)") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"status {text!r} is out of range for a MISTATUS (u)")
    return value


def status_name(value: int) -> str:
    """The name ``chinwag-remote`` prints for a MISTATUS (``0x22`` -> ``away``);
    a value the spec does not name prints as hex (``0x99``)."""
    return _STATUS_NAMES.get(value, f"0x{value:X}")


def is_online(value: int) -> bool:
    """True for every status but UNKNOWN and OFFLINE (what ``contacts --online`` keeps)."""
    return value not in _NOT_ONLINE


# --------------------------------------------------------------------------- signals


def parse_signal_names(text: str) -> list[str]:
    """``--signal`` values: one or more comma-separated signal names of the API
    (exact spelling, e.g. ``MessageReceived,OnSignin``). Raises :class:`ValueError`."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("empty signal name")
    known = {*MESSENGER_SIGNALS, *MESSAGES_SIGNALS}
    for name in names:
        if name not in known:
            by_case = {k.lower(): k for k in known}
            hint = by_case.get(name.lower())
            raise ValueError(
                f"unknown signal {name!r}"
                + (f" (did you mean {hint}?)" if hint else "; see 'chinwag-remote watch -h'")
            )
    return names


def to_json(value: Any) -> Any:
    """A dbus-next value as plain JSON data.

    A ``Variant`` becomes its value; a dict (``a{sv}`` and any other ``a{..}``) an object
    whose keys are strings (non-string keys as their JSON text: ``1`` -> ``"1"``); bytes
    (``ay``) a base64 string; structs and arrays lists; a float that JSON cannot carry
    (NaN, infinity) null. Object paths and signatures are strings already.
    """
    from dbus_next.signature import Variant

    if isinstance(value, Variant):
        return to_json(value.value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {
            key if isinstance(key, str) else json.dumps(to_json(key)): to_json(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return str(value)


def signal_record(member: str, interface: str, path: str, body: Sequence[Any]) -> dict[str, Any]:
    """What ``watch`` prints for one signal (as one JSON line)."""
    return {
        "signal": member,
        "interface": interface,
        "path": path,
        "args": [to_json(arg) for arg in body],
    }


def json_line(record: Any) -> str:
    """One line of JSON (non-ASCII kept as is, no line breaks inside)."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


# --------------------------------------------------------------------------- messages


MESSAGE_TYPES = {
    "normal": int(MessageType.NORMAL),
    "action": int(MessageType.ACTION),
    "notice": int(MessageType.NOTICE),
}
#: ``send --wait`` choices and the SendMessage flags each one asks for.
WAIT_FLAGS = {
    "none": 0,
    "sent": 0,
    "delivered": REPORT_DELIVERY,
    "read": REPORT_DELIVERY | REPORT_READ,
}

DELIVERED, TEMPORARILY_FAILED, PERMANENTLY_FAILED, ACCEPTED, READ, DELETED = DeliveryStatus
DELIVERY_STATUS_NAMES: dict[int, str] = {
    int(status): status.name.lower().replace("_", " ") for status in DeliveryStatus
}
#: Delivery-report statuses that satisfy each ``--wait`` level.
_REACHED = {
    "sent": frozenset({DELIVERED, ACCEPTED, READ, DELETED}),
    "delivered": frozenset({DELIVERED, READ, DELETED}),
    "read": frozenset({READ}),
}
#: ... and those that mean it never will be.
_FAILED = {
    "sent": frozenset({PERMANENTLY_FAILED}),
    "delivered": frozenset({PERMANENTLY_FAILED}),
    "read": frozenset({PERMANENTLY_FAILED, DELETED}),
}


def message_parts(text: str, message_type: str = "normal") -> list[dict[str, Any]]:
    """The Telepathy message (``aa{sv}``) for a plain-text message: a header part with
    ``message-type`` and one ``text/plain`` part."""
    from dbus_next.signature import Variant

    return [
        {"message-type": Variant("u", MESSAGE_TYPES[message_type])},
        {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)},
    ]


def delivery_outcome(wait: str, status: int) -> bool | None:
    """Whether a delivery report with ``status`` settles ``send --wait WAIT``: True when
    it is reached, False when it never will be, None when it is still open (e.g.
    *accepted* while waiting for *delivered*, or *temporarily failed*)."""
    if status in _REACHED[wait]:
        return True
    if status in _FAILED[wait]:
        return False
    return None


def parse_sequence(text: str) -> int:
    """``received --after``: a ``message-sequence`` as a decimal integer, 0 or more (0:
    from the first message). Raises :class:`ValueError` with a message for anything else."""
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise ValueError(f"not a message sequence: {text!r} (a whole number, 0 or more)") from None
    if not 0 <= value <= MAX_SEQUENCE:
        raise ValueError(f"message sequence {text!r} is out of range (0 to {MAX_SEQUENCE})")
    return value


def parse_limit(text: str) -> int:
    """``received --limit``: how many messages one GetReceived may answer, 1 to
    :data:`RECEIVED_LIMIT` (the spec's range). Raises :class:`ValueError`."""
    try:
        value = int(text.strip(), 10)
    except ValueError:
        value = 0
    if not 1 <= value <= RECEIVED_LIMIT:
        raise ValueError(f"not a limit from 1 to {RECEIVED_LIMIT}: {text!r}")
    return value


def next_after(after: int, message: Any) -> int:
    """The ``after`` of the GetReceived that follows a page whose last message is
    ``message`` (as :func:`to_json` made it): its header's ``message-sequence``. Raises
    :class:`ValueError` when it has none or it is not past ``after`` (paging on would not
    end)."""
    header = message[0] if isinstance(message, list) and message else None
    sequence = header.get("message-sequence") if isinstance(header, dict) else None
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ValueError("a received message without a message-sequence")
    if sequence <= after:
        raise ValueError(f"message-sequence {sequence} after asking for those after {after}")
    return sequence


def resolve_text(words: Sequence[str], stdin: TextIO) -> str:
    """The message text: the words joined by spaces, or standard input when there are
    none or the only one is ``-`` (trailing line breaks dropped)."""
    if not words or list(words) == ["-"]:
        return stdin.read().rstrip("\r\n")
    return " ".join(words)


# --------------------------------------------------------------------------- contacts


def _one_line(text: str) -> str:
    return " ".join(text.replace("\t", " ").splitlines()) if text else ""


def contact_record(path: str, props: dict[str, Any]) -> dict[str, Any]:
    """A contact's Contact1 properties (as ``GetAll`` gives them, Variants or plain) as
    the object ``contacts --json`` prints."""
    plain = to_json(props)
    status = int(plain.get("Status", 0))
    return {
        "address": plain.get("SigninName", ""),
        "status": status_name(status),
        "status_value": status,
        "friendly_name": plain.get("FriendlyName", ""),
        "status_message": plain.get("StatusMessage", ""),
        "blocked": bool(plain.get("Blocked", False)),
        "path": path,
    }


def contact_line(record: dict[str, Any]) -> str:
    """The tab-separated line ``contacts`` prints: address, status, friendly name, status
    message (tabs and line breaks inside a field become spaces)."""
    fields = ("address", "status", "friendly_name", "status_message")
    return "\t".join(_one_line(str(record[field])) for field in fields)


# --------------------------------------------------------------------------- errors


def failure_from_error(name: str, text: str) -> RemoteFailure:
    """The :class:`RemoteFailure` for a D-Bus error reply."""

    if name.startswith(ERROR_PREFIX):
        short = name[len(ERROR_PREFIX) :]
        return RemoteFailure(Exit.REFUSED, f"{short}: {text}", name)
    if name in (
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
    ):
        return RemoteFailure(Exit.NOT_RUNNING, "Chinwag is not running", name)
    if name == "org.freedesktop.DBus.Error.NoReply":
        if "disconnected" in text.lower():
            return RemoteFailure(Exit.NOT_RUNNING, "Chinwag left the bus without answering", name)
        return RemoteFailure(Exit.TIMEOUT, f"Chinwag did not answer ({text})", name)
    if name in ("org.freedesktop.DBus.Error.Timeout", "org.freedesktop.DBus.Error.TimedOut"):
        return RemoteFailure(Exit.TIMEOUT, f"Chinwag did not answer ({text})", name)
    return RemoteFailure(Exit.REFUSED, f"{name}: {text}", name)


def failure_from_hr(hr: int, what: str) -> RemoteFailure:
    """The :class:`RemoteFailure` for a failed ``hr`` of an event (e.g. ``OnSignin``):
    ``InvalidPassword: 0x81000303: sign-in failed``."""

    unsigned = hr & 0xFFFFFFFF
    # dict order puts Fail before the other E_FAIL names
    name = next((n for n, v in HRESULTS.items() if v == unsigned), "Fail")
    return RemoteFailure(Exit.REFUSED, f"{name}: 0x{unsigned:08X}: {what}", name)


# --------------------------------------------------------------------------- arguments


def _status_arg(text: str) -> int:
    try:
        return parse_status(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _signals_arg(text: str) -> list[str]:
    try:
        return parse_signal_names(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _sequence_arg(text: str) -> int:
    try:
        return parse_sequence(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _limit_arg(text: str) -> int:
    try:
        return parse_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return value


def _version() -> str:
    from chinwag import __version__

    return f"{PROG} {__version__}"


def _add_common_options(
    parser: argparse.ArgumentParser,
    *,
    default_verbose: Any,
    default_address: Any,
    default_start: Any,
) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default_verbose,
        help="also report S_FALSE answers and progress on stderr",
    )
    parser.add_argument(
        "--bus-address",
        metavar="ADDRESS",
        default=default_address,
        help="D-Bus address to use instead of the session bus",
    )
    parser.add_argument(
        "--start",
        action="store_true",
        default=default_start,
        help="start Chinwag through the bus (D-Bus activation, in the tray) when it is not "
        "running, instead of failing with exit status 3",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options, one subcommand per API action."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=formatter,
        description="Drive a running Chinwag from the command line (its D-Bus automation API).",
        epilog=EXIT_CODES_HELP,
    )
    _add_common_options(parser, default_verbose=False, default_address=None, default_start=False)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=formatter,
        )
        # -v, --bus-address and --start also work after the command; SUPPRESS keeps
        # the subcommand from resetting a value given before it.
        _add_common_options(
            sub,
            default_verbose=argparse.SUPPRESS,
            default_address=argparse.SUPPRESS,
            default_start=argparse.SUPPRESS,
        )
        return sub

    send = command(
        "send",
        "send a one-off message",
        "Send a message without opening a window (Messages1.SendMessage); print its token.\n"
        "TEXT is the remaining arguments joined by spaces, or standard input when it is\n"
        "omitted or '-' (trailing line breaks dropped). With --wait, wait until the server\n"
        "took it (sent), the recipient's client confirmed it (delivered) or it was read.",
    )
    send.add_argument("address", metavar="ADDRESS", help="the recipient's XMPP address")
    send.add_argument("text", metavar="TEXT", nargs="*", help="the message ('-': stdin)")
    send.add_argument(
        "--account",
        metavar="JID_OR_PATH",
        help="send from this account (its address or object path); default: the primary one",
    )
    send.add_argument(
        "--wait",
        choices=tuple(WAIT_FLAGS),
        default="none",
        help="what to wait for after the message is stored (default: none)",
    )
    send.add_argument(
        "--timeout",
        type=_seconds_arg,
        default=WAIT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up waiting after this long, exit 4 (default {WAIT_TIMEOUT:g}; 0: never)",
    )
    send.add_argument(
        "--type",
        choices=tuple(MESSAGE_TYPES),
        default="normal",
        help="Telepathy message type (default: normal)",
    )

    open_ = command(
        "open",
        "open a conversation window",
        "Open (or raise) a conversation window with ADDRESS; print the window's object path.",
    )
    open_.add_argument(
        "address", metavar="ADDRESS", help="an XMPP address, or a contact object path"
    )

    status = command(
        "status",
        "show or set your status",
        "Without arguments, print your status and status message (tab-separated).\n"
        "With STATUS, set it; the status message becomes MESSAGE, or is cleared when\n"
        "MESSAGE is omitted. STATUS is one of: online, busy, brb (be-right-back), away,\n"
        "phone (on-the-phone), lunch (out-to-lunch), invisible (appear-offline), idle,\n"
        "offline; or a MISTATUS number (0x22).",
    )
    status.add_argument("status", metavar="STATUS", nargs="?", type=_status_arg)
    status.add_argument("message", metavar="MESSAGE", nargs="*", help="the status message")

    contacts = command(
        "contacts",
        "list your contacts",
        "List the primary account's contacts, one a line: address, status, friendly name,\n"
        "status message, separated by tabs (--json: one JSON object a line).",
    )
    contacts.add_argument("--online", action="store_true", help="only contacts not offline")
    contacts.add_argument("--json", action="store_true", help="JSON lines instead of tabs")

    signin = command(
        "signin",
        "sign in",
        "Without ADDRESS, sign in every enabled saved account (AutoSignin). With ADDRESS,\n"
        "sign in that account, adding it as primary if it is new; the password comes from\n"
        "PASSWORD, or is read from standard input (prompted for, not echoed, on a terminal)\n"
        "when PASSWORD is omitted or '-'. Prefer stdin: arguments are visible to other users.\n"
        "With --local, chat on this network with no server (XEP-0174): no ADDRESS needed.",
    )
    signin.add_argument("address", metavar="ADDRESS", nargs="?")
    signin.add_argument(
        "--local",
        action="store_true",
        help="chat on this network with no server (SigninWithOptions link-local)",
    )
    signin.add_argument("password", metavar="PASSWORD", nargs="?")
    signin.add_argument("--host", help="server host to connect to (bypasses DNS)")
    signin.add_argument("--port", type=_port_arg, help="server port (bypasses DNS)")
    signin.add_argument(
        "--register", action="store_true", help="create the account on the server first"
    )
    signin.add_argument(
        "--no-remember", action="store_true", help="do not keep the password in the keyring"
    )
    signin.add_argument("--resource", help="XMPP resource to use")
    signin.add_argument(
        "--trusted-fingerprint",
        metavar="SHA256",
        help="pin a self-signed server certificate by its SHA-256 fingerprint (hex)",
    )
    signin.add_argument(
        "--wait", action="store_true", help="wait for the outcome (OnSignin); exit 1 if refused"
    )
    signin.add_argument(
        "--timeout",
        type=_seconds_arg,
        default=WAIT_TIMEOUT,
        metavar="SECONDS",
        help=f"with --wait: give up after this long, exit 4 (default {WAIT_TIMEOUT:g}; 0: never)",
    )

    command("signout", "sign every account out")

    watch = command(
        "watch",
        "print the API's signals as JSON lines",
        "Print every signal of im.chinwag.Messenger1 and im.chinwag.Messages1 as one JSON\n"
        'object a line: {"signal": ..., "interface": ..., "path": ..., "args": [...]}\n'
        "(variants as their values, a{sv} as objects, bytes as base64). Ends with 0 on\n"
        "Ctrl-C, SIGTERM or when the reader of stdout goes away; with 3 when Chinwag\n"
        "leaves the bus.\n\nsignals: " + ", ".join((*MESSENGER_SIGNALS, *MESSAGES_SIGNALS)),
    )
    watch.add_argument(
        "--signal",
        dest="signals",
        metavar="NAME",
        type=_signals_arg,
        action="extend",
        help="only this signal (repeat, or separate names with commas)",
    )

    received = command(
        "received",
        "catch up on received messages (JSON lines)",
        "Print the messages and delivery reports the account received whose message-sequence\n"
        "is greater than --after (Messages1.GetReceived), oldest first, one JSON line each,\n"
        "in the shape 'watch' prints a MessageReceived's argument: [header, part, ...]\n"
        "(variants as their values). The header's message-sequence counts 1, 2, 3, ... per\n"
        "account and is kept across restarts: the last line's is the next run's --after.\n"
        "Without --all, one call: at most --limit lines. With --all, call again until\n"
        "nothing is left.",
    )
    received.add_argument(
        "--after",
        type=_sequence_arg,
        default=0,
        metavar="N",
        help="only those with a message-sequence greater than N (default 0: from the first)",
    )
    received.add_argument(
        "--limit",
        type=_limit_arg,
        default=RECEIVED_LIMIT,
        metavar="N",
        help=f"at most N per call, 1 to {RECEIVED_LIMIT} (default {RECEIVED_LIMIT})",
    )
    received.add_argument(
        "--account",
        metavar="JID_OR_PATH",
        help="this account's (its address or object path); default: the primary one",
    )
    received.add_argument(
        "--all",
        action="store_true",
        help="page through everything after --after, --limit per call, until none is left",
    )

    quit_ = command(
        "quit", "quit Chinwag", "Ask Chinwag to sign out cleanly and exit (Messenger1.Quit)."
    )
    quit_.add_argument("--wait", action="store_true", help="wait until Chinwag has left the bus")
    quit_.add_argument(
        "--timeout",
        type=_seconds_arg,
        default=WAIT_TIMEOUT,
        metavar="SECONDS",
        help=f"with --wait: give up after this long, exit 4 (default {WAIT_TIMEOUT:g}; 0: never)",
    )

    command("show", "show and raise the main window")
    command("version", "print chinwag-remote's version")
    _add_gateway_key_commands(commands, formatter)
    return parser


def _add_gateway_key_commands(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """``gateway-key create|list|revoke``: the script gateways' keys (no bus needed)."""
    gateway = commands.add_parser(
        "gateway-key",
        help="create, list or revoke the keys of the script gateways",
        description=(
            "The keys scripts use with the XML-RPC and REST gateways (never your XMPP password).\n"
            "A key is shown once, when it is made; Chinwag keeps only a digest of it, in\n"
            "gateway-keys.json in its settings folder (readable by you alone). A running\n"
            "Chinwag takes a new or revoked key into account at its next request."
        ),
        formatter_class=formatter,
    )
    actions = gateway.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key and print it (once)")
    create.add_argument("account", metavar="ACCOUNT", help="the account it sends as (bare address)")
    create.add_argument(
        "--kind",
        choices=("xmlrpc", "rest"),
        required=True,
        help="xmlrpc: the LiveJournal XML-RPC gateway; rest: the UCWA REST gateway",
    )
    create.add_argument(
        "--scope",
        action="append",
        choices=("Conversations.Initiate", "Conversations.Receive"),
        help="REST only, repeatable: what the key may do (default: both)",
    )
    create.add_argument("--label", default="", help="a note to recognise the key by")
    listing = actions.add_parser("list", help="list the keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", metavar="ID", help="the key's id, as list shows it")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a command line (without the program name). Usage errors exit with 2
    (``SystemExit``), like every argparse program."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command == "signin":
        server_flags = [
            flag
            for flag, value in (
                ("--host", args.host),
                ("--port", args.port),
                ("--register", args.register),
                ("--no-remember", args.no_remember),
                ("--resource", args.resource),
                ("--trusted-fingerprint", args.trusted_fingerprint),
            )
            if value
        ]
        if args.local:
            extra = (["ADDRESS"] if args.address else []) + server_flags
            if extra:
                parser.error(f"signin --local: no server, so no {', '.join(extra)}")
        elif args.address is None and server_flags:
            parser.error(f"signin: {', '.join(server_flags)} needs an ADDRESS")
    return args


def signin_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``a{sv}`` options of SigninWithOptions from ``signin``'s flags (empty when
    none is given, meaning plain ``Signin``)."""
    from dbus_next.signature import Variant

    options: dict[str, Any] = {}
    if args.host:
        options["host"] = Variant("s", args.host)
    if args.port:
        options["port"] = Variant("u", args.port)
    if args.register:
        options["register"] = Variant("b", True)
    if args.no_remember:
        options["remember"] = Variant("b", False)
    if args.resource:
        options["resource"] = Variant("s", args.resource)
    if args.trusted_fingerprint:
        options["trusted_fingerprint"] = Variant("s", args.trusted_fingerprint)
    return options


# --------------------------------------------------------------------------- the bus


class _Marker(enum.Enum):
    """Items of the event queue that are not signals."""

    GONE = "Chinwag left the bus"
    BUS_LOST = "lost the connection to the session bus"
    STOP = "stop"


@dataclass
class Remote:
    """A connection to the running Chinwag: calls with timeouts and errors mapped to
    :class:`RemoteFailure`, and the signals subscribed to, in one queue."""

    bus: MessageBus
    verbose: bool = False

    def __post_init__(self) -> None:
        self.events: asyncio.Queue[Message | _Marker] = asyncio.Queue()
        self._interfaces: set[str] = set()
        self._watching = False
        self._disconnect_watch: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, address: str | None, *, verbose: bool = False, start: bool = False
    ) -> Remote:
        """Connect to the bus and make sure Chinwag is on it (exit 3 otherwise); with
        ``start``, have the bus start it first when it is not running."""
        from chinwag.automation.bus import connect_session_bus

        try:
            bus = await asyncio.wait_for(connect_session_bus(address), CALL_TIMEOUT)
        except TimeoutError:
            raise RemoteFailure(Exit.NOT_RUNNING, "the session bus did not answer") from None
        except Exception as error:
            where = f"the bus at {address}" if address else "the session bus"
            raise RemoteFailure(
                Exit.NOT_RUNNING, f"cannot connect to {where}: {_describe(error)}"
            ) from None
        remote = cls(bus, verbose)
        try:
            if start:
                await remote.start_service()
            else:
                await remote.ensure_running()
        except BaseException:
            await remote.close()
            raise
        return remote

    async def ensure_running(self) -> None:
        """Raise exit 3 unless somebody owns the bus name (asked of the bus daemon, so a
        missing Chinwag is neither activated nor waited for)."""

        (running,) = await self.call_bus("NameHasOwner", "s", [BUS_NAME])
        if not running:
            raise RemoteFailure(
                Exit.NOT_RUNNING,
                f"Chinwag is not running (nobody owns {BUS_NAME} on the session bus)",
            )

    async def start_service(self) -> None:
        """``--start``: ask the bus daemon to start Chinwag (StartServiceByName: D-Bus
        activation from its service file) unless it runs; returns once it owns the bus
        name. Exit 3 when the bus cannot start it (no service file installed, the
        program failed), exit 4 when it did not come up in time."""

        try:
            (outcome,) = await self.call_bus("StartServiceByName", "su", [BUS_NAME, 0])
        except RemoteFailure as failure:
            if failure.error_name == "org.freedesktop.DBus.Error.ServiceUnknown":
                raise RemoteFailure(
                    Exit.NOT_RUNNING,
                    f"Chinwag is not running and the bus cannot start it: no D-Bus service "
                    f"file for {BUS_NAME} (packaging/install.sh installs one)",
                    failure.error_name,
                ) from None
            if failure.code == Exit.TIMEOUT:
                raise
            raise RemoteFailure(
                Exit.NOT_RUNNING,
                f"the bus could not start Chinwag: {failure.message}",
                failure.error_name,
            ) from None
        self.note("started Chinwag" if outcome == 1 else "Chinwag was running already")

    async def close(self) -> None:
        """Close the connection completely."""
        from chinwag.automation.bus import close_message_bus

        if self._disconnect_watch is not None:
            self._disconnect_watch.cancel()
            await asyncio.wait([self._disconnect_watch])  # never raises
        if self._watching:
            self.bus.remove_message_handler(self._on_message)
        await close_message_bus(self.bus)

    def note(self, text: str) -> None:
        """Say something on stderr when -v is given."""
        if self.verbose:
            sys.stderr.write(f"{PROG}: {text}\n")
            sys.stderr.flush()

    # calls -----------------------------------------------------------------

    async def call(
        self,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: Sequence[Any] = (),
        *,
        destination: str | None = None,
    ) -> list[Any]:
        """Call a method of Chinwag (or of ``destination``); return the reply's body."""
        from dbus_next.constants import MessageFlag, MessageType
        from dbus_next.message import Message

        try:
            message = Message(
                destination=destination or BUS_NAME,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=list(body),
                flags=MessageFlag.NO_AUTOSTART,
            )
        except Exception as error:  # a value dbus-next cannot marshal, e.g. a bad path
            raise RemoteFailure(Exit.USAGE, f"{member}: {_describe(error)}") from None
        try:
            reply = await asyncio.wait_for(self.bus.call(message), CALL_TIMEOUT)
        except TimeoutError:
            raise RemoteFailure(
                Exit.TIMEOUT, f"no answer to {member} within {CALL_TIMEOUT:g} s"
            ) from None
        except (OSError, EOFError) as error:
            raise RemoteFailure(
                Exit.NOT_RUNNING, f"lost the connection to the session bus ({_describe(error)})"
            ) from None
        if reply is None:  # pragma: no cover - only for NO_REPLY_EXPECTED
            return []
        if reply.message_type == MessageType.ERROR:
            text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
            raise failure_from_error(reply.error_name or "", text)
        return list(reply.body)

    async def call_bus(self, member: str, signature: str = "", body: Sequence[Any] = ()) -> Any:
        """Call a method of the bus daemon itself."""
        return await self.call(DBUS_PATH, DBUS_NAME, member, signature, body, destination=DBUS_NAME)

    async def call_hr(
        self, path: str, interface: str, member: str, signature: str = "", body: Sequence[Any] = ()
    ) -> int:
        """Call a method that returns ``i hr``; note an S_FALSE with -v."""

        (hr,) = await self.call(path, interface, member, signature, body)
        if hr == S_FALSE:
            self.note(f"{member}: S_FALSE ({_S_FALSE_MEANS.get(member, 'nothing done')})")
        return int(hr)

    async def get(self, path: str, interface: str, name: str) -> Any:
        """A property's value (the Variant unwrapped)."""
        (value,) = await self.call(path, PROPERTIES, "Get", "ss", [interface, name])
        return value.value

    async def get_all(self, path: str, interface: str) -> dict[str, Any]:
        """All properties of an interface, as Variants."""
        (values,) = await self.call(path, PROPERTIES, "GetAll", "s", [interface])
        return dict(values)

    # signals ---------------------------------------------------------------

    async def subscribe(self, interface: str, members: Iterable[str] = ()) -> None:
        """Queue Chinwag's signals of ``interface`` (only ``members`` when given) from now
        on in :attr:`events`, and notice when Chinwag leaves the bus.

        Call it before the method whose outcome arrives as a signal, so no signal can
        slip between the call and the subscription.
        """

        if not self._watching:
            self._watching = True
            self.bus.add_message_handler(self._on_message)
            self._disconnect_watch = asyncio.ensure_future(self._watch_disconnect())
            await self._add_match(
                f"type='signal',sender='{DBUS_NAME}',path='{DBUS_PATH}',"
                f"interface='{DBUS_NAME}',member='NameOwnerChanged',arg0='{BUS_NAME}'"
            )
        rule = f"type='signal',sender='{BUS_NAME}',interface='{interface}'"
        for rule_ in [f"{rule},member='{m}'" for m in members] or [rule]:
            await self._add_match(rule_)
        self._interfaces.add(interface)
        # Chinwag may have gone between the first check and the NameOwnerChanged rule.
        (running,) = await self.call_bus("NameHasOwner", "s", [BUS_NAME])
        if not running:
            self.events.put_nowait(_Marker.GONE)

    async def _add_match(self, rule: str) -> None:
        await self.call_bus("AddMatch", "s", [rule])

    async def _watch_disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self.bus.wait_for_disconnect()
        self.events.put_nowait(_Marker.BUS_LOST)

    def _on_message(self, message: Message) -> None:
        from dbus_next.constants import MessageType

        if message.message_type != MessageType.SIGNAL:
            return
        if message.interface in self._interfaces:
            # the match rules already restrict these to the owner of BUS_NAME
            self.events.put_nowait(message)
        elif (
            message.sender == DBUS_NAME
            and message.member == "NameOwnerChanged"
            and len(message.body) == 3
            and message.body[0] == BUS_NAME
            and message.body[1]  # it had an owner, which is now gone or replaced
        ):
            self.events.put_nowait(_Marker.GONE)

    async def next_event(self, deadline: float | None, waiting_for: str) -> Message | _Marker:
        """The next queued signal, or STOP. Raises exit 3 if Chinwag or the bus went
        away, exit 4 at ``deadline`` (loop time)."""
        loop = asyncio.get_running_loop()
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            item = await asyncio.wait_for(self.events.get(), timeout)
        except TimeoutError:
            raise RemoteFailure(Exit.TIMEOUT, f"timed out waiting for {waiting_for}") from None
        if item is _Marker.GONE or item is _Marker.BUS_LOST:
            raise RemoteFailure(Exit.NOT_RUNNING, f"{item.value} while waiting for {waiting_for}")
        return item


_S_FALSE_MEANS = {
    "InstantMessage": "the window was closed again before the call returned",
    "SetStatus": "already in that state",
    "Signin": "already signed in or signing in",
    "SigninWithOptions": "already signed in or signing in",
    "AutoSignin": "already signed in or signing in",
    "Signout": "no account was signed in",
    "Show": "the window is closed",
}


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _deadline(timeout: float) -> float | None:
    return None if timeout == 0 else asyncio.get_running_loop().time() + timeout


def emit(line: str) -> None:
    """Write one line to stdout and flush it (a BrokenPipeError ends the program, 0)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- commands


async def resolve_account(remote: Remote, account: str | None) -> str:
    """The account object path for ``--account`` (``/`` for the primary account)."""

    if not account:
        return "/"
    if account.startswith("/"):
        from dbus_next.validators import is_object_path_valid

        if not is_object_path_valid(account):
            raise RemoteFailure(Exit.USAGE, f"not an object path: {account!r}")
        return account
    paths = await remote.get(MESSENGER_PATH, MESSENGER, "Accounts")
    names = await asyncio.gather(*(remote.get(p, ACCOUNT, "SigninName") for p in paths))
    wanted = account.strip().casefold()
    for path, name in zip(paths, names, strict=True):
        if str(name).casefold() == wanted:
            return str(path)
    known = ", ".join(names) or "none"
    raise RemoteFailure(Exit.REFUSED, f"no account {account!r} in Chinwag (accounts: {known})")


async def run_send(remote: Remote, args: argparse.Namespace) -> Exit:
    """``send``: SendMessage, print the token, optionally wait for its fate."""

    account = await resolve_account(remote, args.account)
    if (not args.text or args.text == ["-"]) and sys.stdin.isatty():
        sys.stderr.write(f"{PROG}: type the message, then Ctrl-D\n")
    text = resolve_text(args.text, sys.stdin)
    if not text:
        raise RemoteFailure(Exit.USAGE, "nothing to send: the message is empty")
    if args.wait != "none":  # before SendMessage: a report may beat its reply
        await remote.subscribe(MESSAGES, ("MessageSent", "MessageReceived"))
    (token,) = await remote.call(
        MESSENGER_PATH,
        MESSAGES,
        "SendMessage",
        "osaa{sv}u",
        [account, args.address, message_parts(text, args.type), WAIT_FLAGS[args.wait]],
    )
    emit(token)
    if args.wait == "none":
        return Exit.OK
    deadline = _deadline(args.timeout)
    waiting_for = f"the message to be {args.wait}"
    while True:
        event = await remote.next_event(deadline, waiting_for)
        if not isinstance(event, _Marker) and event.member == "MessageSent":
            if len(event.body) == 3 and event.body[2] == token:
                remote.note(f"{token}: sent")
                if args.wait == "sent":
                    return Exit.OK
            continue
        if isinstance(event, _Marker) or event.member != "MessageReceived" or not event.body:
            continue
        header = to_json(event.body[0][0]) if event.body[0] else {}
        if (
            header.get("message-type") != MESSAGE_TYPE_DELIVERY_REPORT
            or header.get("delivery-token") != token
        ):
            continue
        status = int(header.get("delivery-status", 0))
        outcome = delivery_outcome(args.wait, status)
        remote.note(f"{token}: {DELIVERY_STATUS_NAMES.get(status, status)}")
        if outcome is True:
            return Exit.OK
        if outcome is False:
            reason = header.get("delivery-error-message") or DELIVERY_STATUS_NAMES[status]
            raise RemoteFailure(Exit.REFUSED, f"not {args.wait}: {reason}")
        if status == TEMPORARILY_FAILED:
            reason = header.get("delivery-error-message") or "temporarily failed"
            sys.stderr.write(f"{PROG}: {token}: {reason}; still waiting\n")


async def run_open(remote: Remote, args: argparse.Namespace) -> Exit:
    """``open``: InstantMessage, print the window path."""
    from dbus_next.signature import Variant

    kind = "o" if args.address.startswith("/") else "s"
    contact = Variant(kind, args.address)
    hr, window = await remote.call(MESSENGER_PATH, MESSENGER, "InstantMessage", "v", [contact])
    if hr == S_FALSE:
        remote.note(f"InstantMessage: S_FALSE ({_S_FALSE_MEANS['InstantMessage']})")
    emit(window)
    return Exit.OK


async def run_status(remote: Remote, args: argparse.Namespace) -> Exit:
    """``status``: print the current status, or SetStatus."""

    if args.status is not None:
        message = " ".join(args.message)
        await remote.call_hr(MESSENGER_PATH, MESSENGER, "SetStatus", "us", [args.status, message])
        return Exit.OK
    value = int(await remote.get(MESSENGER_PATH, MESSENGER, "MyStatus"))
    address = await remote.get(MESSENGER_PATH, MESSENGER, "MySigninName")
    message = ""
    if address:  # the status message lives on the self contact
        (me,) = await remote.call(MESSENGER_PATH, MESSENGER, "GetContact", "ss", [address, ""])
        message = str(await remote.get(me, CONTACT, "StatusMessage"))
    emit(status_name(value) + (f"\t{_one_line(message)}" if message else ""))
    return Exit.OK


async def run_contacts(remote: Remote, args: argparse.Namespace) -> Exit:
    """``contacts``: MyContacts, then every contact's properties, concurrently."""

    paths = await remote.get(MESSENGER_PATH, MESSENGER, "MyContacts")
    in_flight = asyncio.Semaphore(CONTACT_READS_IN_FLIGHT)

    async def read(path: str) -> dict[str, Any] | None:
        async with in_flight:
            try:
                return contact_record(path, await remote.get_all(path, CONTACT))
            except RemoteFailure as failure:
                if failure.error_name == UNKNOWN_OBJECT:  # removed meanwhile
                    return None
                raise

    records = [r for r in await asyncio.gather(*(read(p) for p in paths)) if r is not None]
    records.sort(key=lambda r: str(r["address"]).casefold())
    for record in records:
        if args.online and not is_online(record["status_value"]):
            continue
        emit(json_line(record) if args.json else contact_line(record))
    return Exit.OK


def read_password(address: str, given: str | None, stdin: TextIO) -> str:
    """The password: ``given`` unless it is None or ``-``; else prompted for without echo
    on a terminal, or the first line of a piped stdin."""
    if given is not None and given != "-":
        return given
    if stdin.isatty():
        import getpass

        return getpass.getpass(f"Password for {address}: ")
    return stdin.readline().rstrip("\r\n")


async def _account_statuses(remote: Remote) -> list[tuple[str, bool, int]]:
    """(sign-in name, enabled, status) of every account."""

    paths = await remote.get(MESSENGER_PATH, MESSENGER, "Accounts")

    async def one(path: str) -> tuple[str, bool, int]:
        props = to_json(await remote.get_all(path, ACCOUNT))
        return (
            str(props.get("SigninName", "")),
            bool(props.get("Enabled", False)),
            int(props.get("Status", 0)),
        )

    return list(await asyncio.gather(*(one(p) for p in paths)))


async def run_signin(remote: Remote, args: argparse.Namespace) -> Exit:
    """``signin``: AutoSignin, Signin or SigninWithOptions; with --wait, the outcome."""

    connecting = STATUS_VALUES["connecting"]
    if args.wait:  # before the call: OnSignin may come before its reply
        await remote.subscribe(MESSENGER, ("OnSignin",))
    if args.local:
        from dbus_next.signature import Variant

        local = {"link-local": Variant("b", True)}
        hr = await remote.call_hr(
            MESSENGER_PATH, MESSENGER, "SigninWithOptions", "ssa{sv}", ["", "", local]
        )
        pending = 1 if hr != S_FALSE or not remote.events.empty() else 0
    elif args.address is None:
        pending = 0
        if args.wait:  # one OnSignin per enabled account not signed in yet
            pending = sum(
                1
                for _name, enabled, status in await _account_statuses(remote)
                if enabled and (status in _NOT_ONLINE or status == connecting)
            )
        hr = await remote.call_hr(MESSENGER_PATH, MESSENGER, "AutoSignin")
        if hr == S_FALSE:
            pending = 0
    else:
        password = read_password(args.address, args.password, sys.stdin)
        options = signin_options(args)
        if options:
            hr = await remote.call_hr(
                MESSENGER_PATH,
                MESSENGER,
                "SigninWithOptions",
                "ssa{sv}",
                [args.address, password, options],
            )
        else:
            hr = await remote.call_hr(
                MESSENGER_PATH, MESSENGER, "Signin", "ss", [args.address, password]
            )
        pending = 1
        if args.wait and hr == S_FALSE:  # already signed in, or still signing in?
            wanted = args.address.casefold()
            statuses = await _account_statuses(remote)
            still = any(n.casefold() == wanted and s == connecting for n, _e, s in statuses)
            pending = 1 if still or not remote.events.empty() else 0
    if not args.wait:
        return Exit.OK
    deadline = _deadline(args.timeout)
    while pending:
        event = await remote.next_event(deadline, "the sign-in outcome (OnSignin)")
        if isinstance(event, _Marker) or event.member != "OnSignin":
            continue
        (signin_hr,) = event.body
        if signin_hr < 0:
            raise failure_from_hr(signin_hr, "sign-in failed")
        pending -= 1
    remote.note("signed in")
    return Exit.OK


async def run_signout(remote: Remote, args: argparse.Namespace) -> Exit:
    """``signout``: Signout."""

    await remote.call_hr(MESSENGER_PATH, MESSENGER, "Signout")
    return Exit.OK


async def run_quit(remote: Remote, args: argparse.Namespace) -> Exit:
    """``quit``: Quit; with --wait, until the bus name is released."""

    if args.wait:
        await remote.subscribe(MESSENGER, ("OnAppShutdown",))
    try:
        await remote.call_hr(MESSENGER_PATH, MESSENGER, "Quit")
    except RemoteFailure as failure:
        if failure.code != Exit.NOT_RUNNING:  # gone before answering: that is quitting too
            raise
        return Exit.OK
    if not args.wait:
        return Exit.OK
    deadline = _deadline(args.timeout)
    try:
        while True:
            await remote.next_event(deadline, "Chinwag to quit")
    except RemoteFailure as failure:
        if failure.code == Exit.NOT_RUNNING:
            return Exit.OK
        raise


async def run_show(remote: Remote, args: argparse.Namespace) -> Exit:
    """``show``: Window1.Show on the main window."""

    await remote.call_hr(MAIN_WINDOW_PATH, WINDOW, "Show")
    return Exit.OK


def _watch_stdout_hangup(loop: asyncio.AbstractEventLoop, on_hangup: Callable[[], None]) -> bool:
    """Call ``on_hangup`` as soon as the reader of a piped stdout goes away, not only at
    the next write. Only for pipes and sockets (a terminal or file never hangs up)."""
    try:
        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return False

    def check() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
        if any(events & (select.POLLERR | select.POLLHUP) for _fd, events in poller.poll(0)):
            loop.remove_reader(fd)
            on_hangup()
        elif stat.S_ISSOCK(mode):  # readable data on a socket: not ours to read; stop
            loop.remove_reader(fd)

    try:
        # epoll reports EPOLLERR on the write end of a pipe whose reader closed
        loop.add_reader(fd, check)
    except (OSError, ValueError, NotImplementedError):
        return False
    return True


async def run_watch(remote: Remote, args: argparse.Namespace) -> Exit:
    """``watch``: every signal of Messenger1 and Messages1 as a JSON line."""

    wanted = set(args.signals or ())
    for interface, names in ((MESSENGER, MESSENGER_SIGNALS), (MESSAGES, MESSAGES_SIGNALS)):
        if not wanted:
            await remote.subscribe(interface)
        elif wanted & set(names):
            await remote.subscribe(interface, sorted(wanted & set(names)))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        remote.events.put_nowait(_Marker.STOP)

    stop_signals = (signal.SIGINT, signal.SIGTERM)
    for signum in stop_signals:
        loop.add_signal_handler(signum, stop)
    watching_stdout = _watch_stdout_hangup(loop, stop)
    remote.note("watching; Ctrl-C to stop")
    try:
        while True:
            event = await remote.next_event(None, "signals")
            if event is _Marker.STOP:
                return Exit.OK
            if isinstance(event, _Marker):
                continue
            if wanted and event.member not in wanted:
                continue
            record = signal_record(
                event.member or "", event.interface or "", event.path or "", event.body
            )
            emit(json_line(record))
    finally:
        for signum in stop_signals:
            loop.remove_signal_handler(signum)
        if watching_stdout:
            with contextlib.suppress(Exception):
                loop.remove_reader(sys.stdout.fileno())


async def run_received(remote: Remote, args: argparse.Namespace) -> Exit:
    """``received``: GetReceived once, or (--all) page after page until one is empty;
    each message as a JSON line, a page written at once."""

    account = await resolve_account(remote, args.account)
    after: int = args.after
    while True:
        (page,) = await remote.call(
            MESSENGER_PATH, MESSAGES, "GetReceived", "oxu", [account, after, args.limit]
        )
        messages = [to_json(message) for message in page]
        remote.note(f"GetReceived after {after}: {len(messages)}")
        if messages:
            sys.stdout.write("".join(json_line(message) + "\n" for message in messages))
            sys.stdout.flush()
        if not args.all or not messages:
            return Exit.OK
        try:
            after = next_after(after, messages[-1])
        except ValueError as error:
            raise RemoteFailure(Exit.REFUSED, f"GetReceived: {error}") from None


def run_gateway_key(args: argparse.Namespace) -> Exit:
    """``gateway-key create|list|revoke`` on the key file (Chinwag need not run)."""
    from chinwag.core import jid
    from chinwag.core.errors import InvalidAddress
    from chinwag.gateways.keys import FILE_NAME, GatewayKeys, KeyFileError, KeyKind
    from chinwag.system.paths import Paths

    keys = GatewayKeys(Paths.default().config / FILE_NAME)
    try:
        if args.key_command == "create":
            try:
                account = jid.bare(args.account)
            except InvalidAddress as exc:
                raise RemoteFailure(Exit.USAGE, f"not an account address: {exc}") from None
            if args.kind == "xmlrpc" and args.scope:
                raise RemoteFailure(Exit.USAGE, "--scope is for REST keys only")
            entry, secret = keys.create(KeyKind(args.kind), account, args.scope or (), args.label)
            emit(secret)
            sys.stderr.write(
                f"{PROG}: key {entry.id} for {entry.account} ({entry.kind.value}"
                + (f"; {', '.join(entry.scopes)}" if entry.scopes else "")
                + "): shown this once, keep it safe\n"
            )
            return Exit.OK
        if args.key_command == "list":
            for entry in keys.entries():
                record = entry.as_json()
                del record["digest"]
                if args.json:
                    emit(json.dumps(record, ensure_ascii=False))
                else:
                    scopes = ",".join(entry.scopes) or "-"
                    emit(
                        f"{entry.id}\t{entry.kind.value}\t{entry.account}\t{scopes}\t{entry.label}"
                    )
            return Exit.OK
        gone = keys.revoke(args.key_id)
        if gone is None:
            raise RemoteFailure(Exit.REFUSED, f"no gateway key {args.key_id!r}")
        sys.stderr.write(f"{PROG}: revoked key {gone.id} ({gone.kind.value}, {gone.account})\n")
        return Exit.OK
    except KeyFileError as exc:
        raise RemoteFailure(Exit.REFUSED, str(exc)) from None


COMMANDS: dict[str, Callable[[Remote, argparse.Namespace], Awaitable[Exit]]] = {
    "send": run_send,
    "open": run_open,
    "status": run_status,
    "contacts": run_contacts,
    "signin": run_signin,
    "signout": run_signout,
    "watch": run_watch,
    "received": run_received,
    "quit": run_quit,
    "show": run_show,
}


async def run(args: argparse.Namespace) -> Exit:
    """Connect, run the command, close."""
    remote = await Remote.connect(args.bus_address, verbose=args.verbose, start=args.start)
    try:
        return await COMMANDS[args.command](remote, args)
    finally:
        await remote.close()


def _silence_stdout() -> None:
    # Python flushes stdout at exit again; with the reader gone that would print
    # "Exception ignored ... BrokenPipeError". Point the fd at /dev/null instead.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``chinwag-remote`` console script; returns the exit code (see :class:`Exit`)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "version":
        emit(_version())
        return Exit.OK
    try:
        if args.command == "gateway-key":
            return run_gateway_key(args)
        return asyncio.run(run(args))
    except RemoteFailure as failure:
        sys.stderr.write(f"{PROG}: {failure.message}\n")
        return failure.code
    except BrokenPipeError:  # the reader of stdout went away: it wanted no more
        _silence_stdout()
        return Exit.OK
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
