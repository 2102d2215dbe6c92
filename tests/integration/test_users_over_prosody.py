"""Issue 13, users over the rig's real Prosody (PEP): the public custom data reaches a
contact who sees our presence (read, and pushed), the private custom data and the
notification choice stay the account's own yet every client of the account reads them
at sign-in, someone who does not see our presence reads nothing, the limits and errors
hold on a real server, and IM ids survive a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chinwag.api.messaging_errors import MessagingError
from chinwag.api.service import Api
from chinwag.api.users import UsersApi
from chinwag.core.errors import RequestRefused
from chinwag.core.events import (
    ContactNicknameChanged,
    ContactPresenceChanged,
    NotificationsChanged,
    SubscriptionRequested,
    SubscriptionsChanged,
    UserEdited,
)
from chinwag.core.ports import XmppConnection
from chinwag.core.users import CUSTOM_DATA, NICK, NOTIFICATIONS, PRIVATE_CUSTOM_DATA
from conftest import Client, CoreMaker
from rig.fakes import FakeWindowHost
from rig.prosody import ProsodyServer

pytestmark = pytest.mark.prosody


async def read(conn: XmppConnection, jid: str, node: str) -> str | None:
    """What a read of ``jid``'s node gives: its text, None, or "refused: <condition>"."""
    try:
        return await conn.fetch_user_data(jid, node)
    except RequestRefused as exc:
        return f"refused: {exc.condition}"


def users_of(client: Client) -> UsersApi:
    return UsersApi(Api(client.core, FakeWindowHost(client.core)))


async def befriend(alice: Client, bob: Client) -> None:
    """Bob subscribes to alice through the API; alice approves (and asks back)."""
    assert await users_of(bob).subscribe([alice.jid]) == []  # pending
    await alice.events.wait(SubscriptionRequested, lambda e: e.jid == bob.jid)
    alice.core.roster.approve(alice.jid, bob.jid)
    await bob.events.wait(SubscriptionsChanged, lambda e: e.subscribed and e.users == (alice.jid,))
    await bob.events.wait(
        ContactPresenceChanged, lambda e: e.jid == alice.jid and e.presence.available
    )


async def test_custom_data_reaches_subscribers_and_private_data_stays_private(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    carol = await cores(prosody, *prosody.make_user("carol"))
    await befriend(alice, bob)
    assert users_of(bob).get_subscriptions() == [alice.jid]

    me = await users_of(alice).edit_user(
        {"custom_data": '{"team": "blue"}', "private_custom_data": '{"pin": 1234}'}
    )
    assert json.loads(me["custom_data"]) == {"team": "blue"}
    assert json.loads(me["private_custom_data"]) == {"pin": 1234}
    assert len(alice.events.of(UserEdited)) == 1  # our own push is no second change

    # bob sees alice's presence: he reads her custom data, and is told of the change
    seen = await users_of(bob).get_user_by_name(alice.jid)
    assert json.loads(seen["custom_data"]) == {"team": "blue"}
    assert "private_custom_data" not in seen
    # the private node is the account's own: bob may not read it
    bob_conn = bob.core.sessions[bob.jid].connection
    assert bob_conn is not None
    private = await read(bob_conn, alice.jid, PRIVATE_CUSTOM_DATA)
    assert private is None or private.startswith("refused: "), private
    # carol does not see alice's presence: nothing to read
    carol_conn = carol.core.sessions[carol.jid].connection
    assert carol_conn is not None
    public = await read(carol_conn, alice.jid, CUSTOM_DATA)
    assert public is None or public.startswith("refused: "), public

    # removing it ("{}") deletes the node: bob reads none
    me = await users_of(alice).edit_user({"custom_data": "{}"})
    assert me["custom_data"] == "{}"
    assert json.loads(me["private_custom_data"]) == {"pin": 1234}
    assert (await users_of(bob).get_user_by_name(alice.jid))["custom_data"] == "{}"


async def test_a_contacts_change_is_pushed_to_subscribers(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    await befriend(alice, bob)
    # PEP sends to whom the server hears presence (and so capabilities, +notify) from:
    # bob approves alice's request back.
    await bob.events.wait(SubscriptionRequested, lambda e: e.jid == alice.jid)
    bob.core.roster.approve(bob.jid, alice.jid)
    await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == bob.jid and e.presence.available
    )
    await users_of(alice).edit_user({"custom_data": '{"mood": "sunny"}'})
    pushed = await bob.events.wait(UserEdited, lambda e: e.user == alice.jid)
    assert json.loads(pushed.custom_data) == {"mood": "sunny"}
    assert pushed.private_custom_data is None


async def test_a_contacts_published_nickname_names_them(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    await befriend(alice, bob)
    await bob.events.wait(SubscriptionRequested, lambda e: e.jid == alice.jid)
    bob.core.roster.approve(bob.jid, alice.jid)
    await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == bob.jid and e.presence.available
    )
    bob_conn = bob.core.sessions[bob.jid].connection
    assert bob_conn is not None
    await bob_conn.publish_user_data(NICK, "Bobby")  # XEP-0172, as any client publishes it
    pushed = await alice.events.wait(ContactNicknameChanged, lambda e: e.jid == bob.jid)
    assert pushed.nickname == "Bobby"
    assert alice.core.roster.display_name(alice.jid, bob.jid) == "Bobby"


async def test_every_client_of_the_account_shares_private_data_and_notifications(
    prosody: ProsodyServer, cores: CoreMaker, tmp_path: Path
) -> None:
    jid, password = prosody.make_user("alice")
    laptop = await cores(prosody, jid, password, root=tmp_path / "laptop", resource="laptop")
    assert await users_of(laptop).manage_notifications(["EditMessage"]) == 0
    await users_of(laptop).edit_user({"private_custom_data": '{"theme": "dark"}'})

    phone = await cores(prosody, jid, password, root=tmp_path / "phone", resource="phone")
    await phone.events.wait(NotificationsChanged)  # read back at sign-in
    await phone.events.wait(UserEdited, lambda e: e.private_custom_data != "{}")
    me = await users_of(phone).get_user_by_name(jid)
    assert me["notifications"] == ["EditMessage"]
    assert json.loads(me["private_custom_data"]) == {"theme": "dark"}

    # a later change on one client reaches the other live
    await users_of(phone).manage_notifications(["SendMessage", "EditMessage"])
    await laptop.events.wait(
        NotificationsChanged, lambda e: e.events == ("SendMessage", "EditMessage")
    )
    assert laptop.core.users.notifications(jid) == ("SendMessage", "EditMessage")


async def test_limits_and_errors_on_a_real_server(prosody: ProsodyServer, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    api = users_of(alice)
    exact = json.dumps({"k": "x" * (5000 - 8)}, separators=(",", ":"))
    assert (await api.edit_user({"custom_data": exact}))["custom_data"] == exact
    conn = alice.core.sessions[alice.jid].connection
    assert conn is not None
    assert await conn.fetch_user_data(alice.jid, CUSTOM_DATA) == exact  # as published

    cases: list[tuple[int, Any]] = [
        (18, api.edit_user({"custom_data": json.dumps({"k": "x" * 5000})})),
        (18, api.edit_user({"custom_data": "[]"})),
        (18, api.edit_user({"private_custom_data": "{broken"})),
        (10001, api.edit_user({"nick": "{}"})),
        (26, api.manage_notifications(["Typing"])),
        (25, api.get_user_by_name("nobody@localhost")),
        (25, api.get_user_by_im_id(424242)),
        (22, api.get_users_by_name([alice.jid] * 51)),
    ]
    for code, call in cases:
        with pytest.raises(MessagingError) as info:
            await call
        assert info.value.code == code, info.value
    assert await conn.fetch_user_data(alice.jid, CUSTOM_DATA) == exact  # nothing changed
    assert await conn.fetch_user_data(alice.jid, NOTIFICATIONS) is None


async def test_im_ids_survive_a_restart(
    prosody: ProsodyServer, cores: CoreMaker, tmp_path: Path
) -> None:
    jid, password = prosody.make_user("alice")
    root = tmp_path / "alice"
    first = await cores(prosody, jid, password, root=root)
    api = users_of(first)
    ids = {a: await api.im_id(a) for a in ("x@localhost", "y@localhost", jid)}
    await first.core.shutdown()

    again = await cores(prosody, jid, password, root=root)
    api = users_of(again)
    assert {a: await api.im_id(a) for a in ids} == ids
    assert (await api.get_user_by_im_id(ids["y@localhost"]))["name"] == "y@localhost"
    assert await api.im_id("z@localhost") not in ids.values()
