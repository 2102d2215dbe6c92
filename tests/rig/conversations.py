"""What the end-to-end tests of the Conversations API share: D-Bus values as plain
Python, the spec's uuid formulas (conversations-api.md section 1, spelled here as the
spec writes them, not imported from the implementation), the check of a refusal by
code and name (section 2), and a profile on a bus of its own (two apps side by side)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid as uuids
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import (
    APP_TIMEOUT,
    ApiError,
    AppProcess,
    launch_app,
    wait_owned,
    wait_signed_in,
    write_profile,
)
from rig.dbus import PrivateSessionBus
from rig.prosody import ProsodyServer

#: The prefix of the Conversations API's error names.
ERROR = "im.chinwag.Error.Messaging."


def plain(value: Any) -> Any:
    """A D-Bus value with every variant unwrapped (dictionaries and arrays too)."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def room_uuid(room: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?join"))


def direct_uuid(a: str, b: str) -> str:
    low, high = sorted((a, b))
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{low}?chinwag-direct;with={high}"))


def message_uuid_in_room(room: str, stanza_id: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{room}?stanza-id={stanza_id}"))


def message_uuid_direct(sender: str, origin_id: str) -> str:
    return str(uuids.uuid5(uuids.NAMESPACE_URL, f"xmpp:{sender}?origin-id={origin_id}"))


async def refused(code: int, name: str, call: Any) -> None:
    """``call`` fails with ``im.chinwag.Error.Messaging.<name>``, ``<code>: ...``."""
    with pytest.raises(ApiError) as info:
        await call
    assert info.value.name == ERROR + name
    assert info.value.text.startswith(f"{code}: ")


@contextlib.asynccontextmanager
async def profile_on_own_bus(
    directory: Path, server: ProsodyServer, name: str
) -> AsyncIterator[AppProcess]:
    """Chinwag signed in to a fresh account ``name`` on ``server``, with a profile of its
    own under ``directory / name`` and a private session bus of its own (so two of them
    can run side by side, each owning ``im.chinwag.Chinwag`` on its bus); ended (SIGTERM,
    then SIGKILL) and its bus stopped on leaving."""
    jid, password = server.make_user(name)
    home = directory / name
    home.mkdir()
    env = write_profile(home, jid, password, server)
    bus = PrivateSessionBus()
    try:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.start()
        env["HOME"] = str(home / "home")
        app = launch_app(home, env, jid, password, server)
        try:
            client = await app.client()
            await wait_owned(app, client)
            await wait_signed_in(app, client)
            await app.close_clients()
            yield app
        finally:
            await app.close_clients()
            if app.running():
                app.proc.terminate()
                try:
                    await asyncio.wait_for(app.proc.wait(), APP_TIMEOUT)
                except TimeoutError:
                    app.proc.kill()
                    await app.proc.wait()
    finally:
        bus.stop()
