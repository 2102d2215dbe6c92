"""The API layer, Messenger1's behaviour (automation-api.md section 4), called directly:
plain values in, plain values out, ApiError with the spec's code for every refusal."""

from __future__ import annotations

import pytest
from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.codes import S_FALSE, S_OK, Code, MiStatus, hr_of
from chinwag.api.errors import ApiError
from chinwag.core.errors import RequestRefused
from chinwag.core.models import ConnectionState, Contact, ConversationKind, Subscription


def refused(code: Code, excinfo: pytest.ExceptionInfo[ApiError]) -> str:
    assert excinfo.value.code is code, excinfo.value
    assert excinfo.value.message.strip(), "a refusal says why"
    return excinfo.value.message


# -- InstantMessage --------------------------------------------------------------------


async def test_instant_message_opens_one_window_per_contact(rig: ApiLayerRig) -> None:
    hr, view = await rig.api.messenger.instant_message(BOB)
    assert hr == S_OK
    assert (view.account, view.peer) == (ME, BOB)
    again_hr, again = await rig.api.messenger.instant_message((ME, BOB))  # a key names it too
    assert (again_hr, again) == (S_OK, view)
    assert list(rig.host.windows) == [(ME, BOB, ConversationKind.CHAT)]


@pytest.mark.parametrize("name", ["", "   ", "bob@", "@localhost", "a b@localhost"])
async def test_instant_message_refuses_a_malformed_name(rig: ApiLayerRig, name: str) -> None:
    with pytest.raises(ApiError) as info:
        await rig.api.messenger.instant_message(name)
    refused(Code.INVALID_ARGUMENT, info)
    assert rig.host.windows == {}


async def test_instant_message_needs_a_signed_in_account(offline_rig: ApiLayerRig) -> None:
    with pytest.raises(ApiError) as info:
        await offline_rig.api.messenger.instant_message(BOB)
    assert "not signed in" in refused(Code.NOT_LOGGED_ON, info)


async def test_a_window_closed_while_opening_is_s_false(rig: ApiLayerRig) -> None:
    rig.host.on_created(lambda view: view.close())  # something closes it at once
    hr, _view = await rig.api.messenger.instant_message(BOB)
    assert hr == S_FALSE
    assert rig.host.find(ME, BOB) is None


# -- GetContact and the contact arguments -----------------------------------------------


async def test_get_contact_names_any_valid_address(rig: ApiLayerRig) -> None:
    m = rig.api.messenger
    assert m.get_contact("Someone@Elsewhere.example", "") == (ME, "someone@elsewhere.example")
    assert m.get_contact(BOB, ME) == (ME, BOB)
    with pytest.raises(ApiError) as info:
        m.get_contact(BOB, "nobody@localhost")
    refused(Code.INVALID_ARGUMENT, info)


async def test_a_contact_key_of_another_account_is_refused_where_one_is_implied(
    rig: ApiLayerRig,
) -> None:
    with pytest.raises(ApiError) as info:
        rig.api.contact_key(("other@localhost", BOB), ME)
    refused(Code.INVALID_ARGUMENT, info)


# -- Signin ------------------------------------------------------------------------------


async def test_signin_of_the_signed_in_account_is_s_false(rig: ApiLayerRig) -> None:
    assert await rig.api.messenger.signin(ME, "", {}) == S_FALSE


async def test_signin_refuses_bad_names_and_options(rig: ApiLayerRig) -> None:
    m = rig.api.messenger
    cases: list[tuple[str, str, dict[str, object]]] = [
        ("localhost", "pw", {}),  # a server, not an account
        ("new@localhost", "", {}),  # a new account needs a password
        ("new@localhost", "pw", {"colour": "red"}),
        ("new@localhost", "pw", {"port": "5222"}),
        ("new@localhost", "pw", {"port": True}),  # a bool is no port
        ("new@localhost", "pw", {"port": 70000}),
        ("new@localhost", "pw", {"resource": "a/b"}),
        ("new@localhost", "pw", {"trusted_fingerprint": "abc"}),
    ]
    for name, password, options in cases:
        with pytest.raises(ApiError) as info:
            await m.signin(name, password, options)
        refused(Code.INVALID_ARGUMENT, info)
    assert rig.core.accounts.find("new@localhost") is None  # nothing was half-added


async def test_signin_adds_a_new_account_as_primary_and_starts(offline_rig: ApiLayerRig) -> None:
    rig = offline_rig
    hr = await rig.api.messenger.signin(
        "New@Localhost", "pw", {"port": 5223, "remember": False, "resource": " desk "}
    )
    assert hr == S_OK
    config = rig.core.accounts.find("new@localhost")
    assert config is not None
    assert (config.port, config.resource) == (5223, "desk")
    assert rig.core.primary == "new@localhost"
    await rig.sink.wait_for("signin", lambda a: a == (S_OK,))


async def test_auto_signin_with_nothing_enabled_is_fail(offline_rig: ApiLayerRig) -> None:
    rig = offline_rig
    await rig.core.set_enabled(ME, False)
    with pytest.raises(ApiError) as info:
        rig.api.messenger.auto_signin()
    refused(Code.FAIL, info)


async def test_signout_then_again_is_s_false(rig: ApiLayerRig) -> None:
    assert await rig.api.messenger.signout() == S_OK
    await rig.sink.wait_for("signout")
    assert await rig.api.messenger.signout() == S_FALSE
    assert rig.api.messenger.my_status() == MiStatus.OFFLINE


# -- the contact list --------------------------------------------------------------------


async def test_add_contact_refusals(rig: ApiLayerRig) -> None:
    m = rig.api.messenger
    with pytest.raises(ApiError) as info:
        m.add_contact(ME)
    refused(Code.INVALID_ARGUMENT, info)
    rig.connection.listener.on_roster(
        [Contact(account=ME, jid=BOB, subscription=Subscription.BOTH)], "", full=True
    )
    with pytest.raises(ApiError) as info:
        m.add_contact(BOB)
    refused(Code.ALREADY_IN_LIST, info)


async def test_add_contact_signed_out_is_not_logged_on(rig: ApiLayerRig) -> None:
    await rig.api.messenger.signout()
    with pytest.raises(ApiError) as info:
        rig.api.messenger.add_contact(BOB)
    refused(Code.NOT_LOGGED_ON, info)


async def test_a_refused_add_is_reported_with_its_hr(rig: ApiLayerRig) -> None:
    rig.connection.refuse_roster = RequestRefused("the server said no", "not-allowed")
    assert rig.api.messenger.add_contact(BOB) == S_OK  # started
    hr, key = await rig.sink.wait_for("contact_list_add")
    assert (hr, key) == (hr_of("Fail"), (ME, BOB))


async def test_a_roster_push_is_reported_as_added(rig: ApiLayerRig) -> None:
    rig.connection.listener.on_roster(
        [Contact(account=ME, jid=BOB, name="Bob", groups=("Friends",))], "", full=False
    )
    assert await rig.sink.wait_for("contact_list_add") == (S_OK, (ME, BOB))
    await rig.sink.wait_for("group_added", lambda a: a == (S_OK, (ME, "Friends")))
    assert await rig.sink.wait_for("contact_added_to_group") == (
        S_OK,
        (ME, "Friends"),
        (ME, BOB),
    )
    assert rig.api.messenger.my_contacts() == [(ME, BOB)]
    assert rig.api.messenger.my_groups() == [(ME, "Friends")]


async def test_remove_contact_not_in_the_list_is_user_not_found(rig: ApiLayerRig) -> None:
    with pytest.raises(ApiError) as info:
        rig.api.messenger.remove_contact(BOB)
    refused(Code.USER_NOT_FOUND, info)


async def test_create_group_codes(rig: ApiLayerRig) -> None:
    m = rig.api.messenger
    assert m.create_group("Chess") == (ME, "Chess")
    with pytest.raises(ApiError) as info:
        m.create_group("Chess")
    refused(Code.GROUP_ALREADY_EXISTS, info)
    with pytest.raises(ApiError) as info:
        m.create_group("")
    refused(Code.BAD_GROUP_NAME, info)


# -- status and the messenger's properties -------------------------------------------------


async def test_set_status(rig: ApiLayerRig) -> None:
    m = rig.api.messenger
    assert await m.set_status(MiStatus.BUSY, "in a meeting") == S_OK
    assert await m.set_status(MiStatus.BUSY, "in a meeting") == S_FALSE
    assert m.my_status() == MiStatus.BUSY
    await rig.sink.wait_for("my_status_change", lambda a: a == (S_OK, MiStatus.BUSY))
    assert await m.set_status(MiStatus.AWAY, None) == S_OK  # MyStatus: keeps the message
    assert rig.api.contacts.status_message((ME, ME)) == "in a meeting"
    with pytest.raises(ApiError) as info:
        await m.set_status(0x99, "")
    refused(Code.INVALID_ARGUMENT, info)


async def test_messenger_properties(rig: ApiLayerRig) -> None:
    m = rig.api.messenger
    assert m.my_signin_name() == ME
    assert m.my_friendly_name() == "Me"
    assert m.my_status() == MiStatus.ONLINE
    assert m.primary_account() == ME
    assert m.account_list() == [ME]
    assert m.quit() == S_OK
    assert rig.host.quits == 1


async def test_signin_outcome_events_follow_the_session(offline_rig: ApiLayerRig) -> None:
    rig = offline_rig
    await rig.core.sign_in(ME)
    await rig.sink.wait_for("signin")
    await rig.core.sign_out()
    await rig.sink.wait_for("signout")
    names = [event for event, _args in rig.sink.events if event in ("signin", "signout")]
    assert names == ["signin", "signout"]
    assert rig.core.state(ME) is ConnectionState.OFFLINE
    assert rig.sink.named("signin") == [(S_OK,)]
    # The self contact follows too.
    statuses = [a[1] for a in rig.sink.named("contact_status_change") if a[0] == (ME, ME)]
    assert statuses[-1] == MiStatus.OFFLINE
    assert MiStatus.ONLINE in statuses


async def test_a_broken_front_does_not_silence_the_others(rig: ApiLayerRig) -> None:
    class Broken:
        def __getattr__(self, name: str) -> object:
            def fail(*_args: object) -> None:
                raise RuntimeError("a front with a bug")

            return fail

    rig.api.events.listen(Broken())  # type: ignore[arg-type]
    await rig.api.messenger.set_status(MiStatus.BUSY, "")
    await rig.sink.wait_for("my_status_change")


async def test_a_refused_password_is_signin_with_its_hr(
    offline_rig: ApiLayerRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api_rig import ScriptedConnection

    from chinwag.core.errors import AuthenticationFailed

    rig = offline_rig
    monkeypatch.setattr(
        ScriptedConnection, "refuse_connect", AuthenticationFailed("not authorized")
    )
    assert await rig.api.messenger.signin(ME, "wrong", {}) == S_OK
    assert await rig.sink.wait_for("signin") == (hr_of("InvalidPassword"),)
    # SendMessage now says why nothing would ever be sent, instead of queueing forever.
    with pytest.raises(ApiError) as info:
        await rig.api.messages.send_parts(
            None, BOB, [{}, {"content-type": "text/plain", "content": "x"}], 0
        )
    assert info.value.code is Code.OFFLINE
    assert "cannot sign in" in info.value.message


async def test_names_changing_are_told_with_the_previous_name(rig: ApiLayerRig) -> None:
    from dataclasses import replace

    rig.connection.listener.on_roster([Contact(account=ME, jid=BOB, name="Bob")], "", full=False)
    rig.connection.listener.on_roster([Contact(account=ME, jid=BOB, name="Robert")], "", full=False)
    assert await rig.sink.wait_for("contact_friendly_name_change") == (S_OK, (ME, BOB), "Bob")
    config = rig.core.accounts.find(ME)
    assert config is not None
    rig.core.accounts.update(replace(config, nickname="Myself"))
    assert await rig.sink.wait_for("my_friendly_name_change") == (S_OK, "Me")
    assert rig.api.messenger.my_friendly_name() == "Myself"
    rig.connection.listener.on_roster(
        [Contact(account=ME, jid=BOB, subscription=Subscription.REMOVE)], "", full=False
    )
    assert await rig.sink.wait_for("contact_list_remove") == (S_OK, (ME, BOB))


async def test_accounts_added_and_removed_are_told(rig: ApiLayerRig) -> None:
    from chinwag.core.models import AccountConfig

    rig.core.add_account(AccountConfig(jid="second@localhost"), "pw")
    assert await rig.sink.wait_for("account_added") == ("second@localhost",)
    assert rig.api.messenger.account_list() == [ME, "second@localhost"]
    rig.core.accounts.remove("second@localhost")
    assert await rig.sink.wait_for("account_removed") == ("second@localhost",)
