"""Own status kept across a restart (issue 9, the windows, item 7): away "at lunch",
quit, start again: it was Online. Now the status and message picked are kept per account
and are what the contacts see from the first presence after the start.

Names, paths and status codes are spelled as the spec writes them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import APP_TIMEOUT, ApiClient, AppProcess, start_app, write_profile
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
CONTACT = "im.chinwag.Contact1"
S_OK = 0
OFFLINE, ONLINE, CONNECTING = 0x01, 0x02, 0x200
BUSY, AWAY, OUT_TO_LUNCH = 0x0A, 0x22, 0x42


async def eventually(check: Callable[[], Any], what: str, timeout: float = APP_TIMEOUT) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.05)


async def subscriptions(peer: XmppPeer) -> dict[str, str]:
    """The peer's roster as the server has it now (asked without a roster version,
    which slixmpp would add and the server then answer with no items)."""
    iq = peer.client.make_iq_get(queryxmlns="jabber:iq:roster")
    result = await iq.send(timeout=20)
    items = result.xml.findall("{jabber:iq:roster}query/{jabber:iq:roster}item")
    return {str(item.get("jid")): str(item.get("subscription")) for item in items}


async def befriend(server: ProsodyServer, jid: str, password: str, bob: XmppPeer) -> None:
    """Mutual presence subscription between ``jid`` and bob, made with plain slixmpp
    clients before Chinwag signs in as ``jid``: each approves in advance (RFC 6121
    section 3.4), then asks."""
    async with XmppPeer(server, jid, password) as me:
        for one, other in ((me, bob), (bob, me)):
            one.client.send_presence(pto=other.jid, ptype="subscribed")
        for one, other in ((me, bob), (bob, me)):
            one.client.send_presence(pto=other.jid, ptype="subscribe")
        deadline = asyncio.get_running_loop().time() + 20
        while (seen := [await subscriptions(me), await subscriptions(bob)]) != [
            {bob.jid: "both"},
            {jid: "both"},
        ]:
            assert asyncio.get_running_loop().time() < deadline, f"not mutual: {seen}"
            await asyncio.sleep(0.05)


class Presences:
    """The available/unavailable presence stanzas bob gets from one bare address."""

    def __init__(self, bob: XmppPeer, bare: str) -> None:
        self.items: list[Any] = []
        self._bare = bare
        bob.client.add_event_handler("presence", self._add)

    def _add(self, presence: Any) -> None:
        if presence["from"].bare == self._bare and presence["type"] in (
            "available",
            "unavailable",
            "away",
            "xa",
            "dnd",
            "chat",
        ):
            self.items.append(presence)

    def available_after(self, mark: int) -> list[Any]:
        return [p for p in self.items[mark:] if p["type"] != "unavailable"]


async def signed_in_status(app: AppProcess, client: ApiClient) -> int:
    """MyStatus once the account is signed in (not Offline or Connecting any more)."""
    deadline = asyncio.get_running_loop().time() + APP_TIMEOUT
    while True:
        status = int(await client.get(ROOT, MESSENGER, "MyStatus"))
        if status not in (OFFLINE, CONNECTING):
            return status
        if asyncio.get_running_loop().time() > deadline or not app.running():
            raise AssertionError(f"the app never signed in\n{app.diagnostics()}")
        await asyncio.sleep(0.05)


async def quit_app(app: AppProcess, client: ApiClient) -> None:
    assert await client.messenger("Quit") == S_OK
    assert await app.wait_exit() == 0
    await app.close_clients()


async def test_status_and_message_survive_a_restart(
    prosody: ProsodyServer, dbus_bus: Any, tmp_path: Path
) -> None:
    jid, password = prosody.make_user("app")
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        await befriend(prosody, jid, password, bob)
        seen = Presences(bob, jid)
        env = write_profile(tmp_path, jid, password, prosody)

        app = await start_app(tmp_path, env, jid, password, prosody)
        client = await app.client()
        assert await signed_in_status(app, client) == ONLINE
        assert await client.messenger("SetStatus", "us", AWAY, "at lunch") == S_OK
        await eventually(
            lambda: any(
                p["show"] == "away" and p["status"] == "at lunch" for p in seen.available_after(0)
            ),
            "bob sees away 'at lunch'",
        )
        await quit_app(app, client)

        mark = len(seen.items)
        app = await start_app(tmp_path, env, jid, password, prosody)
        client = await app.client()
        assert await signed_in_status(app, client) == AWAY
        first = await eventually(lambda: seen.available_after(mark), "bob sees the app again")
        # the very first presence after the start is the kept one, not Online
        assert (first[0]["show"], first[0]["status"]) == ("away", "at lunch")

        # Changed again (the status message alone too), and kept again, also when the app
        # is killed rather than quit: saved when picked, not at the end.
        assert await client.messenger("SetStatus", "us", OUT_TO_LUNCH, "back at two") == S_OK
        await client.set(ROOT, MESSENGER, "MyStatus", Variant("u", BUSY))
        await eventually(
            lambda: any(
                p["show"] == "dnd" and p["status"] == "back at two"
                for p in seen.available_after(mark)
            ),
            "bob sees busy 'back at two'",
        )
        app.proc.kill()
        await app.wait_exit()
        await app.close_clients()

        # (the killed app's stream may be resumed: then no new presence goes out, and
        # the server goes on with the one it had, so the API is asked)
        app = await start_app(tmp_path, env, jid, password, prosody)
        client = await app.client()
        assert await signed_in_status(app, client) == BUSY
        me = await client.messenger("GetContact", "ss", jid, "")
        assert await client.get(me, CONTACT, "StatusMessage") == "back at two"

        # Offline is a sign-out, not a status to keep: the next start signs in as before.
        assert await client.messenger("Signout") == S_OK
        await quit_app(app, client)
        app = await start_app(tmp_path, env, jid, password, prosody)
        client = await app.client()
        assert await signed_in_status(app, client) == BUSY
        await quit_app(app, client)

    saved = json.loads((tmp_path / "config" / "chinwag" / "status.json").read_text())
    assert saved["accounts"] == {jid: {"status": "busy", "message": "back at two"}}
