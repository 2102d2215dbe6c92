"""End-to-end fixtures: Chinwag as a process (``python -m chinwag --background``, offscreen)
on a private session bus and a real Prosody, driven over its D-Bus API.

``chinwag_app`` yields a :class:`rig.app.AppProcess` that is signed in and owns
``im.chinwag.Chinwag``; see :mod:`rig.app` for the client (``ApiClient``) and helpers.
Test modules import those from ``rig.app`` (not from ``conftest``: several directories
have one, and which is ``conftest`` depends on what pytest collected last).

One app per module, or one per test
    By default each test gets a fresh app (1-2 s to start and stop). A module whose tests
    leave nothing behind that matters to the next one marks itself
    ``pytestmark = [..., pytest.mark.shared_app]``: its tests then share one app
    (:class:`rig.app.SharedApp`), reset before each test to signed in, Online, no
    conversation window, main window hidden, no contacts -- or replaced by a fresh one
    when it quit, crashed or cannot be reset. A test there that needs an app of its own
    (it quits it, kills it, counts what happens at start or at shutdown) says
    ``@pytest.mark.fresh_app``. Shared or not, each test's clients are its own, closed
    (and so their window handles released) at its end."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.app import (
    APP_TIMEOUT,
    ApiClient,
    ApiError,
    AppProcess,
    SharedApp,
    SignalLog,
    start_app,
    wait_signed_in,
    write_profile,
)
from rig.certs import RigPki
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "shared_app: the module's tests share one app, reset between tests"
    )
    config.addinivalue_line(
        "markers", "fresh_app: this test gets an app of its own (in a shared_app module)"
    )


@pytest.fixture(scope="module")
def _shared_app(
    _prosody_shared: ProsodyServer, rig_pki: RigPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedApp]:
    """The module's app, started by the first test that asks for it."""
    shared = SharedApp(tmp_path_factory.mktemp("shared-app"), _prosody_shared, rig_pki.ca_cert_path)
    try:
        yield shared
    finally:
        shared.stop()


def _shares_app(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return (
        node.get_closest_marker("shared_app") is not None
        and node.get_closest_marker("fresh_app") is None
    )


@pytest.fixture
async def chinwag_app(
    request: pytest.FixtureRequest, prosody: ProsodyServer, tmp_path: Path
) -> AsyncIterator[AppProcess]:
    """Chinwag in the background, signed in to an account on the shared Prosody: the
    module's app, reset (``shared_app`` modules), or a fresh one with a fresh account."""
    if _shares_app(request):
        shared: SharedApp = request.getfixturevalue("_shared_app")
        app = await shared.ready()
        try:
            yield app
        finally:
            await app.close_clients()
        if not app.running():
            diagnostics = app.diagnostics()
            await shared.discard()  # said here; the next test starts a fresh one
            pytest.fail(
                "the module's app exited during the test (mark it fresh_app if it ends the "
                f"app on purpose)\n{diagnostics}",
                pytrace=False,
            )
        return
    dbus_bus: Any = request.getfixturevalue("dbus_bus")
    jid, password = prosody.make_user("app")
    env = write_profile(tmp_path, jid, password, prosody)
    assert env["DBUS_SESSION_BUS_ADDRESS"] == dbus_bus.address
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
