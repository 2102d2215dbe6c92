"""Exactly once at a receiver that does not drop duplicates (a bare slixmpp client): a
message the server took, but whose acknowledgement never reached us, is not sent again
when the stream cannot be resumed, neither after a server restart nor after Chinwag was
killed; our own archive tells which ones the server took."""

from __future__ import annotations

from typing import Any

import pytest
from slixmpp.plugins.xep_0198.stanza import Ack
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from test_crash import ClientProcess

from chinwag.core.events import MessageStateChanged
from chinwag.core.models import MessageState
from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


async def bodies_until(peer: XmppPeer, last: str, timeout: float = 30.0) -> list[str]:
    """Every body the peer receives, up to and including ``last``."""
    bodies: list[str] = []
    while not bodies or bodies[-1] != last:
        bodies.append((await peer.next_message(timeout=timeout))["body"])
    return bodies


def lose_acks(client: Any) -> None:
    client.remove_handler("Stream Management Ack")


def keep_acks(client: Any) -> None:
    client.register_handler(
        Callback(
            "Stream Management Ack",
            MatchXPath(Ack.tag_name()),
            client.plugin["xep_0198"]._handle_ack,
            instream=True,
        )
    )


async def test_a_message_the_server_took_is_not_sent_again_after_a_server_restart(
    prosody_own, cores: CoreMaker
) -> None:
    server = prosody_own
    alice = await cores(server, *server.make_user("alice"))
    bob_jid, bob_password = server.make_user("bob")
    client = alice.core.sessions[alice.jid]._conn.client  # type: ignore[union-attr]
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        lose_acks(client)
        taken = await alice.send(bob_jid, "taken, ack lost")
        assert await bodies_until(bob, "taken, ack lost") == ["taken, ack lost"]
        await server.arestart()  # no stream survives it: no resumption
    keep_acks(client)
    await alice.events.wait(
        MessageStateChanged,
        lambda e: e.message.uid == taken.uid and e.message.state is MessageState.SENT,
        timeout=60,
    )
    await alice.send(bob_jid, "after the restart")
    async with XmppPeer(server, bob_jid, bob_password) as bob:
        # What the server kept for bob comes at his presence, before anything sent later.
        assert await bodies_until(bob, "after the restart") == ["after the restart"]


async def test_a_message_the_server_took_is_not_sent_again_after_chinwag_was_killed(
    prosody, cores: CoreMaker, tmp_path
) -> None:
    alice_jid, alice_password = prosody.make_user("alice")
    root = tmp_path / "alice-profile"
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        first = await ClientProcess.start(root, alice_jid, alice_password, prosody)
        try:
            await first.expect("online")
            await first.lose_acks()
            uid = await first.send(bob.jid, "taken, then killed")
            assert await bodies_until(bob, "taken, then killed") == ["taken, then killed"]
        finally:
            await first.kill()
        second = await ClientProcess.start(root, alice_jid, alice_password, prosody)
        try:
            # (its state may change while it signs in: before it says "online")
            while True:
                state = await second.expect("state")
                if state["uid"] == uid:
                    break
            assert state["state"] == "SENT"
            # It took up the stream of the killed run (stream management state kept in
            # storage), so the server itself said it had the message.
            assert await second.took_over_stream()
            await second.send(bob.jid, "after the crash")
            assert await bodies_until(bob, "after the crash") == ["after the crash"]
        finally:
            await second.kill()
