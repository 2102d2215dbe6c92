"""The app as a process with a script gateway on (``--xmlrpc-port 0`` / ``--rest-port
0``), signed in to the rig's Prosody, and what a script needs to reach it: a gateway key
made as a user would (``chinwag-remote gateway-key create``) and the port the app chose
(``$XDG_STATE_HOME/chinwag/gateways.json``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from rig.app import APP_TIMEOUT, AppProcess, start_app, wait_signed_in, write_profile
from rig.prosody import ProsodyServer

REMOTE = (sys.executable, "-m", "chinwag.cli.remote")


@contextlib.asynccontextmanager
async def gateway_app(
    prosody: ProsodyServer, home: Path, *options: str
) -> AsyncIterator[AppProcess]:
    """Chinwag with ``options`` (e.g. ``--rest-port 0``), signed in as a new user."""
    jid, password = prosody.make_user("app")
    env = write_profile(home, jid, password, prosody)
    app = await start_app(home, env, jid, password, prosody, *options)
    try:
        await wait_signed_in(app, app._clients[0])
        yield app
    finally:
        await app.close_clients()
        if app.running():
            app.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(app.proc.wait(), APP_TIMEOUT)


def make_key(app: AppProcess, kind: str, *scopes: str) -> str:
    """A new gateway key of ``kind`` (xmlrpc, rest) for the app's account."""
    extra = [arg for scope in scopes for arg in ("--scope", scope)]
    made = subprocess.run(
        [*REMOTE, "gateway-key", "create", app.jid, "--kind", kind, *extra],
        env=app.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return made.stdout.strip()


def gateway_port(app: AppProcess, name: str) -> int:
    """The port gateway ``name`` (xmlrpc, rest) listens on, as the app wrote it."""
    state = json.loads((app.home / "state" / "chinwag" / "gateways.json").read_text())
    return int(state[name]["port"])
