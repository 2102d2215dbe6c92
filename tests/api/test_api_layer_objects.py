"""The API layer: contacts, groups and accounts (automation-api.md section 7) and the
windows (section 5), called directly."""

from __future__ import annotations

import pytest
from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.codes import S_FALSE, S_OK, Code, MiStatus
from chinwag.api.errors import ApiError
from chinwag.core.events import MessageAdded
from chinwag.core.models import (
    MAX_MESSAGE_CHARS,
    Contact,
    ConversationKind,
    Direction,
    Presence,
    Show,
    Subscription,
)

CAROL = "carol@localhost"


def push(rig: ApiLayerRig, *contacts: Contact) -> None:
    rig.connection.listener.on_roster(list(contacts), "", full=False)


# -- contacts ---------------------------------------------------------------------------


async def test_contact_properties(rig: ApiLayerRig) -> None:
    c = rig.api.contacts
    assert c.friendly_name((ME, ME)) == "Me"  # the self contact: the nickname
    assert c.is_self((ME, ME))
    assert not c.is_self((ME, BOB))
    assert c.friendly_name((ME, BOB)) == BOB  # not in the list: the address
    assert c.status((ME, BOB)) == MiStatus.UNKNOWN  # no subscription
    push(rig, Contact(ME, BOB, "Bob", ("Friends",), Subscription.BOTH))
    assert c.friendly_name((ME, BOB)) == "Bob"
    assert c.status((ME, BOB)) == MiStatus.OFFLINE
    rig.connection.listener.on_presence(
        BOB, Presence(show=Show.DND, status="busy", resource="phone")
    )
    assert c.status((ME, BOB)) == MiStatus.BUSY
    assert c.status_message((ME, BOB)) == "busy"
    assert c.groups((ME, BOB)) == [(ME, "Friends")]
    assert await rig.sink.wait_for("contact_status_change", lambda a: a[0] == (ME, BOB)) == (
        (ME, BOB),
        MiStatus.BUSY,
    )


async def test_blocking(rig: ApiLayerRig) -> None:
    c = rig.api.contacts
    with pytest.raises(ApiError) as info:
        await c.set_blocked((ME, ME), True)
    assert info.value.code is Code.INVALID_ARGUMENT
    await c.set_blocked((ME, BOB), True)
    assert c.blocked((ME, BOB))
    assert await rig.sink.wait_for("contact_block_change") == (S_OK, (ME, BOB), True)
    await rig.api.messenger.signout()
    with pytest.raises(ApiError) as info:
        await c.set_blocked((ME, BOB), False)
    assert info.value.code is Code.NOT_LOGGED_ON


# -- groups -------------------------------------------------------------------------------


async def test_group_membership_and_refusals(rig: ApiLayerRig) -> None:
    g = rig.api.groups
    key = rig.api.messenger.create_group("Chess")
    with pytest.raises(ApiError) as info:
        await g.add_contact(key, BOB)
    assert info.value.code is Code.USER_NOT_FOUND  # not in the list
    with pytest.raises(ApiError) as info:
        await g.rename((ME, "Nope"), "Still nope")
    assert info.value.code is Code.GROUP_DOES_NOT_EXIST
    with pytest.raises(ApiError) as info:
        await g.add_contact(key, ("other@localhost", BOB))
    assert info.value.code is Code.INVALID_ARGUMENT  # a contact of another account
    push(rig, Contact(ME, BOB, "Bob", ("Chess",), Subscription.BOTH))
    assert g.contacts(key) == [(ME, BOB)]


async def test_a_renamed_group_keeps_its_identity(rig: ApiLayerRig) -> None:
    push(rig, Contact(ME, BOB, "Bob", ("Chess",), Subscription.BOTH))
    await rig.sink.wait_for("group_added", lambda a: a[1] == (ME, "Chess"))
    await rig.api.groups.rename((ME, "Chess"), "Go")
    assert await rig.sink.wait_for("group_renamed") == (S_OK, (ME, "Chess"), (ME, "Go"))
    # While the member moves, the old name names the renamed group; no remove/add.
    assert rig.api.group_key(ME, "Chess") == (ME, "Go")
    push(rig, Contact(ME, BOB, "Bob", ("Go",), Subscription.BOTH))
    assert rig.api.groups.contacts((ME, "Go")) == [(ME, BOB)]
    assert rig.sink.named("contact_removed_from_group") == []
    assert rig.sink.named("group_removed") == []


# -- accounts -------------------------------------------------------------------------------


async def test_account_enabled_and_status(rig: ApiLayerRig) -> None:
    a = rig.api.accounts
    assert a.enabled(ME)
    assert a.status(ME) == MiStatus.ONLINE
    await a.set_enabled(ME, False)
    assert not a.enabled(ME)
    assert a.status(ME) == MiStatus.OFFLINE
    with pytest.raises(ApiError) as info:
        await a.set_enabled("gone@localhost", True)
    assert info.value.code is Code.FAIL


# -- windows --------------------------------------------------------------------------------


async def test_the_main_window(rig: ApiLayerRig) -> None:
    w = rig.api.windows
    assert w.main_close() == S_FALSE  # hidden already
    assert w.main_is_closed()
    assert w.main_hwnd() == 0
    assert w.main_show() == S_OK
    assert not w.main_is_closed()
    assert w.main_hwnd() != 0
    assert w.main_set_geometry(10, 20, 300, 200) == S_OK
    assert w.main_frame() == (10, 20, 300, 200)
    with pytest.raises(ApiError) as info:
        w.main_set_geometry(0, 0, 0, 100)
    assert info.value.code is Code.INVALID_ARGUMENT
    assert w.main_close() == S_OK


async def test_a_closed_conversation_window_answers_s_false(rig: ApiLayerRig) -> None:
    w = rig.api.windows
    assert w.show(None) == S_FALSE
    assert w.close(None) == S_FALSE
    assert w.set_geometry(None, 0, 0, 0, 0) == S_FALSE  # closed first, then the size
    assert await w.send_text(None, "x" * (MAX_MESSAGE_CHARS + 1)) == S_FALSE
    assert w.hwnd(None) == 0
    assert await w.add_contact((ME, BOB), None, CAROL) == S_FALSE
    with pytest.raises(ApiError) as info:
        await w.add_contact((ME, BOB), None, "not an address@")
    assert info.value.code is Code.INVALID_ARGUMENT
    assert w.history(None, []) == ""


async def test_send_text_goes_to_the_core_and_the_window_only_observes(
    rig: ApiLayerRig,
) -> None:
    _hr, view = await rig.api.messenger.instant_message(BOB)

    async def not_through_the_window(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the API sent through the window")

    view.send_text = not_through_the_window  # type: ignore[method-assign]
    added: list[MessageAdded] = []
    rig.core.bus.subscribe(MessageAdded, added.append)

    assert await rig.api.windows.send_text(view, "from a script") == S_OK

    (event,) = added  # published by the core, which is how any window learns of it
    assert (event.message.peer, event.message.body) == (BOB, "from a script")
    assert event.message.direction is Direction.OUTGOING
    assert [m.body for m in rig.connection.sent] == ["from a script"]
    assert rig.api.windows.contacts((ME, BOB), ConversationKind.CHAT, None) == [(ME, BOB)]


async def test_send_text_refusals(rig: ApiLayerRig) -> None:
    _hr, view = await rig.api.messenger.instant_message(BOB)
    with pytest.raises(ApiError) as info:
        await rig.api.windows.send_text(view, "x" * (MAX_MESSAGE_CHARS + 1))
    assert info.value.code is Code.MESSAGE_TOO_LONG
    await rig.api.messenger.signout()
    with pytest.raises(ApiError) as info:
        await rig.api.windows.send_text(view, "signed out")
    assert info.value.code is Code.NOT_LOGGED_ON
    assert rig.connection.sent == []


async def test_history_is_one_line_a_message(rig: ApiLayerRig) -> None:
    _hr, view = await rig.api.messenger.instant_message(BOB)
    await rig.api.windows.send_text(view, "two\nlines")
    message = rig.connection.sent[0]
    text = rig.api.windows.history(None, [(message, "Me")])
    assert text.endswith("] Me: two lines\n")
    assert text.startswith("[")


async def test_group_remove_contact(rig: ApiLayerRig) -> None:
    push(rig, Contact(ME, BOB, "Bob", ("Chess", "Go"), Subscription.BOTH))
    assert await rig.api.groups.remove_contact((ME, "Chess"), BOB) == S_OK
    push(rig, Contact(ME, BOB, "Bob", ("Go",), Subscription.BOTH))  # the server's push
    assert await rig.sink.wait_for("contact_removed_from_group") == (
        S_OK,
        (ME, "Chess"),
        (ME, BOB),
    )
    # A group emptied on purpose stays (for the run), as one just made.
    assert (ME, "Chess") in rig.api.messenger.my_groups()
    with pytest.raises(ApiError) as info:
        await rig.api.groups.remove_contact((ME, "Chess"), BOB)
    assert info.value.code is Code.USER_NOT_GROUP_MEMBER
