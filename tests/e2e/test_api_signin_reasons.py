"""End to end: an account that cannot sign in says why over the API, and SendMessage
refuses it (spec ``automation-api.md`` sections 2 and 6) instead of handing out tokens for
messages that would wait forever: no stored password, a refused password, an expired
server certificate, a certificate for another host. The app runs as a process on a
private bus and a real Prosody.

The names and codes are written out from the spec on purpose: these tests check the
contract."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from chinwag.automation.bus import connect_session_bus
from rig.app import APP_TIMEOUT, ApiClient, ApiError, AppProcess, start_app, write_profile
from rig.certs import RigPki, issue_server_cert
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
S_OK = 0
HRESULT = {
    "Offline": 0x80004005,
    "InvalidArgument": 0x80070057,
    "NotLoggedOn": 0x8100031E,
    "InvalidPassword": 0x81000303,
    "InvalidCertificate": 0x81000368,
}


def signed(hresult: int) -> int:
    return hresult - (1 << 32)


def parts(text: str) -> list[dict[str, Variant]]:
    return [{}, {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)}]


async def failure(call: Any, name: str) -> str:
    """The call fails with ``im.chinwag.Error.<name>``, its message the HRESULT in hex, a
    colon and the sentence (spec section 2); returns the sentence."""
    with pytest.raises(ApiError) as caught:
        await call
    error = caught.value
    assert error.name == f"im.chinwag.Error.{name}", (error.name, error.text)
    match = re.fullmatch(rf"0x{HRESULT[name]:08X}: (.+)", error.text, re.DOTALL)
    assert match, error.text
    return match.group(1)


@pytest.fixture
async def app_for(dbus_bus: Any, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await app_for(server, jid, password, stored=...)``: the app with that saved
    account (its password in the password file only when ``stored``), and the hr of the
    OnSignin that ends the sign-in it starts with (watched from before it starts, so that
    no other sign-in can be mistaken for it)."""
    apps: list[AppProcess] = []
    watchers: list[ApiClient] = []

    async def start(
        server: ProsodyServer, jid: str, password: str, *, stored: bool = True
    ) -> tuple[AppProcess, int]:
        home = tmp_path / f"app{len(apps)}"
        env = write_profile(home, jid, password, server)
        if not stored:
            (home / "data" / "chinwag" / "passwords.json").write_text(json.dumps({}))
        watcher = ApiClient(await connect_session_bus(dbus_bus.address))
        watchers.append(watcher)
        signals = await watcher.watch()
        app = await start_app(home, env, jid, password, server)
        apps.append(app)
        hr = (await signals.wait_for("OnSignin"))[0]
        return app, int(hr)

    try:
        yield start
    finally:
        for watcher in watchers:
            await watcher.close()
        for app in apps:
            await app.close_clients()
            if app.running():
                app.proc.send_signal(signal.SIGTERM)
                await app.wait_exit(APP_TIMEOUT)


async def send(client: ApiClient, target: str) -> Any:
    return await client.call(
        ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", target, parts("hi"), 0]
    )


async def test_no_stored_password_is_said_and_send_message_refuses(
    prosody: ProsodyServer, app_for: Callable[..., Any]
) -> None:
    jid, password = prosody.make_user("nopw")
    peer, _ = prosody.make_user("peer")
    app, hr = await app_for(prosody, jid, password, stored=False)
    assert hr == signed(HRESULT["InvalidPassword"])
    client = await app.client()

    # SendMessage cannot keep its promise ("connected, and the message waits"): no token.
    text = await failure(send(client, peer), "Offline")
    assert f"no password is stored for {jid}" in text, text
    text = await failure(client.messenger("InstantMessage", "v", Variant("s", peer)), "NotLoggedOn")
    assert text == f"{jid} is not signed in: no password is stored for {jid}", text
    # Signing in without a password says the same; with one, it works.
    text = await failure(client.messenger("Signin", "ss", jid, ""), "InvalidArgument")
    assert text == f"no password is stored for {jid}: give one", text
    signals = await client.watch()
    assert await client.messenger("Signin", "ss", jid, password) == S_OK
    assert (await signals.wait_for("OnSignin"))[0] == S_OK
    assert (await send(client, peer))[0]  # a token


async def test_refused_password_is_said(
    prosody: ProsodyServer, app_for: Callable[..., Any]
) -> None:
    jid, _ = prosody.make_user("wrongpw")
    app, hr = await app_for(prosody, jid, "not-the-password")
    assert hr == signed(HRESULT["InvalidPassword"])
    client = await app.client()
    text = await failure(send(client, "bob@localhost"), "Offline")
    assert f"the server refused the password for {jid}" in text, text


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", r"certificate has expired"),
        ("another host", r"certificate is not valid for 'localhost'"),
    ],
)
async def test_certificate_problems_are_said(
    kind: str,
    reason: str,
    rig_pki: RigPki,
    prosody_factory: Callable[..., ProsodyServer],
    app_for: Callable[..., Any],
    tmp_path: Path,
) -> None:
    now = dt.datetime.now(dt.UTC)
    if kind == "expired":
        cert = issue_server_cert(
            rig_pki,
            tmp_path / "certs",
            not_before=now - dt.timedelta(days=30),
            not_after=now - dt.timedelta(days=1),
        )
    else:
        cert = issue_server_cert(
            rig_pki, tmp_path / "certs", dns_names=("elsewhere.example",), ip_addresses=()
        )
    server = prosody_factory(cert=cert)
    jid, password = server.make_user("cert")
    app, hr = await app_for(server, jid, password)
    assert hr == signed(HRESULT["InvalidCertificate"])
    client = await app.client()
    text = await failure(send(client, "bob@localhost"), "Offline")
    assert re.search(reason, text), text
    assert text.startswith(f"{jid} cannot sign in: the certificate of the server"), text
    text = await failure(
        client.messenger("InstantMessage", "v", Variant("s", "bob@localhost")), "NotLoggedOn"
    )
    assert re.search(reason, text), text
