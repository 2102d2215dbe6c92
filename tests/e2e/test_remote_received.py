"""End to end: ``chinwag-remote received`` (run as ``python -m chinwag.cli.remote``) against
the app as a process on a private bus and a real Prosody, with a real XMPP peer sending.

A cron job catches up with it: what the peer sent comes out one JSON line a message, oldest
first, with consecutive ``message-sequence`` (automation-api.md 6a), each line exactly what
the ``MessageReceived`` signal carried. Names and codes are written out from the spec on
purpose."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import APP_TIMEOUT, AppProcess, SignalLog
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
REMOTE = [sys.executable, "-m", "chinwag.cli.remote"]
# A CLI that hangs is caught well before pytest's own timeout.
PROCESS_TIMEOUT = 60.0


async def remote(app: AppProcess, *args: str) -> tuple[int, str, str]:
    """Run chinwag-remote to its end in the app's environment: (exit code, out, err)."""
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        *args,
        env=app.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"chinwag-remote {' '.join(args)} did not end") from None
    assert proc.returncode is not None
    assert "Traceback" not in err.decode(), err.decode()
    return proc.returncode, out.decode(), err.decode()


def lines_of(out: str) -> list[Any]:
    """The JSON lines chinwag-remote printed (each one whole line)."""
    assert out == "" or out.endswith("\n"), out
    return [json.loads(line) for line in out.splitlines()]


def as_json(parts: list[dict[str, Variant]]) -> list[dict[str, Any]]:
    """A MessageReceived argument as JSON data: the variants' values (the header and text
    parts hold strings, numbers and object paths only)."""
    plain = [{key: variant.value for key, variant in part.items()} for part in parts]
    return json.loads(json.dumps(plain))  # type: ignore[no-any-return]


def text_of(message: list[dict[str, Any]]) -> str:
    return "".join(p["content"] for p in message[1:] if p.get("content-type") == "text/plain")


async def messages_from(
    signals: SignalLog, sender: str, count: int, mark: int
) -> list[list[dict[str, Variant]]]:
    """The first ``count`` MessageReceived from ``sender`` after signal ``mark``, once
    they have all come."""
    found: list[list[dict[str, Variant]]] = []
    scanned = mark
    while True:
        for member, body in signals.items[scanned:]:
            if member == "MessageReceived" and body[0][0]["message-sender-id"].value == sender:
                found.append(body[0])
        scanned = len(signals.items)
        if len(found) >= count:
            return found[:count]
        await signals.wait_for_more(scanned)


async def test_received_prints_what_a_peer_sent_with_consecutive_sequences(
    chinwag_app: AppProcess,
) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    # where this account stands: whatever came before this test
    code, out, err = await remote(chinwag_app, "received", "--all")
    assert (code, err) == (0, ""), err
    before = lines_of(out)
    last = int(before[-1][0]["message-sequence"]) if before else 0
    assert [m[0]["message-sequence"] for m in before] == list(range(1, last + 1))

    sent = [f"catch-up {n}" for n in range(1, 6)] + ["ünïcode ✓\nsecond line"]
    mark = len(signals.items)
    async with XmppPeer(chinwag_app.prosody, *chinwag_app.prosody.make_user("bob")) as bob:
        for body in sent:
            bob.send_chat(chinwag_app.jid, body)
        told = await asyncio.wait_for(messages_from(signals, bob.jid, len(sent), mark), APP_TIMEOUT)

    code, out, err = await remote(chinwag_app, "received", "--after", str(last))
    assert (code, err) == (0, ""), err
    got = lines_of(out)
    assert [m[0]["message-sequence"] for m in got] == list(range(last + 1, last + 1 + len(sent)))
    assert [text_of(m) for m in got] == sent
    assert {m[0]["message-sender-id"] for m in got} == {bob.jid}
    assert {m[0]["message-type"] for m in got} == {0}
    account = got[0][0]["account"]
    assert re.fullmatch(rf"{ROOT}/account/[1-9][0-9]*", account), account
    assert got == [as_json(parts) for parts in told]  # exactly as the signals carried them

    # --all pages through the real GetReceived, 4 a call, until a page is empty
    code, paged, err = await remote(
        chinwag_app, "-v", "received", "--all", "--limit", "4", "--after", str(last)
    )
    assert (code, paged) == (0, out), err
    assert err.splitlines() == [
        f"chinwag-remote: GetReceived after {last}: 4",
        f"chinwag-remote: GetReceived after {last + 4}: 2",
        f"chinwag-remote: GetReceived after {last + 6}: 0",
    ]
    # without --all: one call, --limit lines
    code, first, err = await remote(chinwag_app, "received", "--limit", "2", "--after", str(last))
    assert (code, err) == (0, "")
    assert lines_of(first) == got[:2]
    # the account by its address or its path: the same
    for which in (chinwag_app.jid, account):
        assert await remote(chinwag_app, "received", "--account", which, "--after", str(last)) == (
            0,
            out,
            "",
        ), which

    # an account object that does not exist: the API's InvalidArgument, exit 1
    code, out, err = await remote(chinwag_app, "received", "--account", f"{ROOT}/account/999")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"chinwag-remote: InvalidArgument: 0x80070057: \S.*\n", err), err
    # an address that is no account of this Chinwag: exit 1, said so
    code, out, err = await remote(chinwag_app, "received", "--account", "nobody@localhost")
    assert (code, out) == (1, "")
    assert err.startswith("chinwag-remote: no account 'nobody@localhost' in Chinwag"), err
