"""Issue 11, the XMPP layer against bad input: corrections, retractions, reactions and
replies as a broken or hostile client may send them, over the rig's Prosody to Chinwag's
real connection. None may raise out of the dispatcher, stop the stream or take the rest
of the stanza with it: the bad element alone is dropped (and logged), and what is left
reaches the core (see :mod:`actions_rig` for what is recorded).

Each test sends its stanzas, then a plain message: once that is here, every stanza
before it has been handled."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from actions_rig import Chinwag, chinwag_side, peer

from chinwag.core.models import (
    MAX_REACTION_CHARS,
    MAX_REACTIONS,
    ConversationKind,
    Message,
    MessageAction,
)

pytestmark = pytest.mark.prosody

CORRECT = "urn:xmpp:message-correct:0"
RETRACT = "urn:xmpp:message-retract:1"
REACT = "urn:xmpp:reactions:0"
REPLY = "urn:xmpp:reply:0"
FALLBACK = "urn:xmpp:fallback:0"


@pytest.fixture(autouse=True)
def nothing_raised(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever came in, nothing of the XMPP layer failed (the dispatcher logs what
    escapes a reader as an error)."""
    yield
    failed = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("chinwag.xmpp") and r.levelno >= logging.WARNING
    ]
    assert failed == []


def summary(m: Message) -> tuple[Any, ...]:
    return (m.action, m.target, m.body, m.reactions, m.reply_to, m.reply_to_jid)


async def exchange(
    prosody: Any, *stanzas: tuple[str, tuple[str, ...]]
) -> tuple[Chinwag, list[Message | None]]:
    """Send each (body, elements) from a peer to Chinwag; what each became (None: no
    message), and the Chinwag side (its recorder) once the sync message is in."""
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        ids = [bob.send(alice.jid, body, *elements) for body, elements in stanzas]
        await bob.sync(alice)
    by_uid = {m.uid: m for m in alice.rec.messages}
    assert alice.rec.unacknowledged == 0
    return alice, [by_uid.get(uid) for uid in ids]


async def test_a_correction_naming_no_message_is_a_new_message(prosody: Any) -> None:
    _, got = await exchange(
        prosody,
        ("no id", (f"<replace xmlns='{CORRECT}'/>",)),
        ("empty id", (f"<replace xmlns='{CORRECT}' id=''/>",)),
        ("blank id", (f"<replace xmlns='{CORRECT}' id='   '/>",)),
        ("huge id", (f"<replace xmlns='{CORRECT}' id='{'x' * 5000}'/>",)),
        (
            "two ids",
            (f"<replace xmlns='{CORRECT}' id='a'/>", f"<replace xmlns='{CORRECT}' id='b'/>"),
        ),
        ("", (f"<replace xmlns='{CORRECT}'/>",)),
    )
    assert [m and summary(m) for m in got] == [
        (MessageAction.NEW, "", "no id", (), "", ""),
        (MessageAction.NEW, "", "empty id", (), "", ""),
        (MessageAction.NEW, "", "blank id", (), "", ""),
        (MessageAction.NEW, "", "huge id", (), "", ""),
        (MessageAction.NEW, "", "two ids", (), "", ""),
        None,  # no text and nothing it could correct: not a message
    ]


async def test_a_correction_without_a_text_is_only_its_chat_state(prosody: Any) -> None:
    alice, got = await exchange(
        prosody,
        (
            "",
            (
                f"<replace xmlns='{CORRECT}' id='m-1'/>",
                "<composing xmlns='http://jabber.org/protocol/chatstates'/>",
            ),
        ),
    )
    assert got == [None]
    assert [state for _, state in alice.rec.chat_states] == ["composing"]


async def test_retractions_of_unknown_or_no_message(prosody: Any) -> None:
    _, got = await exchange(
        prosody,
        # Unknown to us: still a retraction; only the store can tell it names nothing.
        ("fallback", (f"<retract xmlns='{RETRACT}' id='never-sent'/>",)),
        # None named: the fallback body is then what a client without the feature shows.
        ("fallback shown", (f"<retract xmlns='{RETRACT}'/>",)),
        ("", (f"<retract xmlns='{RETRACT}' id=''/>",)),
        (
            "",
            (
                "<apply-to xmlns='urn:xmpp:fasten:0'>"
                "<retract xmlns='urn:xmpp:message-retract:0'/></apply-to>",
            ),
        ),
    )
    assert [m and summary(m) for m in got] == [
        (MessageAction.RETRACT, "never-sent", "", (), "", ""),
        (MessageAction.NEW, "", "fallback shown", (), "", ""),
        None,
        None,
    ]


async def test_a_thousand_reactions_keep_the_first_distinct_ones(
    prosody: Any, caplog: pytest.LogCaptureFixture
) -> None:
    many = [chr(0x1F600 + i % 80) + chr(0x1F3FB + i // 80) for i in range(1000)]
    assert len(set(many)) == 1000
    reactions = "".join(f"<reaction>{r}</reaction>" for r in many)
    with caplog.at_level(logging.INFO, logger="chinwag.xmpp.reactions"):
        _, got = await exchange(
            prosody, ("", (f"<reactions xmlns='{REACT}' id='m-1'>{reactions}</reactions>",))
        )
    (message,) = got
    assert message is not None
    assert message.action is MessageAction.REACT
    assert message.reactions == tuple(many[:MAX_REACTIONS])
    assert any("dropped" in r.getMessage() and "1000" in r.getMessage() for r in caplog.records)


async def test_reactions_drop_only_their_bad_entries(prosody: Any) -> None:
    long = "😀" * (MAX_REACTION_CHARS + 1)
    _, got = await exchange(
        prosody,
        (
            "a body that is not the message",
            (
                f"<reactions xmlns='{REACT}' id='m-1'>"
                "<reaction>👍</reaction>"
                "<reaction>👍</reaction>"  # twice: once
                "<reaction/>"  # empty
                "<reaction>   </reaction>"
                f"<reaction>{long}</reaction>"
                "<reaction>🎉<b xmlns='urn:junk'>nested</b></reaction>"
                "<junk xmlns='urn:junk'><reaction xmlns='urn:xmpp:reactions:0'>🐍</reaction>"
                "</junk>"
                "<reaction xmlns='urn:junk'>🦀</reaction>"
                "text between"
                "<reaction> ❤️ </reaction>"
                "</reactions>",
            ),
        ),
        ("", (f"<reactions xmlns='{REACT}'><reaction>👍</reaction></reactions>",)),
        ("", (f"<reactions xmlns='{REACT}' id=''><reaction>👍</reaction></reactions>",)),
        (
            "",
            (
                f"<reactions xmlns='{REACT}' id='a'><reaction>👍</reaction></reactions>",
                f"<reactions xmlns='{REACT}' id='b'><reaction>👎</reaction></reactions>",
            ),
        ),
        (
            "",
            (f"<reactions xmlns='{REACT}' id='m-2'><reaction>{'x' * 5000}</reaction></reactions>",),
        ),
    )
    assert [m and summary(m) for m in got] == [
        (MessageAction.REACT, "m-1", "", ("👍", "❤️"), "", ""),
        None,
        None,
        None,
        None,  # every reaction bad: not "all taken back", nothing
    ]


async def test_reply_fallback_ranges_out_of_bounds_leave_the_body_whole(prosody: Any) -> None:
    body = "> a quote 😀\nthe answer"  # 22 code points; the quote with its newline is 12

    def reply(*ranges: tuple[str, str]) -> tuple[str, tuple[str, ...]]:
        parts = "".join(f"<body start='{s}' end='{e}'/>" for s, e in ranges)
        return (
            body,
            (
                f"<reply xmlns='{REPLY}' to='someone@localhost/phone' id='m-1'/>",
                f"<fallback xmlns='{FALLBACK}' for='{REPLY}'>{parts}</fallback>",
            ),
        )

    _, got = await exchange(
        prosody,
        reply(("0", "12")),  # in code points (UTF-16 would make it 13, UTF-8 15)
        reply(("0", "23")),
        reply(("0", "99999999999999999999")),
        reply(("-1", "12")),
        reply(("12", "0")),
        reply(("5", "5")),
        reply(("zero", "12")),
        reply(("+0", "12")),
        reply(("0", "")),
        reply(),  # no range at all: the whole body, which would leave no text
        reply(("0", "22")),  # the whole body: likewise
        reply(("0", "6"), ("2", "12")),  # overlapping: merged
    )
    whole = (MessageAction.NEW, "", body, (), "m-1", "someone@localhost")
    answer = (MessageAction.NEW, "", "the answer", (), "m-1", "someone@localhost")
    assert [m and summary(m) for m in got] == [answer, *[whole] * 10, answer]


async def test_replies_with_bad_parts_keep_what_is_good(prosody: Any) -> None:
    _, got = await exchange(
        prosody,
        ("no id", (f"<reply xmlns='{REPLY}' to='bob@localhost'/>",)),
        ("bad author", (f"<reply xmlns='{REPLY}' to='@@not a jid@@' id='m-1'/>",)),
        ("no author", (f"<reply xmlns='{REPLY}' id='m-2'/>",)),
        # a broken correction next to a good reply: the reply stays
        (
            "both",
            (
                f"<reply xmlns='{REPLY}' id='m-3' to='x@localhost'/>",
                f"<replace xmlns='{CORRECT}'/>",
            ),
        ),
        ("", (f"<reply xmlns='{REPLY}' id='m-4'/>",)),  # a reply with no text: nothing
    )
    assert [m and summary(m) for m in got] == [
        (MessageAction.NEW, "", "no id", (), "", ""),
        (MessageAction.NEW, "", "bad author", (), "m-1", ""),
        (MessageAction.NEW, "", "no author", (), "m-2", ""),
        (MessageAction.NEW, "", "both", (), "m-3", "x@localhost"),
        None,
    ]


async def test_junk_inside_each_element_is_ignored(prosody: Any) -> None:
    junk = "<junk xmlns='urn:junk' id='other'><deeper><deepest/></deeper>text</junk>tail"
    _, got = await exchange(
        prosody,
        ("fixed", (f"<replace xmlns='{CORRECT}' id='m-1'>{junk}</replace>",)),
        ("fallback", (f"<retract xmlns='{RETRACT}' id='m-2'>{junk}<reason>x</reason></retract>",)),
        ("", (f"<reactions xmlns='{REACT}' id='m-3'>{junk}<reaction>👍</reaction></reactions>",)),
        ("answer", (f"<reply xmlns='{REPLY}' id='m-4' to='x@localhost'>{junk}</reply>",)),
        # an element of ours nested inside another: not at the message's top, not read
        ("plain", (f"<junk xmlns='urn:junk'><replace xmlns='{CORRECT}' id='m-5'/></junk>",)),
    )
    assert [m and summary(m) for m in got] == [
        (MessageAction.CORRECT, "m-1", "fixed", (), "", ""),
        (MessageAction.RETRACT, "m-2", "", (), "", ""),
        (MessageAction.REACT, "m-3", "", ("👍",), "", ""),
        (MessageAction.NEW, "", "answer", (), "m-4", "x@localhost"),
        (MessageAction.NEW, "", "plain", (), "", ""),
    ]


async def test_groupchat_stanzas_come_up_as_a_rooms_and_headlines_not_at_all(prosody: Any) -> None:
    """A stanza of type groupchat is a room's, never read as chat: it reaches the core as
    a message of the room's conversation (the core drops those of rooms we are not in),
    its sender the occupant; a headline is nobody's conversation. Neither is answered
    with a receipt."""
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        for mtype in ("groupchat", "headline"):
            bob.stanza(
                alice.full_jid,
                "x",
                f"<replace xmlns='{CORRECT}' id='m-1'/>",
                "<request xmlns='urn:xmpp:receipts'/>",
                mtype=mtype,
            ).send()
            bob.stanza(
                alice.full_jid,
                "",
                f"<reactions xmlns='{REACT}' id='m-1'><reaction>👍</reaction></reactions>",
                mtype=mtype,
            ).send()
        sync = await bob.sync(alice)
        occupant = str(bob.client.boundjid.full)
    *rooms, last = alice.rec.messages
    assert last == sync
    assert alice.rec.receipt_to[: len(rooms)] == ["", ""]  # a room's: never acknowledged
    assert [(m.kind, m.action, m.peer, m.sender, m.body, m.reactions) for m in rooms] == [
        (ConversationKind.GROUPCHAT, MessageAction.CORRECT, bob.jid, occupant, "x", ()),
        (ConversationKind.GROUPCHAT, MessageAction.REACT, bob.jid, occupant, "", ("👍",)),
    ]
