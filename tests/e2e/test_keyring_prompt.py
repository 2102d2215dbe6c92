"""End to end: a desktop keyring that asks the user something freezes nothing.

On a session bus that carries ``DISPLAY`` (every real desktop) the Secret Service is
D-Bus-activated as gnome-keyring-daemon, which, with no login keyring yet, puts up a
"create a keyring" prompt and does not answer until someone does. Here that is the real
gnome-keyring-daemon and gcr-prompter on an Xvfb screen (:mod:`rig.keyring`), and the app
runs on that screen (``QT_QPA_PLATFORM=xcb``) as a process. While the prompt is up, the
API answers, a script's sign-in goes on with the password it brought, messages go out, and
the password is kept in the private file instead."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from chinwag.automation.bus import connect_session_bus
from integration.helpers import eventually
from rig.app import APP_TIMEOUT, ApiClient, AppProcess, SignalLog, start_app, write_profile
from rig.keyring import KeyringDesktop, missing
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [
    pytest.mark.prosody,
    pytest.mark.dbus,
    pytest.mark.skipif(missing() is not None, reason=str(missing())),
]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
S_OK, S_FALSE = 0, 1
E_FAIL = 0x80004005 - (1 << 32)
ONLINE, CONNECTING = 0x02, 0x200


@pytest.fixture
async def desktop(tmp_path: Path) -> AsyncIterator[KeyringDesktop]:
    desktop = KeyringDesktop(tmp_path / "home")
    await desktop.start()
    try:
        yield desktop
    finally:
        await desktop.stop()


@pytest.fixture
async def app_on(
    desktop: KeyringDesktop, prosody: ProsodyServer, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """``await app_on(jid, password)``: the app on the desktop's screen and bus, with that
    account saved (none for ``""``) but its password nowhere (so only a keyring could
    give it); and a client that watched its signals from before it started."""
    apps: list[AppProcess] = []
    watchers: list[ApiClient] = []

    async def start(jid: str = "", password: str = "") -> tuple[AppProcess, SignalLog]:
        home = tmp_path / "home"
        env = write_profile(home, jid, password, prosody)
        (home / "data" / "chinwag" / "passwords.json").unlink(missing_ok=True)
        env.update(desktop.env())
        env["HOME"] = str(home)
        env["QT_QPA_PLATFORM"] = "xcb"
        watcher = ApiClient(await connect_session_bus(desktop.bus_address))
        watchers.append(watcher)
        signals = await watcher.watch()
        app = await start_app(home, env, jid, password, prosody)
        apps.append(app)
        return app, signals

    try:
        yield start
    finally:
        for watcher in watchers:
            await watcher.close()
        for app in apps:
            await app.close_clients()
            if app.running():
                app.proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(app.proc.wait(), APP_TIMEOUT)
                except TimeoutError:  # a frozen loop does not see SIGTERM
                    app.proc.kill()
                    await app.proc.wait()


async def until_prompt(desktop: KeyringDesktop) -> None:
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while not await desktop.prompt_up():
        assert asyncio.get_running_loop().time() < deadline, "the keyring never prompted"
        await asyncio.sleep(0.05)


async def test_saving_a_password_while_the_keyring_prompts_freezes_nothing(
    desktop: KeyringDesktop, app_on: Callable[..., Any], prosody: ProsodyServer
) -> None:
    app, signals = await app_on()
    jid, password = prosody.make_user("kr")
    peer, peer_password = prosody.make_user("peer")
    client = await app.client()
    async with XmppPeer(prosody, peer, peer_password) as bob:
        options = {"host": Variant("s", prosody.host), "port": Variant("u", prosody.port)}
        # The call answers at once: the password it brings is used now and saved later.
        hr = await client.messenger("SigninWithOptions", "ssa{sv}", jid, password, options)
        assert hr == S_OK
        # Saving it made the keyring ask whether to create a login keyring; nobody will.
        await until_prompt(desktop)
        assert await client.get(ROOT, MESSENGER, "MySigninName") == jid
        assert (await signals.wait_for("OnSignin"))[0] == S_OK
        token = (
            await client.call(
                ROOT,
                MESSAGES,
                "SendMessage",
                "osaa{sv}u",
                [
                    "/",
                    peer,
                    [
                        {},
                        {
                            "content-type": Variant("s", "text/plain"),
                            "content": Variant("s", "while it asks"),
                        },
                    ],
                    0,
                ],
            )
        )[0]
        assert token
        received = await bob.next_message(timeout=APP_TIMEOUT)
        assert received["body"] == "while it asks"
        # The keyring did not take the password in time: it is kept in the private file.
        passwords = app.home / "data" / "chinwag" / "passwords.json"
        await eventually(
            lambda: passwords.exists() and json.loads(passwords.read_text()) == {jid: password},
            timeout=APP_TIMEOUT,
            what="the password in the fallback file",
        )
        assert "the keyring did not answer" in app.log_path.read_text()
        assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE
        # All of that while the prompt was up.
        assert await desktop.prompt_up()


async def test_reading_a_password_while_the_keyring_prompts_freezes_nothing(
    desktop: KeyringDesktop, app_on: Callable[..., Any], prosody: ProsodyServer
) -> None:
    jid, password = prosody.make_user("kr")
    app, signals = await app_on(jid, password)
    client = await app.client()
    # Signing in at start-up needs the password, which only the keyring could give; it
    # asks whether to create a login keyring instead, and nobody answers.
    await until_prompt(desktop)
    assert await client.get(ROOT, MESSENGER, "MySigninName") == jid
    # The sign-in does not wait for it: it fails for now, and keeps trying.
    assert (await signals.wait_for("OnSignin"))[0] == E_FAIL
    assert "the keyring did not give the password of" in app.log_path.read_text()
    assert await client.get(ROOT, MESSENGER, "MyStatus") == CONNECTING
    # A script that brings the password gets the account signed in.
    assert await client.messenger("Signin", "ss", jid, password) in (S_OK, S_FALSE)
    await signals.wait_for("OnSignin", lambda body: body[0] == S_OK)
    assert await client.get(ROOT, MESSENGER, "MyStatus") == ONLINE
    assert await desktop.prompt_up()
