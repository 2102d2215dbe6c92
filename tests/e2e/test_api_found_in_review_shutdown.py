"""Review reproductions: shutdown ordering and the single-instance hand-over."""

from __future__ import annotations

import asyncio
import sys

import pytest
from dbus_next import Variant

from rig.app import AppProcess, start_app, wait_signed_in, write_profile

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]


async def name_owned(client) -> bool:
    owned = await client.call(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        "s",
        ["im.chinwag.Chinwag"],
        destination="org.freedesktop.DBus",
    )
    return bool(owned[0])


async def log_says(app: AppProcess, text: str, timeout: float = 30.0) -> None:
    """Wait until the profile's log has ``text`` (the log is read again every 50 ms)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in (app.log_path.read_text(errors="replace") if app.log_path.exists() else ""):
        assert asyncio.get_running_loop().time() < deadline, f"{text!r} never logged"
        await asyncio.sleep(0.05)


async def test_review_window_opened_after_app_shutdown_is_never_destroyed(
    chinwag_app: AppProcess,
) -> None:
    """A script that reacts to OnAppShutdown (or races Quit) can still open windows; such
    a window never gets OnIMWindowDestroyed (spec 4: 'sent once, when a conversation
    window is closed by anyone (user, script, shutdown)')."""
    app = chinwag_app
    client = await app.client()
    signals = await client.watch()
    assert await client.messenger("Quit") == 0
    await signals.wait_for("OnAppShutdown")
    try:
        reply = await client.messenger("InstantMessage", "v", Variant("s", "late@localhost"))
    except Exception as exc:  # an error reply is fine: the app refuses during shutdown
        print("InstantMessage during shutdown:", exc)
        reply = None
    await app.wait_exit()
    print("reply", reply, "signals", [m for m, _ in signals.items])
    if reply is not None:
        window = reply[1]
        destroyed = [b[0] for b in signals.named("OnIMWindowDestroyed")]
        assert window in destroyed, (
            f"{window} was opened during shutdown and never destroyed: {signals.items}"
        )


async def test_review_start_while_shutdown_is_slow_leaves_nothing_running(
    prosody_own, dbus_bus, tmp_path
) -> None:
    """Quit, then start again at once, while signing out takes a while (the server is
    slow to answer the stream close: up to 8 s in AccountSession.sign_out). The second
    start waits for the first to go, then takes over."""
    jid, password = prosody_own.make_user("slow")
    env = write_profile(tmp_path, jid, password, prosody_own)
    app = await start_app(tmp_path, env, jid, password, prosody_own)
    second = None
    try:
        client = app._clients[0]
        await wait_signed_in(app, client)
        signals = await client.watch()
        prosody_own.pause()
        assert await client.messenger("Quit") == 0
        await signals.wait_for("OnAppShutdown")
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chinwag",
            "--background",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        # the second start finds the first one quitting (both write the profile's log)
        await log_says(app, "the running Chinwag is shutting down: starting once it has gone")
        prosody_own.resume()
        assert await app.wait_exit() == 0
        # The second one waited for the first to go, then took over.
        deadline = asyncio.get_running_loop().time() + 30
        while not await name_owned(client):
            assert second.returncode is None, f"the second start exited {second.returncode}"
            assert asyncio.get_running_loop().time() < deadline, "nothing owns the name"
            await asyncio.sleep(0.1)
        second.terminate()
        assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        if prosody_own.paused:
            prosody_own.resume()
        if second is not None and second.returncode is None:
            second.terminate()
            await second.wait()
        await app.close_clients()
        if app.running():
            await app.terminate()
