"""The automation API on a link-local account, end to end: two ``chinwag --background``
processes, each in a network namespace of its own (joined by a veth pair: made by the test
as root, removed afterwards, skipped with the reason where that cannot be done) and each
on a private session bus, with no XMPP server anywhere. One turns serverless chat on with
``SigninWithOptions`` option ``link-local``, the other with ``chinwag-remote signin
--local --wait``; then they chat through the unchanged API: InstantMessage and a window's
SendText one way, Messages1.SendMessage the other, with MessageSent, MessageReceived and
the delivery report (the peer answered its receipt)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import APP_TIMEOUT, ApiClient, AppProcess, ChildProcess, wait_owned, wait_signed_in
from rig.dbus import PrivateSessionBus
from rig.link_local_net import GUI, TESTS, Link, Unavailable, link
from rig.procs import OWNER_ENV

pytestmark = [pytest.mark.slow, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
CONVERSATION_WINDOW = "im.chinwag.ConversationWindow1"
S_OK, S_FALSE = 0, 1
DELIVERED, ACCEPTED = 1, 4
REMOTE = [sys.executable, "-m", "chinwag.cli.remote"]

Parts = list[dict[str, Variant]]


@contextlib.asynccontextmanager
async def headless_app(namespace: str, home: Path) -> AsyncIterator[tuple[AppProcess, ApiClient]]:
    """``chinwag --background`` in ``namespace`` on a private bus of its own, its profile
    under ``home`` (no account: nothing signs in by itself)."""
    bus = PrivateSessionBus()
    address = bus.start()
    app: AppProcess | None = None
    try:
        env = dict(os.environ)
        env.pop(OWNER_ENV, None)
        for var, sub in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", "cache"),
        ):
            env[var] = str(home / sub)
            (home / sub / "chinwag").mkdir(parents=True, exist_ok=True)
        env.update(
            QT_QPA_PLATFORM="offscreen",
            DBUS_SESSION_BUS_ADDRESS=address,
            PYTHONPATH=f"{GUI}{os.pathsep}{TESTS}",
            HOME=str(home),
        )
        with (home / "stderr.txt").open("ab") as stderr:
            popen = subprocess.Popen(  # noqa: ASYNC220 (as rig.app.launch_app: any loop may wait)
                ["ip", "netns", "exec", namespace, sys.executable, "-m", "chinwag", "--background"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        app = AppProcess(ChildProcess(popen), "", "", env, address, home, None)  # type: ignore[arg-type]
        client = await app.client()
        await wait_owned(app, client)
        yield app, client
    finally:
        if app is not None:
            with contextlib.suppress(Exception):
                await app.terminate()
            if app.proc.returncode is None:
                app.proc.kill()
                app.proc.wait_blocking()
            await app.close_clients()
        bus.stop()


async def remote(app: AppProcess, *args: str) -> tuple[int, str, str]:
    """chinwag-remote to its end against ``app`` (exit code, out, err)."""
    proc = await asyncio.create_subprocess_exec(
        *REMOTE,
        *args,
        env=app.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), APP_TIMEOUT * 2)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def text(parts: Parts) -> str:
    return "\n".join(str(p["content"].value) for p in parts[1:] if "content" in p)


def header(parts: Parts) -> dict[str, Any]:
    return {key: value.value for key, value in parts[0].items()}


@pytest.fixture(scope="module")
def net() -> Any:
    try:
        context = link("api")
        made: Link = context.__enter__()
    except Unavailable as exc:
        pytest.skip(f"no network namespaces here: {exc}")
    try:
        yield made
    finally:
        context.__exit__(None, None, None)


async def test_the_api_works_unchanged_on_a_link_local_account(net: Link, tmp_path: Path) -> None:
    async with (
        headless_app(net.names[0], tmp_path / "alice") as (alice_app, alice),
        headless_app(net.names[1], tmp_path / "bob") as (bob_app, bob),
    ):
        alice_signals = await alice.watch()
        bob_signals = await bob.watch()
        # no server, no account: the option turns serverless chat on
        local = {"link-local": Variant("b", True)}
        hr = await alice.messenger("SigninWithOptions", "ssa{sv}", "", "", local)
        assert hr == S_OK
        await wait_signed_in(alice_app, alice)
        code, out, err = await remote(bob_app, "signin", "--local", "--wait")
        assert code == 0, (out, err, bob_app.diagnostics())
        await wait_signed_in(bob_app, bob)
        assert await alice.messenger("SigninWithOptions", "ssa{sv}", "", "", local) == S_FALSE
        a_jid = await alice.get(ROOT, MESSENGER, "MySigninName")
        b_jid = await bob.get(ROOT, MESSENGER, "MySigninName")
        assert a_jid != b_jid
        assert a_jid.split("@")[1] == b_jid.split("@")[1]  # one host, two profiles

        # alice -> bob: a conversation window, as a user would type it
        hr, window = await alice.messenger("InstantMessage", "v", Variant("s", b_jid))
        assert hr == S_OK
        (sent,) = await alice.call(
            window, CONVERSATION_WINDOW, "SendText", "s", ["hello bob, no server"]
        )
        assert sent == S_OK
        got = await bob_signals.wait_for(
            "MessageReceived", lambda b: text(b[0]) == "hello bob, no server", 60
        )
        assert header(got[0])["message-sender-id"] == a_jid

        # bob -> alice: a one-off message asking for a delivery report
        parts = [
            {"message-type": Variant("u", 0)},
            {"content-type": Variant("s", "text/plain"), "content": Variant("s", "hi alice")},
        ]
        (token,) = await bob.call(
            ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", a_jid, parts, 1]
        )
        got = await alice_signals.wait_for(
            "MessageReceived", lambda b: text(b[0]) == "hi alice", 60
        )
        assert header(got[0])["message-sender-id"] == b_jid
        # sent: bob's stream to alice took it; delivered: alice answered the receipt
        await bob_signals.wait_for("MessageSent", lambda b: b[2] == token)

        def report(status: int) -> Any:
            return lambda b: (
                header(b[0]).get("delivery-token") == token
                and header(b[0]).get("delivery-status") == status
            )

        await bob_signals.wait_for("MessageReceived", report(ACCEPTED))  # (as on a server)
        await bob_signals.wait_for("MessageReceived", report(DELIVERED))
