"""Review reproductions: OnSignin / OnSignout phases."""

from __future__ import annotations

import pytest

from rig.app import start_app, wait_signed_in, write_profile

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

CONNECTING = 0x200  # MISTATUS LOCAL_CONNECTING_TO_SERVER


async def test_review_signin_cancelled_by_signout_gets_an_outcome(
    prosody_own, dbus_bus, tmp_path
) -> None:
    """Signin() returns S_OK ("started; the outcome arrives as OnSignin(hr)"). If the user
    signs out before it completes, the script still needs an OnSignin outcome."""
    jid, password = prosody_own.make_user("cancel")
    env = write_profile(tmp_path, jid, password, prosody_own)
    app = await start_app(tmp_path, env, jid, password, prosody_own)
    try:
        client = app._clients[0]
        await wait_signed_in(app, client)
        signals = await client.watch()
        assert await client.messenger("Signout") == 0
        await signals.wait_for("OnSignout")
        prosody_own.pause()
        mark = len(signals.items)
        assert await client.messenger("Signin", "ss", jid, password) == 0
        # signing in, and the server does not answer
        await signals.wait_for("OnMyStatusChange", lambda b: b == [0, CONNECTING], after=mark)
        assert await client.messenger("Signout") == 0
        outcome = await signals.wait_for("OnSignin", after=mark)  # fails if none comes
        assert outcome != [0], f"signed in while the server did not answer: {outcome}"
    finally:
        if prosody_own.paused:
            prosody_own.resume()
        await app.close_clients()
        if app.running():
            await app.terminate()
