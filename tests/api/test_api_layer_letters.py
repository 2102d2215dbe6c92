"""The API layer's letters (gateways.md section 1, what the XML-RPC gateway adapts),
called directly: all-or-nothing sends to many recipients, the limits, the inbox and
marking read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from api_rig import BOB, ME, TIMEOUT, ApiLayerRig, ScriptedConnection

from chinwag.api.letters import LetterError, Refusal
from chinwag.core.errors import ServerUnreachable
from chinwag.core.events import ConnectionStateChanged
from chinwag.core.models import (
    ConnectionState,
    ConversationKey,
    ConversationKind,
    DiscoIdentity,
    DiscoInfo,
    Message,
)

CAROL = "carol@localhost"
ROOM = "den@conference.localhost"


async def refused(rig: ApiLayerRig, **kwargs: object) -> LetterError:
    args: dict[str, object] = {"to": [BOB], "body": "hello"} | kwargs
    with pytest.raises(LetterError) as info:
        await rig.api.letters.send(ME, **args)  # type: ignore[arg-type]
    assert rig.connection.sent == []  # nothing sent
    return info.value


async def test_a_letter_to_many_goes_to_each_in_the_order_of_to(rig: ApiLayerRig) -> None:
    sent = await rig.api.letters.send(
        ME, ["Carol@Localhost", BOB, "carol@localhost"], "<b>as typed</b>", subject="Hi"
    )
    assert len(sent.msgids) == 2
    assert sent.errors == ()
    by_peer = {m.peer: m for m in rig.connection.sent}
    assert [m.peer for m in rig.connection.sent] == [CAROL, BOB]
    assert (by_peer[BOB].subject, by_peer[BOB].body) == ("Hi", "<b>as typed</b>")
    stored = [rig.core.store.get_by_id(i) for i in sent.msgids]
    assert [m.peer for m in stored if m is not None] == [CAROL, BOB]


async def test_a_letter_without_subject_is_still_a_letter(rig: ApiLayerRig) -> None:
    await rig.api.letters.send(ME, [BOB], "no subject")
    await rig.api.messages.send(ME, BOB, "a line of a chat")
    assert [(m.body, m.subject, m.letter) for m in rig.connection.sent] == [
        ("no subject", "", True),
        ("a line of a chat", "", False),
    ]


async def test_a_letter_waiting_in_the_outbox_is_sent_as_one_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await ApiLayerRig.start(tmp_path)
    try:
        monkeypatch.setattr(ScriptedConnection, "refuse_connect", ServerUnreachable("down"))
        reconnecting = asyncio.Event()

        def on_state(event: ConnectionStateChanged) -> None:
            if event.state is ConnectionState.RECONNECTING:
                reconnecting.set()

        first.core.bus.subscribe(ConnectionStateChanged, on_state)
        first.connection.listener.on_disconnected(ServerUnreachable("lost"))
        async with asyncio.timeout(TIMEOUT):
            await reconnecting.wait()
        sent = await first.api.letters.send(ME, [BOB], "kept for later")
        assert all(m.body != "kept for later" for c in first.connections for m in c.sent)
    finally:
        await first.close()

    monkeypatch.setattr(ScriptedConnection, "refuse_connect", None)
    transmitted = asyncio.Event()
    send = ScriptedConnection.send_message

    def send_and_tell(self: ScriptedConnection, message: Message) -> None:
        send(self, message)
        transmitted.set()

    monkeypatch.setattr(ScriptedConnection, "send_message", send_and_tell)
    second = await ApiLayerRig.start(tmp_path)
    try:
        async with asyncio.timeout(TIMEOUT):
            await transmitted.wait()
        (resent,) = second.connection.sent
        assert (resent.id, resent.body, resent.subject, resent.letter) == (
            sent.msgids[0],
            "kept for later",
            "",
            True,
        )
    finally:
        await second.close()


@pytest.mark.parametrize(
    ("to", "named"),
    [
        (["bob@localhost", "not an address@"], "not an address@"),
        ([BOB, "localhost"], "localhost"),
        ([BOB, "x@y/res"], "x@y/res"),
    ],
)
async def test_a_bad_address_sends_nothing_and_is_named(
    rig: ApiLayerRig, to: list[str], named: str
) -> None:
    error = await refused(rig, to=to)
    assert error.refusal is Refusal.BAD_ADDRESS
    assert named in error.detail


async def test_rooms_and_blocked_contacts_are_refused_with_every_reason(rig: ApiLayerRig) -> None:
    rig.connection.disco[ROOM] = DiscoInfo(ROOM, (DiscoIdentity("conference", "text"),))
    await rig.core.blocking.block(ME, CAROL)
    error = await refused(rig, to=[BOB, ROOM, CAROL])
    assert error.refusal is Refusal.INVALID
    assert error.detail == f"{ROOM} is a group chat, not a person; {CAROL} is blocked"


@pytest.mark.parametrize(
    ("kwargs", "refusal"),
    [
        ({"subject": "x" * 256}, Refusal.INVALID),
        ({"subject": "two\nlines"}, Refusal.INVALID),
        ({"subject": "two\u2028lines"}, Refusal.INVALID),
        ({"body": "x" * 5001}, Refusal.BODY_TOO_LONG),
        ({"body": " \n "}, Refusal.BODY_EMPTY),
        ({"body": "bell\x07"}, Refusal.BAD_TEXT),
        ({"to": []}, Refusal.MISSING),
        ({"parent": 12345}, Refusal.INVALID),
    ],
)
async def test_limits(rig: ApiLayerRig, kwargs: dict[str, object], refusal: Refusal) -> None:
    assert (await refused(rig, **kwargs)).refusal is refusal


async def test_the_limits_themselves_pass(rig: ApiLayerRig) -> None:
    sent = await rig.api.letters.send(ME, [BOB], "x" * 5000, subject="s" * 255)
    assert len(sent.msgids) == 1


async def test_a_reply_names_its_parent_and_the_inbox_lists_it(rig: ApiLayerRig) -> None:
    await rig.receive("first", "second")
    inbox = rig.api.letters.inbox(ME)
    assert [(i.body, i.received, i.read, i.peer) for i in inbox] == [
        ("second", True, False, BOB),
        ("first", True, False, BOB),
    ]
    sent = await rig.api.letters.send(ME, [BOB], "answer", subject="Re", parent=inbox[1].qid)
    (message,) = rig.connection.sent
    first = rig.core.store.get_by_id(inbox[1].qid)
    assert first is not None
    assert message.reply_to == first.uid
    newest = rig.api.letters.inbox(ME, itemshow=1)
    assert [(i.qid, i.received, i.subject, i.parent) for i in newest] == [
        (sent.msgids[0], False, "Re", inbox[1].qid)
    ]
    assert [i.body for i in rig.api.letters.inbox(ME, received=False)] == ["answer"]
    assert [i.body for i in rig.api.letters.inbox(ME, received=True, skip=1)] == ["first"]
    assert rig.api.letters.inbox(ME, lastsync=newest[0].when + 10) == []


async def test_a_parent_of_someone_else_is_refused(rig: ApiLayerRig) -> None:
    await rig.receive("first")
    (item,) = rig.api.letters.inbox(ME)
    error = await refused(rig, to=[CAROL], parent=item.qid)
    assert error.refusal is Refusal.INVALID
    assert "not a recipient" in error.detail


@pytest.mark.parametrize(
    ("kwargs"), [{"itemshow": 0}, {"itemshow": 101}, {"skip": -1}, {"skip": 101}]
)
async def test_inbox_ranges(rig: ApiLayerRig, kwargs: dict[str, int]) -> None:
    with pytest.raises(LetterError) as info:
        rig.api.letters.inbox(ME, **kwargs)  # type: ignore[arg-type]
    assert info.value.refusal is Refusal.OUT_OF_RANGE


async def test_set_read_moves_the_position_to_the_newest_named_and_sends_a_marker(
    rig: ApiLayerRig,
) -> None:
    await rig.receive("one", "two", "three")
    three, two, one = rig.api.letters.inbox(ME)
    marked = await rig.api.letters.set_read(ME, [one.qid, two.qid])
    assert [(m.id, m.already) for m in marked] == [(one.qid, False), (two.qid, False)]
    assert [i.read for i in rig.api.letters.inbox(ME)] == [False, True, True]
    second = rig.core.store.get_by_id(two.qid)
    assert second is not None
    assert rig.connection.displayed == [(BOB, second.uid)]
    key = ConversationKey(ME, BOB, ConversationKind.CHAT)
    assert rig.core.conversations.own_position(key) == second.sequence
    again = await rig.api.letters.set_read(ME, [one.qid, three.qid])
    assert [(m.id, m.already) for m in again] == [(one.qid, True), (three.qid, False)]
    assert [i.read for i in rig.api.letters.inbox(ME)] == [True, True, True]


async def test_set_read_checks_every_id_first(rig: ApiLayerRig) -> None:
    await rig.receive("one")
    (one,) = rig.api.letters.inbox(ME)
    with pytest.raises(LetterError) as info:
        await rig.api.letters.set_read(ME, [one.qid, 999])
    assert info.value.refusal is Refusal.INVALID
    assert "999" in info.value.detail
    assert [i.read for i in rig.api.letters.inbox(ME)] == [False]
    assert rig.connection.displayed == []
