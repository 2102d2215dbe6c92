"""End-to-end fixtures: Chinwag as a process (``python -m chinwag --background``, offscreen)
on a private session bus and a real Prosody, driven over its D-Bus API.

``chinwag_app`` yields a :class:`rig.app.AppProcess` that is signed in and owns
``im.chinwag.Chinwag``; see :mod:`rig.app` for the client (``ApiClient``) and helpers.
Test modules import those from ``rig.app`` (not from ``conftest``: several directories
have one, and which is ``conftest`` depends on what pytest collected last)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from rig.app import (
    APP_TIMEOUT,
    ApiClient,
    ApiError,
    AppProcess,
    SignalLog,
    start_app,
    wait_signed_in,
    write_profile,
)
from rig.prosody import ProsodyServer

__all__ = [
    "APP_TIMEOUT",
    "ApiClient",
    "ApiError",
    "AppProcess",
    "SignalLog",
    "start_app",
    "wait_signed_in",
    "write_profile",
]


@pytest.fixture
async def chinwag_app(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> AsyncIterator[AppProcess]:
    """Chinwag in the background, signed in to a fresh account on the shared Prosody."""
    jid, password = prosody.make_user("app")
    env = write_profile(tmp_path, jid, password, prosody)
    app = await start_app(tmp_path, env, jid, password, prosody)
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
