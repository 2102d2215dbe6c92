"""Issue 12, invitations to rooms over the rig's real Prosody: a XEP-0249 direct
invitation as a client such as Profanity writes it, a XEP-0045 mediated one from a real
room on the rig's MUC service (a slixmpp peer makes the room and invites us), our decline
reaching the inviter through the room, our own invitations reaching a contact, and what
is refused: a mediated invitation from a user instead of a room, a malformed room
address, a flood of a thousand. None of them is ever a message: not live, not from the
archive.

Everything waits on what arrives: the peer sends a plain chat message after what it
tests, and since one sender's stanzas arrive in order, once the core has stored it
everything sent before it has been handled."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from actions_rig import Peer, chinwag_side
from helpers import history

from chinwag.core import invitations as invitation_rules
from chinwag.core.events import InvitationReceived, MessageAdded
from chinwag.core.models import ConversationKey, ConversationKind
from conftest import Client, CoreMaker
from rig.muc import make_room, room_name
from rig.prosody import ProsodyServer

pytestmark = pytest.mark.prosody

NS_MUC_USER = "http://jabber.org/protocol/muc#user"
_tokens = itertools.count(1)


@contextlib.asynccontextmanager
async def contact(server: ProsodyServer, prefix: str) -> AsyncIterator[Peer]:
    """A slixmpp contact that can make rooms and invite to them (xep_0045)."""
    p = Peer(server, *server.make_user(prefix))
    p.client.register_plugin("xep_0045")
    await p.login()
    try:
        yield p
    finally:
        await p.logout()


def send_raw(peer: Peer, to: str, inner: str, body: str = "") -> None:
    """A message as a client writes it by hand (the server puts our address on it)."""
    text = f"<body>{body}</body>" if body else ""
    peer.client.send_raw(f"<message to={quoteattr(to)}>{inner}{text}</message>")


async def sync(peer: Peer, me: Client) -> None:
    """Every stanza ``peer`` sent before this one has been handled by ``me``'s core."""
    token = f"sync {next(_tokens)}"
    peer.send_chat(me.jid, token)
    await me.events.wait(MessageAdded, lambda e: e.message.body == token)


async def stanza_from(peer: Peer, check: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """The next stanza ``peer`` receives for which ``check`` holds."""
    async with asyncio.timeout(timeout):
        while True:
            stanza = await peer.stanzas.get()
            if check(stanza):
                return stanza


def only_syncs_stored(me: Client) -> None:
    """Nothing but the sync messages became a message."""
    bodies = [e.message.body for e in me.events.of(MessageAdded)]
    assert bodies, "no sync message arrived"
    assert all(body.startswith("sync ") for body in bodies), bodies


async def test_a_direct_invitation_written_by_hand_is_an_invitation(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    me = await cores(prosody, *prosody.make_user("me"))
    room = room_name(prosody, "direct")
    async with contact(prosody, "bob") as bob:
        # As Profanity sends it: no type, no body, the reason and password as attributes.
        conference = (
            f"<x xmlns='jabber:x:conference' jid={quoteattr(room)} reason='come and see'"
            " password='open sesame'/>"
        )
        send_raw(bob, me.jid, conference)
        got = await me.events.wait(InvitationReceived)
        await sync(bob, me)
    invitation = got.invitation
    assert (invitation.room, invitation.inviter, invitation.direct) == (room, bob.jid, True)
    assert (invitation.reason, invitation.password) == ("come and see", "open sesame")
    assert me.core.invitations.pending(me.jid) == [invitation]
    assert me.core.invitations.accept(me.jid, room) == (room, "open sesame")
    assert me.core.invitations.pending(me.jid) == []
    only_syncs_stored(me)


async def test_a_room_invites_us_and_our_decline_reaches_the_inviter(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    me_jid, me_pw = prosody.make_user("me")
    me = await cores(prosody, me_jid, me_pw)
    room = room_name(prosody, "mediated")
    async with contact(prosody, "bob") as bob:
        await make_room(bob, room, "Bob")
        bob.client.plugin["xep_0045"].invite(room, me.jid, "we talk about boats")
        got = await me.events.wait(InvitationReceived)
        invitation = got.invitation
        # The room hides real addresses (its default): it names Bob by his nick.
        assert (invitation.room, invitation.inviter) == (room, f"{room}/Bob")
        assert (invitation.reason, invitation.direct) == ("we talk about boats", False)

        assert me.core.invitations.decline(me.jid, room, "not today") == 1
        declined = await stanza_from(
            bob, lambda s: s.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}decline") is not None
        )
        decline = declined.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}decline")
        assert declined["from"].bare == room
        assert (decline.get("from") or "").partition("/")[0] == me.jid
        assert decline.findtext(f"{{{NS_MUC_USER}}}reason") == "not today"
        assert me.core.invitations.pending(me.jid) == []

        # The room added a plain text for clients that know no invitations (Prosody
        # does): it is no message in the room's conversation nor in one with the room.
        send_raw(bob, me.jid, f"<x xmlns='jabber:x:conference' jid={quoteattr(room)}/>")
        await me.events.wait(InvitationReceived, lambda e: e.invitation.direct)
        await sync(bob, me)
    only_syncs_stored(me)
    assert history(me.core, me.jid, room) == []
    key = ConversationKey(me.jid, room, ConversationKind.GROUPCHAT)
    assert me.core.store.latest(key, 10) == []
    # Prosody archives invitations: the catch-up does not make messages of them either.
    async with chinwag_side(prosody, me_jid, me_pw) as side:
        archived = await side.archive()
    assert archived, "the archive has the sync messages at least"
    assert all(m.body.startswith("sync ") for m in archived), [m.body for m in archived]


async def test_our_invitations_reach_a_contact_directly_and_through_the_room(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    me = await cores(prosody, *prosody.make_user("me"))
    room = room_name(prosody, "ours")
    async with contact(prosody, "owner") as owner, contact(prosody, "bob") as bob:
        await make_room(owner, room, "Owner")
        me.core.invitations.invite(me.jid, room, bob.jid, "join us", mediated=True)
        direct = await stanza_from(bob, lambda s: s.xml.find("{jabber:x:conference}x") is not None)
        x = direct.xml.find("{jabber:x:conference}x")
        assert direct["from"].bare == me.jid
        assert (x.get("jid"), x.get("reason")) == (room, "join us")
        mediated = await stanza_from(
            bob, lambda s: s.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}invite") is not None
        )
        invite = mediated.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}invite")
        assert mediated["from"].bare == room
        assert (invite.get("from") or "").partition("/")[0] == me.jid
        assert invite.findtext(f"{{{NS_MUC_USER}}}reason") == "join us"


async def test_a_mediated_invitation_from_a_user_is_refused(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    me = await cores(prosody, *prosody.make_user("me"))
    room = room_name(prosody, "forged")
    async with contact(prosody, "mallory") as mallory:
        forged = (
            f"<x xmlns='{NS_MUC_USER}'><invite from='boss@localhost'>"
            "<reason>urgent</reason></invite><password>hunter2</password></x>"
            f"<x xmlns='jabber:x:conference' jid={quoteattr(room)}/>"
        )
        send_raw(mallory, me.jid, forged, body=f"boss@localhost invited you to the room {room}")
        await sync(mallory, me)
    assert me.events.of(InvitationReceived) == []
    assert me.core.invitations.pending(me.jid) == []
    only_syncs_stored(me)


async def test_invitations_naming_no_room_are_refused(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    me = await cores(prosody, *prosody.make_user("me"))
    bad = ["", prosody.muc_domain, f"lounge@{prosody.muc_domain}/nick", "a b@x.org", "@x.org"]
    async with contact(prosody, "bob") as bob:
        # (each with a text for clients that know no invitations: not a message either)
        for address in bad:
            x = f"<x xmlns='jabber:x:conference' jid={quoteattr(address)}/>"
            send_raw(bob, me.jid, x, body=f"come to {address}")
        send_raw(bob, me.jid, "<x xmlns='jabber:x:conference'/>", body="come")  # no address
        await sync(bob, me)
    assert me.events.of(InvitationReceived) == []
    only_syncs_stored(me)


async def test_a_flood_of_a_thousand_invitations_is_bounded(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    me = await cores(prosody, *prosody.make_user("me"))
    async with contact(prosody, "flood") as flood:
        for n in range(1000):
            room = f"flood{n}@{prosody.muc_domain}"
            send_raw(flood, me.jid, f"<x xmlns='jabber:x:conference' jid={quoteattr(room)}/>")
        await sync(flood, me)
    pending = me.core.invitations.pending(me.jid)
    assert len(pending) == invitation_rules.MAX_PER_SENDER
    assert pending[0].room == f"flood0@{prosody.muc_domain}"
    assert len(me.events.of(InvitationReceived)) == invitation_rules.MAX_PER_SENDER
    only_syncs_stored(me)
