"""The message dispatcher (xmpp/dispatch.py, xmpp/messages.py): each feature module
registers its own handler, every received stanza goes through them once, in order, and
a feature can add one of its own; and the rules the handlers keep, between Chinwag's
real connection and slixmpp peers over the rig's Prosody: an error bounce fails our
message, an archive result on the stream is not read, receipts and markers are reported
and are not messages, chat states only live."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from actions_rig import Chinwag, RecordingListener, peer
from helpers import account_for

from chinwag.core.models import ConversationKind, Direction, Message, Origin
from chinwag.xmpp import dispatch
from chinwag.xmpp.connection import SlixmppConnection
from chinwag.xmpp.dispatch import Inbound

pytestmark = pytest.mark.prosody


class Reports(RecordingListener):
    """Records, besides messages and chat states, the bounces, receipts and markers."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[tuple[str, str]] = []
        self.bounced = asyncio.Event()
        self.receipts: list[tuple[str, str]] = []
        self.displayed: list[tuple[str, str, bool]] = []

    def on_message_error(self, uid: str, peer: str, reason: str) -> None:
        self.errors.append((uid, peer))
        self.bounced.set()

    def on_receipt(self, uid: str, peer: str) -> None:
        self.receipts.append((uid, peer))

    def on_displayed(
        self,
        uid: str,
        peer: str,
        from_self: bool,
        kind: ConversationKind = ConversationKind.CHAT,
        nick: str = "",
        occupant_id: str = "",
    ) -> None:
        self.displayed.append((uid, peer, from_self))


class Side(Chinwag):
    """Chinwag's connection, its listener recording every report."""

    def __init__(self, server: Any, jid: str, password: str) -> None:
        self.jid = jid
        self.reports = self.rec = Reports()
        self.conn = SlixmppConnection(
            account_for(server, jid, resource="chinwag-test"), password, self.rec
        )
        self.rec.conn = self.conn


@contextlib.asynccontextmanager
async def side(
    server: Any, jid: str, password: str, *, connect: bool = True
) -> AsyncIterator[Side]:
    made = Side(server, jid, password)
    try:
        if connect:
            await made.conn.connect()
        yield made
    finally:
        await made.conn.disconnect()


async def test_each_feature_module_registers_its_handler_in_order(prosody: Any) -> None:
    async with side(prosody, *prosody.make_user("alice"), connect=False) as alice:
        dispatcher = alice.conn._messages.dispatcher
        assert [h.name for h in dispatcher.handlers] == [
            "errors",
            "archive results",
            "bookmark pushes",
            "user data pushes",
            "avatar pushes",
            "carbons",
            "invitations",
            "receipts",
            "markers",
            "room subject",
            "messages",
            "chat states",
        ]
        assert alice.conn.client.message_features.namespaces == (
            "urn:xmpp:reply:0",
            "urn:xmpp:message-correct:0",
            "urn:xmpp:message-retract:1",
            "urn:xmpp:reactions:0",
            "urn:xmpp:message-moderate:0",
            "urn:xmpp:json:0",
            "jabber:x:oob",
        )
        with pytest.raises(ValueError, match="'carbons' is registered already"):
            dispatcher.add("carbons", 99, lambda inbound: False)


async def test_a_feature_adds_a_handler_and_each_stanza_goes_through_once(
    prosody: Any,
) -> None:
    jid, password = prosody.make_user("alice")
    seen: list[tuple[str, Origin, bool, str]] = []

    def spy(inbound: Inbound) -> bool:
        seen.append((inbound.stanza["body"], inbound.origin, inbound.sent, inbound.peer))
        return bool(inbound.stanza["body"] == "taken by the spy")

    async with (
        side(prosody, jid, password) as alice,
        peer(prosody, f"{jid}/phone", password) as phone,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        # After the carbons are unwrapped and receipts and markers taken, before the
        # message is read.
        alice.conn._messages.dispatcher.add("spy", dispatch.MARKERS + 1, spy)
        bob.send(alice.jid, "", "<received xmlns='urn:xmpp:receipts' id='ours-1'/>")
        bob.send_chat(jid, "from bob")
        bob.send_chat(jid, "taken by the spy")
        phone.send_chat(bob.jid, "from the phone")
        await phone.sync(alice, to=bob.jid)
        await bob.sync(alice)
    by_body = {body: tuple(rest) for body, *rest in seen}
    assert len(seen) == len(by_body) == 5  # each once; the receipt was taken before
    assert by_body["from bob"] == (Origin.LIVE, False, bob.jid)
    assert by_body["from the phone"] == (Origin.CARBON, True, bob.jid)  # unwrapped
    bodies = [m.body for m in alice.reports.messages]
    assert bodies.count("from bob") == bodies.count("from the phone") == 1
    assert "taken by the spy" not in bodies
    assert alice.reports.receipts == [("ours-1", bob.jid)]


async def test_receipts_markers_and_chat_states_are_reported_not_read_as_messages(
    prosody: Any,
) -> None:
    jid, password = prosody.make_user("alice")
    async with (
        side(prosody, jid, password) as alice,
        peer(prosody, f"{jid}/phone", password) as phone,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        bob.send(alice.jid, "", "<received xmlns='urn:xmpp:receipts' id='ours-1'/>")
        bob.send(alice.jid, "", "<displayed xmlns='urn:xmpp:chat-markers:0' id='ours-2'/>")
        # A receipt is a receipt, even with a text: not also a message.
        bob.send(alice.jid, "not a message", "<received xmlns='urn:xmpp:receipts' id='ours-3'/>")
        bob.send(alice.jid, "typed", "<composing xmlns='http://jabber.org/protocol/chatstates'/>")
        # Our other device's chat state, in the carbon of what it sent: not bob's.
        phone.send(
            bob.jid, "from the phone", "<active xmlns='http://jabber.org/protocol/chatstates'/>"
        )
        await phone.sync(alice, to=bob.jid)
        await bob.sync(alice)
    reports = alice.reports
    assert reports.receipts == [("ours-1", bob.jid), ("ours-3", bob.jid)]
    assert reports.displayed == [("ours-2", bob.jid, False)]
    bodies = [m.body for m in reports.messages]
    assert "not a message" not in bodies
    assert {"typed", "from the phone"} <= set(bodies)
    assert reports.chat_states == [(bob.jid, "composing")]


async def test_a_bounce_fails_our_message_and_an_archive_result_on_the_stream_is_not_read(
    prosody: Any,
) -> None:
    async with (
        side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        # Anyone can send us an archive result: only the catch-up query reads its own.
        bob.send(
            alice.jid,
            "forged archive",
            "<result xmlns='urn:xmpp:mam:2' id='x1'><forwarded xmlns='urn:xmpp:forward:0'>"
            f"<message xmlns='jabber:client' from='{bob.jid}' to='{alice.jid}' type='chat'"
            " id='old'><body>from the archive?</body></message></forwarded></result>",
        )
        await bob.sync(alice)
        assert [m.body for m in alice.reports.messages][:-1] == []
        # Our message to nobody comes back as an error: reported as such, not read.
        nobody = f"nobody@{prosody.domain}"
        msg = alice.conn.client.make_message(mto=nobody, mbody="anyone?", mtype="chat")
        msg["id"] = "to-nobody"
        msg.send()
        async with asyncio.timeout(10):
            await alice.reports.bounced.wait()
    assert alice.reports.errors == [("to-nobody", nobody)]
    assert all(m.body != "anyone?" for m in alice.reports.messages)


def test_the_stanza_type_of_what_we_send() -> None:
    chat, room = ConversationKind.CHAT, ConversationKind.GROUPCHAT
    assert dispatch.stanza_type(chat) == "chat"
    assert dispatch.stanza_type(chat, "Hi") == "normal"  # a subject: a single message
    assert dispatch.stanza_type(chat, letter=True) == "normal"  # a letter, subject or not
    assert dispatch.stanza_type(room, "Hi", letter=True) == "groupchat"


async def test_a_letter_without_subject_reaches_the_peer_as_type_normal(prosody: Any) -> None:
    async with (
        side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        for body, fields in (
            ("a letter", {"letter": True}),
            ("a letter with a subject", {"letter": True, "subject": "Hi"}),
            ("a line", {}),
        ):
            alice.conn.send_message(
                Message(
                    account=alice.jid,
                    peer=bob.jid,
                    direction=Direction.OUTGOING,
                    body=body,
                    timestamp=time.time(),
                    sender=alice.jid,
                    **fields,  # type: ignore[arg-type]
                )
            )
        got = [await bob.receive() for _ in range(3)]
    assert [(s["body"], s["type"], s["subject"] or "") for s in got] == [
        ("a letter", "normal", ""),
        ("a letter with a subject", "normal", "Hi"),
        ("a line", "chat", ""),
    ]
