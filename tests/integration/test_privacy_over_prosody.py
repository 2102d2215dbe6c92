"""The privacy preferences on the wire (xmpp/privacy.py): with typing notifications off,
no XEP-0085 chat state leaves Chinwag's real connection on anything it sends (a message,
a correction, a letter, a room's message, a chat state alone); with read markers off, no
XEP-0333 displayed marker. XEP-0184 receipts and their requests, and the markable flag,
go as always. Checked on every byte the connection writes, and on what a slixmpp peer
receives over the rig's Prosody."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from actions_rig import Chinwag, Peer, chinwag_side, peer
from helpers import fresh_room

from chinwag.core.models import (
    ConversationKind,
    Direction,
    Message,
    MessageState,
    new_message_uid,
)

pytestmark = pytest.mark.prosody

NS_CHAT_STATES = "http://jabber.org/protocol/chatstates"


def ours(side: Chinwag, to: str, body: str, **fields: Any) -> Message:
    return Message(
        account=side.jid,
        peer=to,
        direction=Direction.OUTGOING,
        body=body,
        timestamp=time.time(),
        uid=new_message_uid(),
        sender=side.jid,
        state=MessageState.QUEUED,
        **fields,
    )


def record_writes(side: Chinwag) -> list[str]:
    """Every piece of XML the connection writes from now on."""
    written: list[str] = []
    client = side.conn.client
    write = client.send_raw

    def recording(data: str | bytes) -> None:
        written.append(data if isinstance(data, str) else data.decode())
        write(data)

    client.send_raw = recording
    return written


async def received_until(bob: Peer, body: str) -> list[Any]:
    """Every message ``bob`` receives up to the one with ``body``."""
    got: list[Any] = []
    while not got or got[-1]["body"] != body:
        got.append(await asyncio.wait_for(bob.stanzas.get(), 20))
    return got


def has(stanza: Any, tag: str) -> bool:
    return stanza.xml.find(tag) is not None


async def test_off_no_chat_state_or_read_marker_leaves_and_on_they_do(prosody: Any) -> None:
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        written = record_writes(alice)
        room = fresh_room(prosody, "privacy")
        alice.conn.set_privacy(chat_states=False, read_markers=False)
        first = ours(alice, bob.jid, "hello")
        alice.send(first)
        alice.send(ours(alice, bob.jid, "hello, fixed", replaces=first.uid))
        alice.send(ours(alice, bob.jid, "a letter", letter=True, subject="About"))
        alice.send(ours(alice, room, "to a room", kind=ConversationKind.GROUPCHAT))
        alice.conn.send_chat_state(bob.jid, "composing")
        alice.conn.send_chat_state(room, "paused", ConversationKind.GROUPCHAT)
        alice.conn.send_displayed(bob.jid, "bobs-1")
        alice.conn.send_receipt(bob.jid, "bobs-2")
        alice.send(ours(alice, bob.jid, "the end"))
        got = await received_until(bob, "the end")

        assert not [w for w in written if NS_CHAT_STATES in w]
        assert not [w for w in written if "<displayed" in w]
        assert [s["body"] for s in got if s["body"]] == [
            "hello",
            "hello, fixed",
            "a letter",
            "the end",
        ]
        # The chat states and the marker alone were not sent as empty messages; the
        # receipt went.
        alone = [s for s in got if not s["body"]]
        assert len(alone) == 1
        assert has(alone[0], "{urn:xmpp:receipts}received")
        assert not any(has(s, f"{{{NS_CHAT_STATES}}}active") for s in got)
        hello = got[0]
        assert has(hello, "{urn:xmpp:receipts}request")
        assert has(hello, "{urn:xmpp:chat-markers:0}markable")

        alice.conn.set_privacy(chat_states=True, read_markers=True)
        alice.send(ours(alice, bob.jid, "again"))
        alice.conn.send_chat_state(bob.jid, "composing")
        alice.conn.send_displayed(bob.jid, "bobs-3")
        alice.send(ours(alice, bob.jid, "the end, again"))
        got = await received_until(bob, "the end, again")
        assert has(got[0], f"{{{NS_CHAT_STATES}}}active")
        assert any(has(s, f"{{{NS_CHAT_STATES}}}composing") for s in got)
        assert any(has(s, "{urn:xmpp:chat-markers:0}displayed") for s in got)
