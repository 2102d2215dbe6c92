"""End to end: the contact list, groups, accounts, blocking and status over the automation
API (spec ``automation-api.md`` sections 3, 4 and 7), with real XMPP peers on Prosody.

Two kinds of peer are used: ``bob``, another account (slixmpp approves subscription
requests and asks back by default), and ``me2``, a second resource of the app's own
account, which stands in for "the user on another device" -- it approves bob's request on
the account's behalf and pushes roster changes (names, groups) that the API has no method
for."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from dbus_next import Variant
from test_api_messenger import (
    ACCOUNT,
    AWAY,
    BE_RIGHT_BACK,
    BUSY,
    CONTACT,
    GROUP,
    INVISIBLE,
    MESSENGER,
    OFFLINE,
    ON_THE_PHONE,
    ONLINE,
    OUT_TO_LUNCH,
    ROOT,
    S_FALSE,
    S_OK,
    TIMEOUT,
    UNKNOWN,
    alive,
    expect_any_error,
    expect_error,
    my,
    now,
    prop,
    signal_after,
    until,
)

from rig.app import ApiClient, AppProcess, SignalLog
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

#: Properties.Set with a value of the wrong type: the spec's InvalidArgument, or the
#: standard errors of org.freedesktop.DBus.Properties (the spec does not say which).
WRONG_TYPE_ERRORS = (
    "im.chinwag.Error.InvalidArgument",
    "org.freedesktop.DBus.Error.InvalidArgs",
    "org.freedesktop.DBus.Error.InvalidSignature",
)


SUBSCRIPTION_TYPES = ("subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "error")


class PresenceLog:
    """Presence stanzas a slixmpp client receives from one bare address."""

    def __init__(self, client: Any, bare: str) -> None:
        self.bare = bare
        self.items: list[Any] = []
        client.add_event_handler("presence", self._add)

    def _add(self, presence: Any) -> None:
        kind = presence["type"]
        if presence["from"].bare == self.bare and kind not in SUBSCRIPTION_TYPES:
            self.items.append(presence)

    async def wait_for(
        self, mark: int, match: Callable[[Any], bool], what: str, timeout: float = TIMEOUT
    ) -> Any:
        deadline = now() + timeout
        while True:
            for presence in self.items[mark:]:
                if match(presence):
                    return presence
            if now() > deadline:
                seen = [
                    (str(p["from"]), p["type"], p["show"], p["status"]) for p in self.items[mark:]
                ]
                raise AssertionError(f"no presence {what} within {timeout}s; got {seen}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def peer(server: ProsodyServer, jid: str, password: str) -> AsyncIterator[XmppPeer]:
    async with XmppPeer(server, jid, password) as p:
        yield p


async def watched(app: AppProcess) -> tuple[ApiClient, SignalLog]:
    client = await app.client()
    return client, await client.watch()


# --------------------------------------------------------------------------- contact list


async def test_add_and_remove_contacts(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)
    carol = "carol-list@localhost"
    path = await client.messenger("GetContact", "ss", carol, "")

    assert await client.messenger("AddContact", "s", carol) == S_OK
    assert await signals.wait_for("OnContactListAdd", lambda b: b[1] == path) == [S_OK, path]
    assert path in await my(client, "MyContacts")
    await expect_error(client.messenger("AddContact", "s", carol), "AlreadyInList")
    assert len([b for b in signals.named("OnContactListAdd") if b[1] == path]) == 1

    for bad in ("", "carol@@localhost", "carol list@localhost"):
        await expect_error(client.messenger("AddContact", "s", bad), "InvalidArgument")

    # removing by path; then it is gone, and removing it again finds nobody
    mark = len(signals.items)
    assert await client.messenger("RemoveContact", "v", Variant("o", path)) == S_OK
    assert await signal_after(signals, mark, "OnContactListRemove") == [S_OK, path]
    assert path not in await my(client, "MyContacts")
    await expect_error(client.messenger("RemoveContact", "v", Variant("o", path)), "UserNotFound")
    await expect_error(
        client.messenger("RemoveContact", "v", Variant("s", "nobody-list@localhost")),
        "UserNotFound",
    )

    # adding again after a removal works, and removing by sign-in name too
    mark = len(signals.items)
    assert await client.messenger("AddContact", "s", carol) == S_OK
    assert await signal_after(signals, mark, "OnContactListAdd") == [S_OK, path]
    mark = len(signals.items)
    assert await client.messenger("RemoveContact", "v", Variant("s", carol)) == S_OK
    assert await signal_after(signals, mark, "OnContactListRemove") == [S_OK, path]

    for bad_variant in (Variant("u", 1), Variant("as", [carol]), Variant("s", "")):
        await expect_error(client.messenger("RemoveContact", "v", bad_variant), "InvalidArgument")
    assert await my(client, "MyContacts") == []
    await alive(app, client)


# --------------------------------------------------------------------------- groups


async def test_groups(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)

    friends = await client.messenger("CreateGroup", "s", "Friends")
    assert friends.startswith(ROOT + "/"), friends
    assert await signals.wait_for("OnGroupAdded", lambda b: b[1] == friends) == [S_OK, friends]
    assert friends in await my(client, "MyGroups")
    assert await prop(client, friends, GROUP, "Name") == "Friends"
    assert await prop(client, friends, GROUP, "Contacts") == []
    await expect_error(client.messenger("CreateGroup", "s", "Friends"), "GroupAlreadyExists")
    await expect_error(client.messenger("CreateGroup", "s", ""), "BadGroupName")
    assert len(await my(client, "MyGroups")) == 1

    # two contacts in the list
    carol, dave = "carol-grp@localhost", "dave-grp@localhost"
    paths = {}
    for jid in (carol, dave):
        paths[jid] = await client.messenger("GetContact", "ss", jid, "")
        assert await client.messenger("AddContact", "s", jid) == S_OK
        await signals.wait_for("OnContactListAdd", lambda b, p=paths[jid]: b == [S_OK, p])

    # add by path and by sign-in name
    mark = len(signals.items)
    assert await client.call(friends, GROUP, "AddContact", "v", [Variant("o", paths[carol])]) == [
        S_OK
    ]
    assert await signal_after(signals, mark, "OnContactAddedToGroup") == [
        S_OK,
        friends,
        paths[carol],
    ]
    mark = len(signals.items)
    assert await client.call(friends, GROUP, "AddContact", "v", [Variant("s", dave)]) == [S_OK]
    assert await signal_after(signals, mark, "OnContactAddedToGroup") == [
        S_OK,
        friends,
        paths[dave],
    ]
    await until(
        lambda: prop(client, friends, GROUP, "Contacts"),
        lambda c: sorted(c) == sorted(paths.values()),
        "Group1.Contacts",
    )
    assert await prop(client, paths[carol], CONTACT, "Groups") == [friends]

    # not in the contact list / wrong variant
    await expect_error(
        client.call(friends, GROUP, "AddContact", "v", [Variant("s", "erin-grp@localhost")]),
        "UserNotFound",
    )
    for bad in (Variant("u", 1), Variant("s", ""), Variant("s", "x@@y")):
        await expect_error(client.call(friends, GROUP, "AddContact", "v", [bad]), "InvalidArgument")
        await expect_error(
            client.call(friends, GROUP, "RemoveContact", "v", [bad]), "InvalidArgument"
        )

    # rename: the same object, a new name
    mark = len(signals.items)
    await client.set(friends, GROUP, "Name", Variant("s", "Close friends"))
    assert await signal_after(signals, mark, "OnGroupNameChanged") == [S_OK, friends]
    assert await prop(client, friends, GROUP, "Name") == "Close friends"
    assert friends in await my(client, "MyGroups")
    work = await client.messenger("CreateGroup", "s", "Work")
    await signals.wait_for("OnGroupAdded", lambda b: b == [S_OK, work])
    await expect_error(
        client.set(friends, GROUP, "Name", Variant("s", "Work")), "GroupAlreadyExists"
    )
    await expect_error(client.set(friends, GROUP, "Name", Variant("s", "")), "BadGroupName")
    await expect_any_error(client.set(friends, GROUP, "Name", Variant("u", 5)), *WRONG_TYPE_ERRORS)
    assert await prop(client, friends, GROUP, "Name") == "Close friends"
    await until(
        lambda: prop(client, paths[dave], CONTACT, "Groups"),
        lambda g: g == [friends],
        "a member's Groups after the rename",
    )

    # remove; then removing again is UserNotGroupMember
    mark = len(signals.items)
    assert await client.call(friends, GROUP, "RemoveContact", "v", [Variant("o", paths[dave])]) == [
        S_OK
    ]
    assert await signal_after(signals, mark, "OnContactRemovedFromGroup") == [
        S_OK,
        friends,
        paths[dave],
    ]
    await until(
        lambda: prop(client, friends, GROUP, "Contacts"),
        lambda c: c == [paths[carol]],
        "Group1.Contacts after RemoveContact",
    )
    await expect_error(
        client.call(friends, GROUP, "RemoveContact", "v", [Variant("s", dave)]),
        "UserNotGroupMember",
    )
    await expect_error(
        client.call(work, GROUP, "RemoveContact", "v", [Variant("o", paths[carol])]),
        "UserNotGroupMember",
    )
    await alive(app, client)


async def test_groups_changed_on_another_device(chinwag_app: AppProcess) -> None:
    """A roster push from another resource of the account: a group appears with its first
    member and disappears with its last one; the API follows, and a vanished group answers
    GroupDoesNotExist."""
    app = chinwag_app
    client, signals = await watched(app)
    carol = "carol-dev@localhost"
    carol_path = await client.messenger("GetContact", "ss", carol, "")
    async with peer(app.prosody, app.jid, app.password) as me2:
        await me2.client.update_roster(carol, name="Carol", groups=["Chess"])
        added = await signals.wait_for("OnContactListAdd", lambda b: b[1] == carol_path)
        assert added == [S_OK, carol_path]
        group = (await signals.wait_for("OnGroupAdded"))[1]
        assert await prop(client, group, GROUP, "Name") == "Chess"
        assert await signals.wait_for("OnContactAddedToGroup") == [S_OK, group, carol_path]
        assert group in await my(client, "MyGroups")

        mark = len(signals.items)
        await me2.client.update_roster(carol, name="Carol", groups=[])
        assert await signal_after(signals, mark, "OnContactRemovedFromGroup") == [
            S_OK,
            group,
            carol_path,
        ]
        assert await signal_after(signals, mark, "OnGroupRemoved") == [S_OK, group]
        assert group not in await my(client, "MyGroups")

    await expect_error(
        client.call(group, GROUP, "AddContact", "v", [Variant("o", carol_path)]),
        "GroupDoesNotExist",
    )
    await expect_error(
        client.call(group, GROUP, "RemoveContact", "v", [Variant("o", carol_path)]),
        "GroupDoesNotExist",
    )
    await expect_error(client.set(group, GROUP, "Name", Variant("s", "Go")), "GroupDoesNotExist")
    await alive(app, client)


# --------------------------------------------------------------------------- names


async def test_contact_friendly_name_change(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)
    dave = "dave-name@localhost"
    path = await client.messenger("GetContact", "ss", dave, "")
    assert await client.messenger("AddContact", "s", dave) == S_OK
    await signals.wait_for("OnContactListAdd", lambda b: b == [S_OK, path])
    before = await prop(client, path, CONTACT, "FriendlyName")
    assert before  # a contact without a roster name still has a name to show

    async with peer(app.prosody, app.jid, app.password) as me2:
        mark = len(signals.items)
        await me2.client.update_roster(dave, name="Dave the Builder", groups=[])
        changed = await signal_after(signals, mark, "OnContactFriendlyNameChange")
        assert changed == [S_OK, path, before]
        assert await prop(client, path, CONTACT, "FriendlyName") == "Dave the Builder"

        mark = len(signals.items)
        await me2.client.update_roster(dave, name="Davey", groups=[])
        changed = await signal_after(signals, mark, "OnContactFriendlyNameChange")
        assert changed == [S_OK, path, "Dave the Builder"]
        assert await prop(client, path, CONTACT, "FriendlyName") == "Davey"
    await alive(app, client)


# --------------------------------------------------------------------------- blocking


async def test_blocking_a_contact(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)
    bob_jid, bob_password = app.prosody.make_user("bob")
    path = await client.messenger("GetContact", "ss", bob_jid, "")
    assert await prop(client, path, CONTACT, "Blocked") is False

    async with peer(app.prosody, bob_jid, bob_password) as bob:
        mark = len(signals.items)
        await client.set(path, CONTACT, "Blocked", Variant("b", True))
        assert await signal_after(signals, mark, "OnContactBlockChange") == [S_OK, path, True]
        assert await prop(client, path, CONTACT, "Blocked") is True

        bob.send_chat(app.jid, "while blocked")
        await bob.client.get_roster()  # the server has handled the message before this
        mark = len(signals.items)
        await client.set(path, CONTACT, "Blocked", Variant("b", False))
        assert await signal_after(signals, mark, "OnContactBlockChange") == [S_OK, path, False]
        assert await prop(client, path, CONTACT, "Blocked") is False
        bob.send_chat(app.jid, "after unblocking")

        def text(body: list[Any]) -> str:
            parts = body[0]
            return str(parts[1]["content"].value) if len(parts) > 1 else ""

        await signals.wait_for("MessageReceived", lambda b: text(b) == "after unblocking")
        texts = [text(b) for b in signals.named("MessageReceived")]
        assert "while blocked" not in texts, texts

    await expect_any_error(
        client.set(path, CONTACT, "Blocked", Variant("s", "yes")), *WRONG_TYPE_ERRORS
    )
    assert await prop(client, path, CONTACT, "Blocked") is False
    await alive(app, client)


# --------------------------------------------------------------------------- status


async def befriend(
    app: AppProcess, client: ApiClient, signals: SignalLog, bob: XmppPeer
) -> tuple[str, PresenceLog, str]:
    """Mutual subscription between the app's account and bob; returns bob's contact path,
    the log of the presence of the app's account as bob sees it, and the app's resource."""
    bob_path = await client.messenger("GetContact", "ss", bob.jid, "")
    seen = PresenceLog(bob.client, app.jid)
    async with peer(app.prosody, app.jid, app.password) as me2:
        other_resource = me2.client.boundjid.resource
        # the app asks; bob's client approves and asks back; me2 approves that for the account
        assert await client.messenger("AddContact", "s", bob.jid) == S_OK
        assert await signals.wait_for("OnContactListAdd", lambda b: b[1] == bob_path) == [
            S_OK,
            bob_path,
        ]
        await signals.wait_for("OnContactStatusChange", lambda b: b == [bob_path, ONLINE])
        me2.client.send_presence(pto=bob.jid, ptype="subscribed")
        first = await seen.wait_for(
            0,
            lambda p: p["type"] != "unavailable" and p["from"].resource != other_resource,
            "from the app to bob",
        )
    return bob_path, seen, str(first["from"].resource)


async def test_own_status_and_contact_status(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)
    me = await client.messenger("GetContact", "ss", app.jid, "")
    bob_jid, bob_password = app.prosody.make_user("bob")
    async with peer(app.prosody, bob_jid, bob_password) as bob:
        bob_path, seen, resource = await befriend(app, client, signals, bob)
        assert await prop(client, bob_path, CONTACT, "Status") == ONLINE

        def from_app(presence: Any) -> bool:
            return bool(presence["from"].resource == resource)

        # each MISTATUS a user can pick, and what bob sees (section 3)
        steps = [
            (BUSY, "dnd"),
            (AWAY, "away"),
            (ON_THE_PHONE, "dnd"),
            (BE_RIGHT_BACK, "away"),
            (OUT_TO_LUNCH, "xa"),
            (INVISIBLE, None),
            (ONLINE, ""),
        ]
        for status, show in steps:
            message = f"status 0x{status:02X}"
            mark, seen_mark = len(signals.items), len(seen.items)
            assert await client.messenger("SetStatus", "us", status, message) == S_OK
            assert await signal_after(signals, mark, "OnMyStatusChange") == [S_OK, status]
            await signal_after(
                signals, mark, "OnContactStatusChange", lambda b, s=status: b == [me, s]
            )
            assert await my(client, "MyStatus") == status
            assert await prop(client, me, CONTACT, "Status") == status
            assert await prop(client, me, CONTACT, "StatusMessage") == message
            if show is None:
                await seen.wait_for(
                    seen_mark,
                    lambda p: from_app(p) and p["type"] == "unavailable",
                    "unavailable (invisible)",
                )
            else:
                got = await seen.wait_for(
                    seen_mark,
                    lambda p, s=show: (
                        from_app(p)
                        and p["type"] != "unavailable"
                        and p["show"] in ((s, "chat") if s == "" else (s,))
                    ),
                    f"show={show!r} for 0x{status:02X}",
                )
                assert got["status"] == message

        # unchanged: S_FALSE and no signal
        mark = len(signals.items)
        assert (
            await client.messenger("SetStatus", "us", ONLINE, f"status 0x{ONLINE:02X}") == S_FALSE
        )
        for bad in (0x9999, 0x03, 0xFFFFFFFF):
            await expect_error(client.messenger("SetStatus", "us", bad, ""), "InvalidArgument")
        await expect_error(
            client.set(ROOT, MESSENGER, "MyStatus", Variant("u", 0x9999)), "InvalidArgument"
        )
        assert await my(client, "MyStatus") == ONLINE
        assert [m for m, _ in signals.items[mark:] if m == "OnMyStatusChange"] == []

        # writing MyStatus keeps the status message
        mark = len(signals.items)
        assert await client.messenger("SetStatus", "us", AWAY, "gone fishing") == S_OK
        await signal_after(signals, mark, "OnMyStatusChange", lambda b: b == [S_OK, AWAY])
        mark, seen_mark = len(signals.items), len(seen.items)
        await client.set(ROOT, MESSENGER, "MyStatus", Variant("u", BUSY))
        assert await signal_after(signals, mark, "OnMyStatusChange") == [S_OK, BUSY]
        assert await my(client, "MyStatus") == BUSY
        got = await seen.wait_for(
            seen_mark, lambda p: from_app(p) and p["show"] == "dnd", "dnd after MyStatus"
        )
        assert got["status"] == "gone fishing"
        assert await prop(client, me, CONTACT, "StatusMessage") == "gone fishing"

        # bob's presence as the app reads it (section 3: incoming show -> MISTATUS)
        for show, status in (("dnd", BUSY), ("xa", AWAY), ("chat", ONLINE), ("away", AWAY)):
            mark = len(signals.items)
            bob.client.send_presence(pshow=show, pstatus=f"bob is {show}")
            assert await signal_after(
                signals, mark, "OnContactStatusChange", lambda b: b[0] == bob_path
            ) == [bob_path, status], f"incoming show={show}"
            assert await prop(client, bob_path, CONTACT, "Status") == status
            assert await prop(client, bob_path, CONTACT, "StatusMessage") == f"bob is {show}"
        mark = len(signals.items)
    await signal_after(signals, mark, "OnContactStatusChange", lambda b: b == [bob_path, OFFLINE])
    assert await prop(client, bob_path, CONTACT, "Status") == OFFLINE
    await alive(app, client)


async def test_contact_without_subscription_reads_unknown(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)
    erin = "erin-unknown@localhost"  # nobody answers: the subscription stays pending
    path = await client.messenger("GetContact", "ss", erin, "")
    assert await client.messenger("AddContact", "s", erin) == S_OK
    await signals.wait_for("OnContactListAdd", lambda b: b == [S_OK, path])
    assert await prop(client, path, CONTACT, "Status") == UNKNOWN
    props = await client.get_all(path, CONTACT)
    assert props["SigninName"] == erin
    assert props["IsSelf"] is False
    assert props["ServiceName"] == "XMPP"
    assert props["ServiceId"] == await my(client, "MyServiceId")


# --------------------------------------------------------------------------- accounts


async def test_account_object(chinwag_app: AppProcess) -> None:
    app = chinwag_app
    client, signals = await watched(app)
    accounts = await my(client, "Accounts")
    assert len(accounts) == 1
    account = accounts[0]
    props = await client.get_all(account, ACCOUNT)
    assert props == {"SigninName": app.jid, "Enabled": True, "Status": ONLINE, "Protocol": "xmpp"}

    # the account's Status follows the own status
    mark = len(signals.items)
    assert await client.messenger("SetStatus", "us", BUSY, "") == S_OK
    await signal_after(signals, mark, "OnMyStatusChange", lambda b: b == [S_OK, BUSY])
    assert await prop(client, account, ACCOUNT, "Status") == BUSY

    # disabling signs it out
    mark = len(signals.items)
    await client.set(account, ACCOUNT, "Enabled", Variant("b", False))
    assert await prop(client, account, ACCOUNT, "Enabled") is False
    await signal_after(signals, mark, "OnSignout")
    await until(lambda: prop(client, account, ACCOUNT, "Status"), lambda s: s == OFFLINE, "Status")
    assert await my(client, "MyStatus") == OFFLINE
    await expect_error(
        client.messenger("InstantMessage", "v", Variant("s", "bob@localhost")), "NotLoggedOn"
    )
    await expect_any_error(
        client.set(account, ACCOUNT, "Enabled", Variant("s", "yes")), *WRONG_TYPE_ERRORS
    )
    await expect_any_error(client.set(account, ACCOUNT, "Protocol", Variant("s", "irc")))
    await expect_any_error(client.set(account, ACCOUNT, "SigninName", Variant("s", "x@y")))

    # enabling again: it can sign in
    mark = len(signals.items)
    await client.set(account, ACCOUNT, "Enabled", Variant("b", True))
    assert await prop(client, account, ACCOUNT, "Enabled") is True
    assert await client.messenger("AutoSignin") in (S_OK, S_FALSE)
    assert await signal_after(signals, mark, "OnSignin") == [S_OK], app.diagnostics()
    await until(
        lambda: prop(client, account, ACCOUNT, "Status"), lambda s: s in (ONLINE, BUSY), "Status"
    )
    assert await prop(client, account, ACCOUNT, "SigninName") == app.jid
    assert await prop(client, account, ACCOUNT, "Protocol") == "xmpp"
    await alive(app, client)
