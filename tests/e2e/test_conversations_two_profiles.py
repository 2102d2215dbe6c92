"""Two Chinwag profiles on two accounts in the same group conversation (issue 13's
"two Chinwag profiles on two accounts seeing each other's events with the same uuids"):
two app processes, each on a private session bus of its own, on the rig's Prosody. Each
one's script sees the other's SendMessage, EditMessage and RemoveMessage as signals
carrying the same message uuid and the same conversation uuid on both sides
(conversations-api.md section 1: uuids every client computes alike), and both see the
same participants with the same permissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import ApiClient, SignalLog
from rig.conversations import plain, profile_on_own_bus, room_uuid
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
#: What a participant's entry says the same on every profile (IM ids and read
#: sequences are the profile's own).
SHARED_KEYS = (
    "user",
    "is_owner",
    "can_write",
    "can_edit_messages",
    "can_edit_all_messages",
    "can_remove_messages",
    "can_remove_all_messages",
    "can_manage_participants",
)


async def conversations(client: ApiClient, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(ROOT, CONVERSATIONS, member, signature, list(args))
    return body[0] if len(body) == 1 else body


async def on(client: ApiClient, path: str, member: str, signature: str = "", *args: Any) -> Any:
    body = await client.call(path, CONVERSATION, member, signature, list(args))
    return plain(body[0]) if len(body) == 1 else plain(body)


async def told(signals: SignalLog, member: str, path: str, uuid: str, seen: int) -> dict[str, Any]:
    """The event of the first ``member`` signal about message ``uuid`` in ``path``."""
    body = await signals.wait_for(
        member,
        lambda b: b[0] == path and plain(b[1])["message"]["uuid"] == uuid,
        after=seen,
    )
    event: dict[str, Any] = plain(body[1])
    return event


async def participants(client: ApiClient, path: str) -> dict[str, dict[str, Any]]:
    people = plain(await client.get(path, CONVERSATION, "Participants"))
    return {p["user"]: {k: p[k] for k in SHARED_KEYS} for p in people}


async def test_two_profiles_see_each_others_messages_with_the_same_uuids(
    prosody: ProsodyServer, tmp_path: Path
) -> None:
    async with (
        profile_on_own_bus(tmp_path, prosody, "alice") as alice_app,
        profile_on_own_bus(tmp_path, prosody, "bob") as bob_app,
    ):
        alice, bob = await alice_app.client(), await bob_app.client()
        alice_signals, bob_signals = await alice.watch(), await bob.watch()
        a_jid, b_jid = alice_app.jid, bob_app.jid
        assert await alice.get(ROOT, CONVERSATIONS, "Me") == a_jid
        assert await bob.get(ROOT, CONVERSATIONS, "Me") == b_jid

        # Alice makes the room with Bob in it; Bob's profile joins it by its uuid.
        a_path = await conversations(
            alice,
            "CreateConversation",
            "a{sv}",
            {
                "title": Variant("s", "Both of us"),
                "public_join": Variant("b", True),
                "participants": Variant("aa{sv}", [{"user": Variant("s", b_jid)}]),
            },
        )
        room = await alice.get(a_path, CONVERSATION, "Address")
        uuid = room_uuid(room)
        assert await alice.get(a_path, CONVERSATION, "Uuid") == uuid
        seen_a = len(alice_signals.items)
        b_path = await conversations(bob, "JoinConversation", "s", uuid)
        assert await bob.get(b_path, CONVERSATION, "Uuid") == uuid
        assert await bob.get(b_path, CONVERSATION, "Address") == room
        assert await bob.get(b_path, CONVERSATION, "Title") == "Both of us"
        assert await bob.get(b_path, CONVERSATION, "Direct") is False
        await alice_signals.wait_for(
            "OnEditConversation",
            lambda b: (
                b[0] == a_path
                and plain(b[1])["action"] == "joinConversation"
                and plain(b[1])["user"] == b_jid
            ),
            after=seen_a,
        )

        # The same participants with the same permissions on both sides.
        at_alice = await participants(alice, a_path)
        at_bob = await participants(bob, b_path)
        assert set(at_alice) == {a_jid, b_jid}
        assert at_alice == at_bob
        assert at_alice[a_jid]["is_owner"] is True
        assert at_alice[a_jid]["can_manage_participants"] is True
        assert at_alice[b_jid]["is_owner"] is False
        assert at_alice[b_jid]["can_manage_participants"] is False
        assert at_alice[b_jid]["can_write"] is True

        # Alice says something: the same uuids in her answer and in Bob's signal.
        seen_b = len(bob_signals.items)
        sent = await on(alice, a_path, "SendMessage", "ss", "hello bob", '[{"n": 1}]')
        mid = sent["message"]["uuid"]
        assert sent["message"]["conversation"] == uuid
        got = await told(bob_signals, "OnSendMessage", b_path, mid, seen_b)
        assert got["action"] == "sendMessage"
        assert got["user"] == a_jid
        assert got["message"]["conversation"] == uuid
        assert got["message"]["text"] == "hello bob"
        assert json.loads(got["message"]["payload"]) == [{"n": 1}]

        # Bob answers, edits and removes his answer: Alice sees each, same uuids.
        seen_a = len(alice_signals.items)
        answer = await on(bob, b_path, "SendMessage", "ss", "hello alice", "")
        bid = answer["message"]["uuid"]
        assert answer["message"]["conversation"] == uuid
        got = await told(alice_signals, "OnSendMessage", a_path, bid, seen_a)
        assert got["user"] == b_jid
        assert got["message"]["conversation"] == uuid
        assert got["message"]["text"] == "hello alice"

        seen_a = len(alice_signals.items)
        edited = await on(
            bob, b_path, "EditMessage", "sa{sv}", bid, {"text": Variant("s", "hello, alice")}
        )
        assert edited["message"]["uuid"] == bid
        got = await told(alice_signals, "OnEditMessage", a_path, bid, seen_a)
        assert got["action"] == "editMessage"
        assert got["user"] == b_jid
        assert got["message"]["conversation"] == uuid
        assert got["message"]["text"] == "hello, alice"

        seen_a = len(alice_signals.items)
        removed = await on(bob, b_path, "RemoveMessage", "s", bid)
        assert removed["message"]["uuid"] == bid
        got = await told(alice_signals, "OnRemoveMessage", a_path, bid, seen_a)
        assert got["action"] == "removeMessage"
        assert got["user"] == b_jid
        assert got["message"]["conversation"] == uuid

        # Alice edits and removes her own: Bob sees each, same uuids.
        seen_b = len(bob_signals.items)
        await on(alice, a_path, "EditMessage", "sa{sv}", mid, {"text": Variant("s", "hi bob")})
        got = await told(bob_signals, "OnEditMessage", b_path, mid, seen_b)
        assert got["user"] == a_jid
        assert got["message"]["conversation"] == uuid
        assert got["message"]["text"] == "hi bob"
        assert json.loads(got["message"]["payload"]) == [{"n": 1}]  # (kept)

        seen_b = len(bob_signals.items)
        await on(alice, a_path, "RemoveMessage", "s", mid)
        got = await told(bob_signals, "OnRemoveMessage", b_path, mid, seen_b)
        assert got["user"] == a_jid
        assert got["message"]["conversation"] == uuid

        # Both logs hold the same messages by uuid (sequences are each profile's own).
        def message_events(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
            return [
                (e["action"], e["user"], e["message"]["uuid"]) for e in events if "message" in e
            ]

        a_last = await alice.get(a_path, CONVERSATION, "LastSequence")
        b_last = await bob.get(b_path, CONVERSATION, "LastSequence")
        a_log = await on(alice, a_path, "RetransmitEvents", "xx", 1, a_last)
        b_log = await on(bob, b_path, "RetransmitEvents", "xx", 1, b_last)
        expected = [
            ("sendMessage", a_jid, mid),
            ("sendMessage", b_jid, bid),
            ("editMessage", b_jid, bid),
            ("removeMessage", b_jid, bid),
            ("editMessage", a_jid, mid),
            ("removeMessage", a_jid, mid),
        ]
        assert message_events(a_log) == expected
        assert message_events(b_log) == expected
        assert await participants(alice, a_path) == await participants(bob, b_path)
        assert alice_app.running()
        assert bob_app.running()
