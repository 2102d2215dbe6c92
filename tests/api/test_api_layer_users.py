"""The API layer's users (conversations-api.md section 3, issue 13): look-ups by name and
IM id with the spec's codes and limits, EditUser through PEP (the fake server keeps the
nodes and pushes them back, as PEP does), SetOnline, subscriptions and notifications.
Called directly: plain values in and out, MessagingError for every refusal."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

import api_rig
import pytest
from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.messaging_errors import MessagingError
from chinwag.api.users import UsersApi
from chinwag.core.errors import RequestRefused
from chinwag.core.events import (
    Event,
    NotificationsChanged,
    OnlineSet,
    SubscriptionsChanged,
    UserEdited,
)
from chinwag.core.models import Contact, Show, Subscription
from chinwag.core.users import CUSTOM_DATA, NICK, NOTIFICATIONS, PRIVATE_CUSTOM_DATA

CAROL = "carol@localhost"
E = TypeVar("E", bound=Event)


def users(rig: ApiLayerRig) -> UsersApi:
    return UsersApi(rig.api)


def recorded(rig: ApiLayerRig, kind: type[E]) -> list[E]:
    seen: list[E] = []
    rig.core.bus.subscribe(kind, seen.append)
    return seen


def roster(rig: ApiLayerRig, *contacts: Contact) -> None:
    rig.connection.listener.on_roster(list(contacts), "", False)


async def refused(code: int, call: Callable[[], Any]) -> MessagingError:
    async def run() -> None:
        result = call()
        if inspect.isawaitable(result):
            await result

    with pytest.raises(MessagingError) as info:
        await run()
    assert info.value.code == code, info.value
    assert str(info.value).startswith(f"{code}: ")
    return info.value


# -- look-ups ----------------------------------------------------------------------------


async def test_oneself_has_every_field(rig: ApiLayerRig) -> None:
    me = await users(rig).get_user_by_name(ME)
    assert me["name"] == ME
    assert me["display_name"] == "Me"  # the account's nickname
    assert me["custom_data"] == "{}"
    assert me["private_custom_data"] == "{}"
    assert me["notifications"] == ["SendMessage"]
    assert me["conversations"] == []
    assert me["left_conversations"] == []
    assert isinstance(me["im_id"], int)
    assert me["im_id"] > 0
    assert (await users(rig).get_user_by_im_id(me["im_id"]))["name"] == ME


async def test_a_contact_has_a_stable_im_id_and_no_private_fields(rig: ApiLayerRig) -> None:
    roster(rig, Contact(ME, BOB, name="Bobby", subscription=Subscription.BOTH))
    rig.connection.user_data[(BOB, CUSTOM_DATA)] = '{"colour": "green"}'
    api = users(rig)
    bob = await api.get_user_by_name("Bob@LOCALHOST/phone")  # any form of the address
    assert bob["name"] == BOB
    assert bob["display_name"] == "Bobby"  # the roster name first
    assert json.loads(bob["custom_data"]) == {"colour": "green"}
    assert "private_custom_data" not in bob
    assert "conversations" not in bob
    assert (await api.get_user_by_name(BOB))["im_id"] == bob["im_id"]
    assert await api.im_id(BOB) == bob["im_id"]
    assert api.address_of(bob["im_id"]) == BOB


async def test_display_name_falls_back_to_the_published_nickname(rig: ApiLayerRig) -> None:
    roster(rig, Contact(ME, CAROL, subscription=Subscription.TO))
    rig.connection.user_data[(CAROL, NICK)] = " Caz "
    assert (await users(rig).get_user_by_name(CAROL))["display_name"] == "Caz"
    del rig.connection.user_data[(CAROL, NICK)]
    assert (await users(rig).get_user_by_name(CAROL))["display_name"] == CAROL


async def test_someone_met_in_a_conversation_is_known_by_their_im_id(rig: ApiLayerRig) -> None:
    api = users(rig)
    await refused(25, lambda: api.get_user_by_name("stranger@localhost"))
    given = await api.im_id("stranger@localhost")  # as the conversation layer does
    found = await api.get_user_by_name("stranger@localhost")
    assert found["im_id"] == given
    assert found["display_name"] == "stranger@localhost"


async def test_look_up_refusals(rig: ApiLayerRig) -> None:
    api = users(rig)
    await refused(25, lambda: api.get_user_by_name("nobody@localhost"))
    await refused(25, lambda: api.get_user_by_im_id(987654))
    await refused(10001, lambda: api.get_user_by_name("not an address@"))
    await refused(10001, lambda: api.get_user_by_name(""))
    await refused(10001, lambda: api.get_user_by_im_id(True))  # type: ignore[arg-type]
    await refused(25, lambda: api.get_users_by_name([ME, "nobody@localhost"]))


async def test_at_most_fifty_users_per_look_up(rig: ApiLayerRig) -> None:
    api = users(rig)
    contacts = [Contact(ME, f"u{i}@localhost") for i in range(51)]
    roster(rig, *contacts)
    fifty = await api.get_users_by_name([c.jid for c in contacts[:50]])
    assert [u["name"] for u in fifty] == [c.jid for c in contacts[:50]]
    assert len({u["im_id"] for u in fifty}) == 50
    by_id = await api.get_users_by_im_id([u["im_id"] for u in fifty])
    assert by_id == fifty
    await refused(22, lambda: api.get_users_by_name([c.jid for c in contacts]))
    await refused(22, lambda: api.get_users_by_im_id(list(range(1, 52))))
    assert await api.get_users_by_name([]) == []


async def test_a_contact_we_may_not_read_has_no_custom_data(rig: ApiLayerRig) -> None:
    roster(rig, Contact(ME, BOB))
    rig.connection.user_data_refusal = RequestRefused("forbidden", "forbidden")
    assert (await users(rig).get_user_by_name(BOB))["custom_data"] == "{}"


# -- EditUser ----------------------------------------------------------------------------


async def test_edit_user_publishes_both_nodes_and_fires_once(rig: ApiLayerRig) -> None:
    edits = recorded(rig, UserEdited)
    api = users(rig)
    me = await api.edit_user({"custom_data": '{"a": 1}', "private_custom_data": '{"pin": "x"}'})
    assert json.loads(me["custom_data"]) == {"a": 1}
    assert json.loads(me["private_custom_data"]) == {"pin": "x"}
    assert json.loads(rig.connection.user_data[(ME, CUSTOM_DATA)]) == {"a": 1}
    assert json.loads(rig.connection.user_data[(ME, PRIVATE_CUSTOM_DATA)]) == {"pin": "x"}
    assert len(edits) == 1  # the server's pushes of our own change are no other change
    assert edits[0].user == ME
    assert json.loads(edits[0].custom_data) == {"a": 1}

    me = await api.edit_user({"private_custom_data": "{}"})  # removed; custom kept
    assert me["private_custom_data"] == "{}"
    assert json.loads(me["custom_data"]) == {"a": 1}
    assert (ME, PRIVATE_CUSTOM_DATA) not in rig.connection.user_data
    assert len(edits) == 2
    assert edits[1].private_custom_data == "{}"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"custom_data": "not json"}, 18),
        ({"custom_data": "[1, 2]"}, 18),
        ({"private_custom_data": '"text"'}, 18),
        ({"custom_data": json.dumps({"k": "x" * 5000})}, 18),
        ({"custom_data": '{"ok": 1}', "private_custom_data": "{"}, 18),
        ({"title": "{}"}, 10001),
        ({"custom_data": 5}, 10001),
    ],
)
async def test_edit_user_refuses_bad_data_and_changes_nothing(
    rig: ApiLayerRig, changes: dict[str, Any], code: int
) -> None:
    edits = recorded(rig, UserEdited)
    await refused(code, lambda: users(rig).edit_user(changes))
    assert rig.connection.user_data == {}
    assert edits == []


async def test_custom_data_up_to_the_limit_is_kept(rig: ApiLayerRig) -> None:
    text = json.dumps({"k": "x" * (5000 - 8)}, separators=(",", ":"))
    assert len(text.encode()) == 5000
    me = await users(rig).edit_user({"custom_data": text})
    assert me["custom_data"] == text


async def test_a_refused_publish_is_the_spec_code_and_keeps_what_was(rig: ApiLayerRig) -> None:
    api = users(rig)
    await api.edit_user({"custom_data": '{"a": 1}'})
    rig.connection.user_data_refusal = RequestRefused("not allowed", "not-allowed")
    await refused(12, lambda: api.edit_user({"custom_data": '{"a": 2}'}))
    rig.connection.user_data_refusal = None
    assert json.loads((await api.get_user_by_name(ME))["custom_data"]) == {"a": 1}


async def test_edit_user_needs_a_connection(offline_rig: ApiLayerRig) -> None:
    await refused(10003, lambda: users(offline_rig).edit_user({"custom_data": "{}"}))


async def test_pushes_of_other_clients_and_contacts_fire_on_edit_user(rig: ApiLayerRig) -> None:
    edits = recorded(rig, UserEdited)
    listener = rig.connection.listener
    listener.on_user_data(ME, PRIVATE_CUSTOM_DATA, '{"from": "phone"}')
    listener.on_user_data(BOB, CUSTOM_DATA, '{"b": 2}')
    listener.on_user_data(BOB, CUSTOM_DATA, '{"b": 2}')  # no change: no event
    listener.on_user_data(BOB, PRIVATE_CUSTOM_DATA, '{"forged": 1}')  # not ours: nothing
    assert [(e.user, e.private_custom_data) for e in edits] == [
        (ME, '{"from":"phone"}'),
        (BOB, None),
    ]
    assert json.loads(users(rig)._users.private_custom_data(ME)) == {"from": "phone"}


async def test_own_data_is_read_back_at_sign_in(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: dict[tuple[str, str], str] = {
        (ME, NOTIFICATIONS): '{"events": ["EditMessage"]}',
        (ME, CUSTOM_DATA): '{"c": 3}',
        (ME, PRIVATE_CUSTOM_DATA): '{"p": 4}',
    }

    class SameServer(api_rig.ScriptedConnection):
        """Every connection reads the same PEP nodes (another client wrote them)."""

        def __init__(self, listener: Any) -> None:
            super().__init__(listener)
            self.user_data = server

    monkeypatch.setattr(api_rig, "ScriptedConnection", SameServer)
    rig = await ApiLayerRig.start(tmp_path, sign_in=False)
    try:
        ready = recorded(rig, NotificationsChanged)
        edits = recorded(rig, UserEdited)
        assert (await users(rig).get_user_by_name(ME))["notifications"] == ["SendMessage"]
        await rig.core.sign_in(ME)
        await rig.core.users.drain()
        me = await users(rig).get_user_by_name(ME)
        assert me["notifications"] == ["EditMessage"]
        assert json.loads(me["custom_data"]) == {"c": 3}
        assert json.loads(me["private_custom_data"]) == {"p": 4}
        assert [c.events for c in ready] == [("EditMessage",)]
        assert edits
        assert edits[-1].private_custom_data == '{"p":4}'
    finally:
        await rig.close()


# -- SetOnline ---------------------------------------------------------------------------


async def test_set_online_is_available_or_extended_away(rig: ApiLayerRig) -> None:
    sets = recorded(rig, OnlineSet)
    session = rig.core.sessions[ME]
    assert users(rig).set_online(False) == 0
    assert session.show is Show.XA
    assert session.wanted
    assert users(rig).set_online(True) == 0
    assert session.show is Show.ONLINE
    assert [s.online for s in sets] == [False, True]
    await refused(10001, lambda: users(rig).set_online(1))  # type: ignore[arg-type]


async def test_set_online_needs_a_connection(offline_rig: ApiLayerRig) -> None:
    await refused(10003, lambda: users(offline_rig).set_online(True))


# -- subscriptions -----------------------------------------------------------------------


async def test_subscribe_is_pending_until_approved(rig: ApiLayerRig) -> None:
    changes = recorded(rig, SubscriptionsChanged)
    api = users(rig)
    assert await api.subscribe([BOB]) == []  # asked; bob has not approved
    assert api.get_subscriptions() == []
    assert changes == []
    roster(rig, Contact(ME, BOB, subscription=Subscription.TO))  # bob approves
    assert api.get_subscriptions() == [BOB]
    assert [(c.users, c.subscribed) for c in changes] == [((BOB,), True)]
    roster(rig, Contact(ME, CAROL, subscription=Subscription.BOTH))
    assert await api.subscribe([BOB]) == [BOB, CAROL]
    assert api.unsubscribe([BOB]) == [BOB, CAROL]  # until the server's push
    roster(rig, Contact(ME, BOB, subscription=Subscription.NONE))
    assert api.get_subscriptions() == [CAROL]
    api.unsubscribe_from_all()
    rig.connection.listener.on_roster(
        [Contact(ME, CAROL, subscription=Subscription.REMOVE)], "", False
    )
    assert api.get_subscriptions() == []
    assert [(c.users, c.subscribed) for c in changes] == [
        ((BOB,), True),
        ((CAROL,), True),
        ((BOB,), False),
        ((CAROL,), False),
    ]


async def test_subscription_refusals(rig: ApiLayerRig, offline_rig: ApiLayerRig) -> None:
    await refused(10001, lambda: users(rig).subscribe(["bad address@"]))
    await refused(10001, lambda: users(rig).subscribe([ME]))
    await refused(10001, lambda: users(rig).subscribe(BOB))  # type: ignore[arg-type]
    await refused(10003, lambda: users(offline_rig).subscribe([BOB]))
    await refused(10003, lambda: users(offline_rig).unsubscribe_from_all())


# -- ManageNotifications -----------------------------------------------------------------


async def test_manage_notifications_is_stored_in_private_pep(rig: ApiLayerRig) -> None:
    changed = recorded(rig, NotificationsChanged)
    api = users(rig)
    assert await api.manage_notifications(["EditMessage", "SendMessage"]) == 0
    stored = json.loads(rig.connection.user_data[(ME, NOTIFICATIONS)])
    assert stored == {"events": ["SendMessage", "EditMessage"]}
    assert (await api.get_user_by_name(ME))["notifications"] == ["SendMessage", "EditMessage"]
    assert await api.manage_notifications([]) == 0
    assert (await api.get_user_by_name(ME))["notifications"] == []
    assert [c.events for c in changed] == [("SendMessage", "EditMessage"), ()]


async def test_manage_notifications_refuses_other_events(rig: ApiLayerRig) -> None:
    await refused(26, lambda: users(rig).manage_notifications(["SendMessage", "Typing"]))
    await refused(26, lambda: users(rig).manage_notifications(["sendMessage"]))
    assert (ME, NOTIFICATIONS) not in rig.connection.user_data
