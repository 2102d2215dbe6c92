"""Bad input to the Conversations API, table-driven, over one shared app (issue 13's
"bad input ... answered with the spec's errors while the app keeps running and loses
nothing"): wrong D-Bus types (a call with the wrong signature is the spec's 10001 too,
not the automation API's InvalidArgument), unknown conversation and message uuids,
malformed JSON payloads and custom data, oversize values (text over 5,000 characters,
custom data over 5 kB, more than 30 uuids, 50 users, 100 events, over-long titles), a
second Typing within 10 s, and the other refusals a script can provoke, each answered
with the spec's code and name (conversations-api.md section 2). After the matrix the
same app still answers, the conversation's log is what it was before (the message sent
before the matrix is still there, and no refused call added anything), and the next
message gets the next sequence.

What the rows use is made once per app (:func:`prepared`): a group conversation with a
message of ours and a removed one, a room we left that is not public, and a direct
conversation. Each row gets the objects again by uuid (a test's clients, and so their
holds on objects, end with the test)."""

from __future__ import annotations

import json
import uuid as uuids
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import ApiClient, ApiError, AppProcess
from rig.conversations import ERROR, plain, refused

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
BEFORE = "sent before the matrix"


@dataclass
class Prepared:
    """What the rows use, made once per app."""

    pid: int
    me: str
    bob: str  # a participant of the group (not online: affiliations only)
    group: str  # uuids
    closed: str
    direct: str
    sent: str  # message uuids in the group: ours, and one removed
    removed: str
    log: list[dict[str, Any]] = field(default_factory=list)  # the group's, before


_prepared: dict[str, Prepared] = {}


async def conversations(client: ApiClient, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return plain(body[0]) if len(body) == 1 else plain(body)


async def on(client: ApiClient, path: str, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(path, CONVERSATION, member, signature, list(args))
    return plain(body[0]) if len(body) == 1 else plain(body)


async def whole_log(client: ApiClient, path: str) -> list[dict[str, Any]]:
    last = await client.get(path, CONVERSATION, "LastSequence")
    events: list[dict[str, Any]] = []
    for first in range(1, last + 1, 100):
        events += await on(client, path, "RetransmitEvents", "xx", first, min(first + 99, last))
    return events


async def prepared(app: AppProcess, client: ApiClient) -> Prepared:
    """The rows' conversations in this app (made on first use, again for a new app)."""
    found = _prepared.get("app")
    if found is not None and found.pid == app.proc.pid:
        return found
    server = app.prosody
    me = app.jid
    bob, _password = server.make_user("bob")
    dana, _password = server.make_user("dana")
    group = await conversations(
        client,
        "CreateConversation",
        "a{sv}",
        {
            "title": Variant("s", "Matrix"),
            "participants": Variant("aa{sv}", [{"user": Variant("s", bob)}]),
        },
    )
    sent = await on(client, group, "SendMessage", "ss", BEFORE, '[{"kept": true}]')
    doomed = await on(client, group, "SendMessage", "ss", "to be removed", "")
    await on(client, group, "RemoveMessage", "s", doomed["message"]["uuid"])
    closed = await conversations(client, "CreateConversation", "a{sv}", {})
    closed_uuid = await client.get(closed, CONVERSATION, "Uuid")
    assert await conversations(client, "LeaveConversation", "s", closed_uuid) == 0
    direct = await conversations(
        client,
        "CreateConversation",
        "a{sv}",
        {
            "direct": Variant("b", True),
            "participants": Variant("aa{sv}", [{"user": Variant("s", dana)}]),
        },
    )
    found = Prepared(
        pid=app.proc.pid,
        me=me,
        bob=bob,
        group=await client.get(group, CONVERSATION, "Uuid"),
        closed=closed_uuid,
        direct=await client.get(direct, CONVERSATION, "Uuid"),
        sent=sent["message"]["uuid"],
        removed=doomed["message"]["uuid"],
    )
    found.log = await whole_log(client, group)
    _prepared["app"] = found
    return found


@dataclass
class Row:
    """A client, the prepared conversations, and their objects for this test."""

    client: ApiClient
    p: Prepared
    group: str
    direct: str

    def root(self, member: str, signature: str = "", *args: Any) -> Awaitable[Any]:
        return conversations(self.client, member, signature, *args)

    def g(self, member: str, signature: str = "", *args: Any) -> Awaitable[Any]:
        return on(self.client, self.group, member, signature, *args)

    def d(self, member: str, signature: str = "", *args: Any) -> Awaitable[Any]:
        return on(self.client, self.direct, member, signature, *args)


def s(value: str) -> Variant:
    return Variant("s", value)


def user(address: str, **flags: bool) -> dict[str, Variant]:
    given = {"user": s(address)}
    given.update({k: Variant("b", v) for k, v in flags.items()})
    return given


def new() -> str:
    return str(uuids.uuid4())


async def typing_twice(r: Row) -> Any:
    """The first may already be discarded (a row before it typed within 10 s); the
    second is."""
    try:
        await r.g("Typing")
    except ApiError as exc:
        if exc.name != ERROR + "MethodCallDiscarded":
            raise
    return await r.g("Typing")


def sending(payload: str) -> Callable[[Row], Awaitable[Any]]:
    return lambda r: r.g("SendMessage", "ss", "hi", payload)


async def beyond_last(r: Row, member: str) -> Any:
    last = await r.client.get(r.group, CONVERSATION, "LastSequence")
    if member == "MarkAsRead":
        return await r.g(member, "x", last + 1)
    return await r.g(member, "xx", last, last + 1)


OVER_5000 = "x" * 5001
#: Custom data over 5 kB (as compact JSON), well within a D-Bus message.
OVER_5KB = json.dumps({"data": "y" * 5200})
DEEP = "[" * 100_000 + "]" * 100_000
#: A wrong D-Bus signature: the spec's invalid arguments too.
WRONG_TYPE = (10001, "InvalidArguments")

#: (id, call, (code, name)): every row is a call the app refuses.
MATRIX: list[tuple[str, Callable[[Row], Awaitable[Any]], tuple[int, str]]] = [
    # wrong D-Bus types
    ("type-get-conversation-x", lambda r: r.root("GetConversation", "x", 1), WRONG_TYPE),
    ("type-get-conversations-s", lambda r: r.root("GetConversations", "s", r.p.group), WRONG_TYPE),
    ("type-create-s", lambda r: r.root("CreateConversation", "s", "title"), WRONG_TYPE),
    ("type-create-none", lambda r: r.root("CreateConversation"), WRONG_TYPE),
    ("type-get-users-by-im-id-as", lambda r: r.root("GetUsersByIMId", "as", ["1"]), WRONG_TYPE),
    ("type-set-online-s", lambda r: r.root("SetOnline", "s", "yes"), WRONG_TYPE),
    ("type-send-one-string", lambda r: r.g("SendMessage", "s", "hi"), WRONG_TYPE),
    ("type-send-sx", lambda r: r.g("SendMessage", "sx", "hi", 1), WRONG_TYPE),
    ("type-edit-ss", lambda r: r.g("EditMessage", "ss", r.p.sent, "text"), WRONG_TYPE),
    ("type-retransmit-ii", lambda r: r.g("RetransmitEvents", "ii", 1, 2), WRONG_TYPE),
    ("type-retransmit-from-xx", lambda r: r.g("RetransmitEventsFrom", "xx", 1, 2), WRONG_TYPE),
    ("type-mark-as-read-s", lambda r: r.g("MarkAsRead", "s", "1"), WRONG_TYPE),
    ("type-typing-s", lambda r: r.g("Typing", "s", "now"), WRONG_TYPE),
    ("type-add-participants-as", lambda r: r.g("AddParticipants", "as", [r.p.bob]), WRONG_TYPE),
    ("type-update-s", lambda r: r.g("Update", "s", "title"), WRONG_TYPE),
    # wrong types inside the dictionaries: the spec's 10001
    (
        "value-create-title-i",
        lambda r: r.root("CreateConversation", "a{sv}", {"title": Variant("i", 3)}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-create-direct-s",
        lambda r: r.root("CreateConversation", "a{sv}", {"direct": s("yes")}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-create-participants-as",
        lambda r: r.root("CreateConversation", "a{sv}", {"participants": Variant("as", [r.p.bob])}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-create-unknown-key",
        lambda r: r.root("CreateConversation", "a{sv}", {"colour": s("red")}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-participant-flag-s",
        lambda r: r.g("AddParticipants", "aa{sv}", [{"user": s(r.p.me), "can_write": s("no")}]),
        (10001, "InvalidArguments"),
    ),
    (
        "value-participant-no-user",
        lambda r: r.g("AddParticipants", "aa{sv}", [{"is_owner": Variant("b", False)}]),
        (10001, "InvalidArguments"),
    ),
    (
        "value-edit-text-i",
        lambda r: r.g("EditMessage", "sa{sv}", r.p.sent, {"text": Variant("i", 5)}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-update-public-s",
        lambda r: r.g("Update", "a{sv}", {"public_join": s("yes")}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-edit-user-custom-x",
        lambda r: r.root("EditUser", "a{sv}", {"custom_data": Variant("x", 1)}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-edit-user-unknown-key",
        lambda r: r.root("EditUser", "a{sv}", {"name": s("x")}),
        (10001, "InvalidArguments"),
    ),
    (
        "value-user-name-empty",
        lambda r: r.root("GetUserByName", "s", ""),
        (10001, "InvalidArguments"),
    ),
    (
        "value-subscribe-oneself",
        lambda r: r.root("Subscribe", "as", [r.p.me]),
        (10001, "InvalidArguments"),
    ),
    # unknown conversations, messages and users
    (
        "unknown-get",
        lambda r: r.root("GetConversation", "s", new()),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-get-not-a-uuid",
        lambda r: r.root("GetConversation", "s", "not a uuid"),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-get-empty",
        lambda r: r.root("GetConversation", "s", ""),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-get-many",
        lambda r: r.root("GetConversations", "as", [r.p.group, new()]),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-join",
        lambda r: r.root("JoinConversation", "s", new()),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-leave",
        lambda r: r.root("LeaveConversation", "s", new()),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-recreate",
        lambda r: r.root("RecreateConversation", "s", new()),
        (8, "ConversationDoesNotExist"),
    ),
    (
        "unknown-message-edit",
        lambda r: r.g("EditMessage", "sa{sv}", new(), {"text": s("x")}),
        (10, "MessageDoesNotExist"),
    ),
    (
        "unknown-message-remove",
        lambda r: r.g("RemoveMessage", "s", new()),
        (10, "MessageDoesNotExist"),
    ),
    (
        "unknown-message-not-a-uuid",
        lambda r: r.g("RemoveMessage", "s", "garbage"),
        (10, "MessageDoesNotExist"),
    ),
    (
        "unknown-message-of-another-conversation",
        lambda r: r.d("RemoveMessage", "s", r.p.sent),
        (10, "MessageDoesNotExist"),
    ),
    (
        "unknown-user-by-name",
        lambda r: r.root("GetUserByName", "s", "nobody-here@localhost"),
        (25, "UserNotFound"),
    ),
    (
        "unknown-user-by-im-id",
        lambda r: r.root("GetUserByIMId", "x", 987_654_321),
        (25, "UserNotFound"),
    ),
    (
        "unknown-participant-im-id",
        lambda r: r.g("AddParticipants", "aa{sv}", [{"im_id": Variant("x", 987_654_321)}]),
        (25, "UserNotFound"),
    ),
    (
        "unknown-participant-bad-address",
        lambda r: r.root(
            "CreateConversation",
            "a{sv}",
            {"participants": Variant("aa{sv}", [user("a@b@c")])},
        ),
        (25, "UserNotFound"),
    ),
    # malformed JSON: payloads and custom data
    *[
        (
            f"json-payload-{name}",
            sending(payload),
            (10001, "InvalidArguments"),
        )
        for name, payload in (
            ("not-json", "not json"),
            ("object", '{"a": 1}'),
            ("numbers", "[1, 2]"),
            ("nested-array", "[[]]"),
            ("null", "null"),
            ("truncated", '[{"a": 1}'),
            ("deep", DEEP),
        )
    ],
    (
        "json-edit-payload",
        lambda r: r.g("EditMessage", "sa{sv}", r.p.sent, {"payload": s("[1]")}),
        (10001, "InvalidArguments"),
    ),
    (
        "json-create-custom-data",
        lambda r: r.root("CreateConversation", "a{sv}", {"custom_data": s("{not json")}),
        (10001, "InvalidArguments"),
    ),
    (
        "json-create-custom-data-array",
        lambda r: r.root("CreateConversation", "a{sv}", {"custom_data": s("[1]")}),
        (10001, "InvalidArguments"),
    ),
    (
        "json-update-custom-data",
        lambda r: r.g("Update", "a{sv}", {"custom_data": s("{")}),
        (10001, "InvalidArguments"),
    ),
    (
        "json-edit-user-custom-data",
        lambda r: r.root("EditUser", "a{sv}", {"custom_data": s("nope")}),
        (18, "UserValidation"),
    ),
    (
        "json-edit-user-private-custom-data",
        lambda r: r.root("EditUser", "a{sv}", {"private_custom_data": s("[]")}),
        (18, "UserValidation"),
    ),
    # oversize values
    (
        "size-send-text",
        lambda r: r.g("SendMessage", "ss", OVER_5000, ""),
        (23, "MessageSizeExceedsLimit"),
    ),
    (
        "size-send-text-direct",
        lambda r: r.d("SendMessage", "ss", OVER_5000, ""),
        (23, "MessageSizeExceedsLimit"),
    ),
    (
        "size-edit-text",
        lambda r: r.g("EditMessage", "sa{sv}", r.p.sent, {"text": s(OVER_5000)}),
        (23, "MessageSizeExceedsLimit"),
    ),
    (
        "size-create-title",
        lambda r: r.root("CreateConversation", "a{sv}", {"title": s(OVER_5000)}),
        (23, "MessageSizeExceedsLimit"),
    ),
    (
        "size-update-title",
        lambda r: r.g("Update", "a{sv}", {"title": s(OVER_5000)}),
        (23, "MessageSizeExceedsLimit"),
    ),
    (
        "size-create-custom-data",
        lambda r: r.root("CreateConversation", "a{sv}", {"custom_data": s(OVER_5KB)}),
        (10001, "InvalidArguments"),
    ),
    (
        "size-update-custom-data",
        lambda r: r.g("Update", "a{sv}", {"custom_data": s(OVER_5KB)}),
        (10001, "InvalidArguments"),
    ),
    (
        "size-edit-user-custom-data",
        lambda r: r.root("EditUser", "a{sv}", {"custom_data": s(OVER_5KB)}),
        (18, "UserValidation"),
    ),
    (
        "size-edit-user-private-custom-data",
        lambda r: r.root("EditUser", "a{sv}", {"private_custom_data": s(OVER_5KB)}),
        (18, "UserValidation"),
    ),
    (
        "size-31-conversations",
        lambda r: r.root("GetConversations", "as", [r.p.group] * 31),
        (22, "RequestedNumberTooBig"),
    ),
    (
        "size-51-users-by-name",
        lambda r: r.root("GetUsersByName", "as", [r.p.me] * 51),
        (22, "RequestedNumberTooBig"),
    ),
    (
        "size-51-users-by-im-id",
        lambda r: r.root("GetUsersByIMId", "ax", [1] * 51),
        (22, "RequestedNumberTooBig"),
    ),
    (
        "size-101-events",
        lambda r: r.g("RetransmitEvents", "xx", 1, 101),
        (22, "RequestedNumberTooBig"),
    ),
    (
        "size-101-events-from",
        lambda r: r.g("RetransmitEventsFrom", "xu", 1, 101),
        (21, "RequestedNumberTooBigOr0"),
    ),
    (
        "size-101-events-to",
        lambda r: r.g("RetransmitEventsTo", "xu", 1, 101),
        (21, "RequestedNumberTooBigOr0"),
    ),
    (
        "size-0-events-to",
        lambda r: r.g("RetransmitEventsTo", "xu", 1, 0),
        (21, "RequestedNumberTooBigOr0"),
    ),
    # sequences
    (
        "sequence-from-greater",
        lambda r: r.g("RetransmitEvents", "xx", 3, 2),
        (28, "FromGreaterThanTo"),
    ),
    (
        "sequence-retransmit-beyond",
        lambda r: beyond_last(r, "RetransmitEvents"),
        (24, "WrongSequenceArgument"),
    ),
    (
        "sequence-mark-as-read-beyond",
        lambda r: beyond_last(r, "MarkAsRead"),
        (24, "WrongSequenceArgument"),
    ),
    # rate
    ("typing-twice", typing_twice, (10000, "MethodCallDiscarded")),
    # the other refusals a script can provoke
    (
        "removed-edit",
        lambda r: r.g("EditMessage", "sa{sv}", r.p.removed, {"text": s("x")}),
        (11, "MessageDeleted"),
    ),
    ("removed-remove", lambda r: r.g("RemoveMessage", "s", r.p.removed), (11, "MessageDeleted")),
    (
        "acl-can-edit-all-messages",
        lambda r: r.root(
            "CreateConversation",
            "a{sv}",
            {"participants": Variant("aa{sv}", [user(r.p.bob, can_edit_all_messages=True)])},
        ),
        (12, "Acl"),
    ),
    (
        "already-in",
        lambda r: r.g("AddParticipants", "aa{sv}", [user(r.p.bob)]),
        (13, "AlreadyInParticipantsList"),
    ),
    (
        "join-not-public",
        lambda r: r.root("JoinConversation", "s", r.p.closed),
        (15, "PublicJoinIsUnavailable"),
    ),
    (
        "not-in-edit",
        lambda r: r.g("EditParticipants", "aa{sv}", [user("nobody-here@localhost")]),
        (19, "UserIsNotInTheParticipantList"),
    ),
    (
        "not-in-remove",
        lambda r: r.g("RemoveParticipants", "as", ["nobody-here@localhost"]),
        (19, "UserIsNotInTheParticipantList"),
    ),
    (
        "notification-event",
        lambda r: r.root("ManageNotifications", "as", ["SendMessage", "Typing"]),
        (26, "NotificationEventIncorrect"),
    ),
    (
        "direct-public",
        lambda r: r.root(
            "CreateConversation",
            "a{sv}",
            {
                "direct": Variant("b", True),
                "public_join": Variant("b", True),
                "participants": Variant("aa{sv}", [user(r.p.bob)]),
            },
        ),
        (34, "DirectCannotBePublicOrUber"),
    ),
    (
        "direct-update-public",
        lambda r: r.d("Update", "a{sv}", {"public_join": Variant("b", True)}),
        (34, "DirectCannotBePublicOrUber"),
    ),
    (
        "direct-no-one",
        lambda r: r.root("CreateConversation", "a{sv}", {"direct": Variant("b", True)}),
        (35, "NumberOfUsersInDirect"),
    ),
    (
        "direct-add",
        lambda r: r.d("AddParticipants", "aa{sv}", [user(r.p.bob)]),
        (37, "AddingToDirect"),
    ),
    (
        "direct-remove",
        lambda r: r.d("RemoveParticipants", "as", [r.p.me]),
        (38, "RemovingFromDirect"),
    ),
    (
        "direct-edit",
        lambda r: r.d("EditParticipants", "aa{sv}", [user(r.p.me)]),
        (39, "EditingParticipantsInDirect"),
    ),
    (
        "direct-join",
        lambda r: r.root("JoinConversation", "s", r.p.direct),
        (39, "EditingParticipantsInDirect"),
    ),
    (
        "direct-leave",
        lambda r: r.root("LeaveConversation", "s", r.p.direct),
        (40, "LeavingDirectNotAllowed"),
    ),
]


@pytest.mark.parametrize(("call", "expected"), [pytest.param(c, e, id=i) for i, c, e in MATRIX])
async def test_bad_input_is_refused_with_the_specs_error(
    chinwag_app: AppProcess, call: Callable[[Row], Awaitable[Any]], expected: tuple[int, str]
) -> None:
    client = await chinwag_app.client()
    p = await prepared(chinwag_app, client)
    row = Row(
        client,
        p,
        await conversations(client, "GetConversation", "s", p.group),
        await conversations(client, "GetConversation", "s", p.direct),
    )
    code, name = expected
    await refused(code, name, call(row))
    assert chinwag_app.running()
    assert await client.get(ROOT, CONVERSATIONS, "Me") == p.me


async def test_after_the_matrix_nothing_is_lost(chinwag_app: AppProcess) -> None:
    """(After the matrix, in this module's order: the same app, its log as it was.)"""
    client = await chinwag_app.client()
    p = _prepared.get("app")
    assert p is not None, "the matrix did not run first"
    assert p.pid == chinwag_app.proc.pid, "the app of the matrix is gone"
    group = await conversations(client, "GetConversation", "s", p.group)
    log = await whole_log(client, group)
    assert log == p.log
    sent = [e for e in log if e["action"] == "sendMessage" and e["message"]["uuid"] == p.sent]
    assert len(sent) == 1
    assert sent[0]["message"]["text"] == BEFORE
    assert json.loads(sent[0]["message"]["payload"]) == [{"kept": True}]
    assert await client.get(group, CONVERSATION, "Title") == "Matrix"
    after = await on(client, group, "SendMessage", "ss", "after the matrix", "")
    assert after["sequence"] == log[-1]["sequence"] + 1
    assert await on(client, group, "RetransmitEventsTo", "xu", after["sequence"], 1) == [after]


@pytest.mark.fresh_app
async def test_signed_out_the_calls_that_need_the_server_are_client_not_logged_in(
    chinwag_app: AppProcess,
) -> None:
    """10003, ClientNotLoggedIn: what needs the server, once the script signed out; the
    app goes on answering what it knows locally."""
    client = await chinwag_app.client()
    dana, _password = chinwag_app.prosody.make_user("dana")
    direct = await conversations(
        client,
        "CreateConversation",
        "a{sv}",
        {
            "direct": Variant("b", True),
            "participants": Variant("aa{sv}", [{"user": Variant("s", dana)}]),
        },
    )
    uuid = await client.get(direct, CONVERSATION, "Uuid")
    assert await client.messenger("Signout") == 0
    not_logged_in = (10003, "ClientNotLoggedIn")
    await refused(*not_logged_in, on(client, direct, "SendMessage", "ss", "hi", ""))
    await refused(*not_logged_in, conversations(client, "CreateConversation", "a{sv}", {}))
    await refused(*not_logged_in, conversations(client, "GetPublicConversations"))
    await refused(*not_logged_in, conversations(client, "JoinConversation", "s", new()))
    await refused(
        *not_logged_in, conversations(client, "EditUser", "a{sv}", {"custom_data": s("{}")})
    )
    await refused(*not_logged_in, conversations(client, "SetOnline", "b", True))
    assert await conversations(client, "GetConversation", "s", uuid) == direct
    assert await conversations(client, "RecreateConversation", "s", uuid) == direct
    assert await client.get(ROOT, CONVERSATIONS, "Me") == chinwag_app.jid
