"""End to end: refused API calls leave no ERROR and no traceback in the app's log.

dbus-next 0.2.3 raised every ``DBusError`` again after its error reply (``SendReply.__exit__``
drops ``_exit``'s value), and the app logged each refused call -- a malformed address, a
property that does not exist, a read-only property -- as an ERROR with a traceback: any bus
client could fill the log. Now each is at most one DEBUG line.

The app runs with ``--debug`` here, so that the one DEBUG line can be counted too.
Names are written out from the spec (``automation-api.md``) on purpose."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import APP_TIMEOUT, ApiError, AppProcess, start_app, wait_signed_in, write_profile
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
CONTACT = "im.chinwag.Contact1"
PROPERTIES = "org.freedesktop.DBus.Properties"

Call = tuple[str, str, str, str, list[Any]]  # path, interface, member, signature, body

REFUSED: list[Call] = [
    # a malformed address, as the spec's InstantMessage and GetContact take it
    (ROOT, MESSENGER, "InstantMessage", "v", [Variant("s", "not an address@@")]),
    (ROOT, MESSENGER, "GetContact", "ss", ["@@", ""]),
    # the wrong argument types
    (ROOT, MESSENGER, "InstantMessage", "s", ["bob@localhost"]),
    # nothing at that path
    (f"{ROOT}/nothing/here", CONTACT, "Nope", "", []),
    # a property that does not exist, one that is read-only, one of another type
    (ROOT, PROPERTIES, "Get", "ss", [MESSENGER, "Nope"]),
    (ROOT, PROPERTIES, "Set", "ssv", [MESSENGER, "MySigninName", Variant("s", "x@y")]),
    (ROOT, PROPERTIES, "Set", "ssv", [MESSENGER, "MyStatus", Variant("s", "online")]),
    # a coroutine method (its refusal went through asyncio's "Exception in callback")
    (
        ROOT,
        MESSAGES,
        "SendMessage",
        "osaa{sv}u",
        [
            "/",
            "not an address@@",
            [{}, {"content-type": Variant("s", "text/plain"), "content": Variant("s", "hi")}],
            0,
        ],
    ),
]


@pytest.fixture
async def debug_app(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> AsyncIterator[AppProcess]:
    """Chinwag in the background with ``--debug``, signed in on the shared Prosody."""
    jid, password = prosody.make_user("quiet")
    env = write_profile(tmp_path, jid, password, prosody)
    app = await start_app(tmp_path, env, jid, password, prosody, "--debug")
    try:
        await wait_signed_in(app, app._clients[0])
        yield app
    finally:
        await app.close_clients()
        if app.running():
            app.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(app.proc.wait(), APP_TIMEOUT)
            except TimeoutError:
                app.proc.kill()
                await app.proc.wait()


def log_since(app: AppProcess, offset: int) -> str:
    with app.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


async def test_refused_calls_log_no_error_and_no_traceback(debug_app: AppProcess) -> None:
    client = await debug_app.client()
    offset = debug_app.log_path.stat().st_size
    stderr_offset = debug_app.stderr_path.stat().st_size

    for path, interface, member, signature, body in REFUSED:
        with pytest.raises(ApiError):
            await client.call(path, interface, member, signature, body)
    # The app logs a call's outcome before it replies, and flushes every line.
    assert await client.get(ROOT, MESSENGER, "MyStatus") == 0x02

    log = log_since(debug_app, offset)
    stderr = debug_app.stderr_path.read_bytes()[stderr_offset:].decode(errors="replace")
    for text in (log, stderr):
        assert " ERROR " not in text, text[-4000:]
        assert "Traceback" not in text, text[-4000:]
    # (the bus layer's lines: other modules may say a server refused something)
    refusals = [line for line in log.splitlines() if " chinwag.automation.bus: refused " in line]
    assert 0 < len(refusals) <= len(REFUSED), log[-4000:]
    assert all(" DEBUG " in line for line in refusals), refusals
    for _path, interface, member, _signature, _body in REFUSED:
        named = [line for line in refusals if f"{interface}.{member}(" in line]
        assert len(named) <= sum(1 for c in REFUSED if c[1:3] == (interface, member)), named
