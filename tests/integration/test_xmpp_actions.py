"""Issue 11, the XMPP layer: corrections (XEP-0308), retractions (XEP-0424), reactions
(XEP-0444) and replies (XEP-0461) between Chinwag's real connection and slixmpp peers
over the rig's Prosody, in both directions and by every path a message comes by: live,
carbons of the user's other devices, offline storage, and the archive.

What the connection hands up to the core is recorded (see :mod:`actions_rig`); the
peers send with slixmpp's own plugins for these XEPs and read what we send with them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from actions_rig import Chinwag, chinwag_side, peer

from chinwag.core.models import (
    Direction,
    Message,
    MessageAction,
    MessageState,
    Origin,
    new_message_uid,
)
from chinwag.xmpp import retractions

pytestmark = pytest.mark.prosody

NS_HINTS = "urn:xmpp:hints"
NS_FALLBACK = "urn:xmpp:fallback:0"


def ours(side: Chinwag, to: str, body: str = "", **action: Any) -> Message:
    """An outgoing message as the core builds one: a fresh uid, the action's fields."""
    return Message(
        account=side.jid,
        peer=to,
        direction=Direction.OUTGOING,
        body=body,
        timestamp=time.time(),
        uid=new_message_uid(),
        sender=side.jid,
        state=MessageState.QUEUED,
        **action,
    )


def summary(m: Message) -> tuple[Any, ...]:
    return (m.action, m.target, m.body, m.reactions, m.reply_to, m.reply_to_jid)


async def test_a_peers_correction_retraction_reactions_and_reply_reach_the_core(
    prosody: Any,
) -> None:
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        first = ours(alice, bob.jid, "a question")
        alice.send(first)
        assert (await bob.receive())["body"] == "a question"

        bob.send_chat(alice.jid, "hello")
        hello = await alice.rec.wait(lambda m: m.body == "hello")
        mark = len(alice.rec.messages)
        plugins = bob.client.plugin
        plugins["xep_0308"].build_correction(hello.uid, alice.jid, mbody="hello, fixed").send()
        plugins["xep_0444"].send_reactions(alice.jid, first.uid, ["👍", "❤️", "👍"])
        plugins["xep_0444"].send_reactions(alice.jid, first.uid, [])
        plugins["xep_0461"].send_reply(
            alice.full_jid,
            first.uid,
            fallback="a question",
            quoted_nick="alice",
            mto=alice.jid,
            mbody="an answer",
            mtype="chat",
        )
        plugins["xep_0424"].send_retraction(alice.jid, hello.uid)
        await bob.sync(alice)
        got = alice.rec.after(mark)[:-1]

    assert [summary(m) for m in got] == [
        (MessageAction.CORRECT, hello.uid, "hello, fixed", (), "", ""),
        # slixmpp sends a set: whatever its order, each reaction once
        (MessageAction.REACT, first.uid, "", got[1].reactions, "", ""),
        (MessageAction.REACT, first.uid, "", (), "", ""),
        (MessageAction.NEW, "", "an answer", (), first.uid, alice.jid),
        (MessageAction.RETRACT, hello.uid, "", (), "", ""),
    ]
    assert sorted(got[1].reactions) == sorted(["👍", "❤️"])
    # The reply's quote (its fallback) is kept apart from its text, its marks taken off.
    assert [m.reply_quote for m in got] == ["", "", "", "a question", ""]
    for m in got:
        assert m.direction is Direction.INCOMING
        assert m.sender == bob.jid
        assert m.peer == bob.jid
        assert m.origin is Origin.LIVE
        assert m.uid  # its own id, not the target's
        assert m.uid not in (hello.uid, first.uid)
    assert len({m.uid for m in got}) == len(got)
    assert alice.rec.unacknowledged == 0


async def test_the_older_retraction_form_and_a_reaction_with_a_private_hint_are_read(
    prosody: Any,
) -> None:
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        old = bob.send(
            alice.jid,
            "fallback of an old client",
            "<apply-to xmlns='urn:xmpp:fasten:0' id='m-1'>"
            "<retract xmlns='urn:xmpp:message-retract:0'/></apply-to>",
            "<fallback xmlns='urn:xmpp:fallback:0'/>",
        )
        # A bodiless message marked private was dropped before: a reaction is not.
        private = bob.send(
            alice.jid,
            "",
            "<reactions xmlns='urn:xmpp:reactions:0' id='m-2'><reaction>🎉</reaction></reactions>",
            "<private xmlns='urn:xmpp:carbons:2'/>",
        )
        await bob.sync(alice)
    retraction = await alice.rec.wait(lambda m: m.uid == old)
    assert summary(retraction) == (MessageAction.RETRACT, "m-1", "", (), "", "")
    reaction = await alice.rec.wait(lambda m: m.uid == private)
    assert summary(reaction) == (MessageAction.REACT, "m-2", "", ("🎉",), "", "")


async def test_our_actions_reach_a_slixmpp_peer_with_the_right_elements(prosody: Any) -> None:
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        first = ours(alice, bob.jid, "frist")
        alice.send(first)
        assert (await bob.receive())["id"] == first.uid
        bob.send_chat(alice.jid, "their message")
        theirs = await alice.rec.wait(lambda m: m.body == "their message")

        correction = ours(alice, bob.jid, "first", replaces=first.uid)
        reacting = ours(alice, bob.jid, reacts_to=theirs.uid, reactions=("👍", "🎉", "😂"))
        unreacting = ours(alice, bob.jid, reacts_to=theirs.uid, reactions=())
        reply = ours(alice, bob.jid, "yes", reply_to=theirs.uid, reply_to_jid=bob.jid)
        retraction = ours(alice, bob.jid, retracts=first.uid)
        sent = [correction, reacting, unreacting, reply, retraction]
        for message in sent:
            alice.send(message)
        got = [await bob.receive() for _ in sent]

    for message, stanza in zip(sent, got, strict=True):
        assert stanza["id"] == message.uid
        assert stanza["origin_id"]["id"] == message.uid
    c, r, u, p, x = got

    assert c["body"] == "first"
    assert c["replace"]["id"] == first.uid
    assert c.xml.find("{urn:xmpp:receipts}request") is not None

    assert not r["body"]
    assert r["reactions"]["id"] == theirs.uid
    assert [e["value"] for e in r["reactions"]] == ["👍", "🎉", "😂"]  # our order
    assert r.xml.find(f"{{{NS_HINTS}}}store") is not None
    assert r.xml.find("{urn:xmpp:receipts}request") is None
    assert r.xml.find("{urn:xmpp:chat-markers:0}markable") is None
    assert u["reactions"]["id"] == theirs.uid
    assert u["reactions"].get_values(all_chars=True) == set()

    assert p["body"] == "yes"
    assert p["reply"]["id"] == theirs.uid
    assert p["reply"]["to"] == bob.jid
    assert p["replace"]["id"] == ""  # a reply is a new message

    assert x["retract"]["id"] == first.uid
    assert x["body"] == retractions.FALLBACK
    assert [f["for"] for f in x["fallbacks"]] == ["urn:xmpp:message-retract:1"]
    assert x.xml.find(f"{{{NS_HINTS}}}store") is not None
    assert x.xml.find("{urn:xmpp:chat-markers:0}markable") is None


async def test_the_features_are_advertised_in_disco_info(prosody: Any) -> None:
    jid, password = prosody.make_user("alice")
    async with (
        chinwag_side(prosody, jid, password) as alice,
        peer(prosody, f"{jid}/phone", password) as phone,
    ):
        info = await phone.client.plugin["xep_0030"].get_info(jid=alice.full_jid, timeout=10)
    features = set(info["disco_info"]["features"])
    assert {
        "urn:xmpp:message-correct:0",
        "urn:xmpp:message-retract:1",
        "urn:xmpp:reactions:0",
        "urn:xmpp:reply:0",
    } <= features


async def test_carbons_of_our_other_devices_actions_reach_the_core(prosody: Any) -> None:
    jid, password = prosody.make_user("alice")
    async with (
        chinwag_side(prosody, jid, password) as alice,
        peer(prosody, f"{jid}/phone", password) as phone,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        phone.send_chat(bob.jid, "typo")
        typo = await alice.rec.wait(lambda m: m.body == "typo")
        assert typo.origin is Origin.CARBON
        assert typo.direction is Direction.OUTGOING
        mark = len(alice.rec.messages)
        plugins = phone.client.plugin
        plugins["xep_0308"].build_correction(typo.uid, bob.jid, mbody="no typo").send()
        phone.react(bob.jid, "bobs-1", ["🙂"])
        plugins["xep_0461"].send_reply(bob.jid, "bobs-1", mto=bob.jid, mbody="sure", mtype="chat")
        plugins["xep_0424"].send_retraction(bob.jid, typo.uid)
        await phone.sync(alice, to=bob.jid)
        sent = alice.rec.after(mark)[:-1]

        # What bob sends to the phone alone comes to us as a received carbon.
        mark = len(alice.rec.messages)
        bob.react(phone.client.boundjid.full, typo.uid, ["👀"])
        bob.client.plugin["xep_0308"].build_correction(
            "bobs-1", phone.client.boundjid.full, mbody="bob's fix"
        ).send()
        bob.send_chat(phone.client.boundjid.full, "sync to the phone")
        await alice.rec.wait(lambda m: m.body == "sync to the phone")
        received = alice.rec.after(mark)[:-1]

    assert [summary(m) for m in sent] == [
        (MessageAction.CORRECT, typo.uid, "no typo", (), "", ""),
        (MessageAction.REACT, "bobs-1", "", ("🙂",), "", ""),
        (MessageAction.NEW, "", "sure", (), "bobs-1", bob.jid),
        (MessageAction.RETRACT, typo.uid, "", (), "", ""),
    ]
    for m in sent:
        assert (m.origin, m.direction, m.peer, m.sender) == (
            Origin.CARBON,
            Direction.OUTGOING,
            bob.jid,
            alice.jid,
        )
        assert m.sender_resource == "phone"
    assert [summary(m) for m in received] == [
        (MessageAction.REACT, typo.uid, "", ("👀",), "", ""),
        (MessageAction.CORRECT, "bobs-1", "bob's fix", (), "", ""),
    ]
    for m in received:
        assert (m.origin, m.direction, m.peer, m.sender) == (
            Origin.CARBON,
            Direction.INCOMING,
            bob.jid,
            bob.jid,
        )


async def test_a_forged_carbon_of_a_correction_is_refused(prosody: Any) -> None:
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        mark = len(alice.rec.messages)
        bob.send(
            alice.jid,
            "",
            "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
            f"<message xmlns='jabber:client' from='{alice.jid}/x' to='{bob.jid}' type='chat'"
            " id='forged'><body>I never wrote this</body>"
            "<replace xmlns='urn:xmpp:message-correct:0' id='real-1'/></message>"
            "</forwarded></sent>",
        )
        await bob.sync(alice)
    assert [m.body for m in alice.rec.after(mark)] == [alice.rec.messages[-1].body]
    assert all(not m.replaces for m in alice.rec.messages)


async def test_actions_kept_offline_reach_the_core_at_sign_in(prosody: Any) -> None:
    jid, password = prosody.make_user("alice")
    async with peer(prosody, *prosody.make_user("bob")) as bob:
        plugins = bob.client.plugin
        plugins["xep_0308"].build_correction("a-1", jid, mbody="corrected offline").send()
        plugins["xep_0444"].send_reactions(jid, "a-2", ["👍"])
        plugins["xep_0424"].send_retraction(jid, "a-3")
        plugins["xep_0461"].send_reply(
            f"{jid}/somewhere", "a-4", mto=jid, mbody="replied offline", mtype="chat"
        )
        bob.send_chat(jid, "last offline")
        # Offline storage has them once the server answers a later request of bob's.
        await bob.client.plugin["xep_0030"].get_info(jid=prosody.domain, timeout=10)
        async with chinwag_side(prosody, jid, password) as alice:
            await alice.rec.wait(lambda m: m.body == "last offline")
            got = alice.rec.messages[:-1]
    assert [summary(m) for m in got] == [
        (MessageAction.CORRECT, "a-1", "corrected offline", (), "", ""),
        (MessageAction.REACT, "a-2", "", ("👍",), "", ""),
        (MessageAction.RETRACT, "a-3", "", (), "", ""),
        (MessageAction.NEW, "", "replied offline", (), "a-4", jid),
    ]
    assert {m.origin for m in alice.rec.messages} == {Origin.OFFLINE}


async def test_the_archive_catch_up_reads_corrections_and_the_rest(prosody: Any) -> None:
    jid, password = prosody.make_user("alice")
    async with (
        chinwag_side(prosody, jid, password) as alice,
        peer(prosody, f"{jid}/phone", password) as phone,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        phone.client.plugin["xep_0308"].build_correction("a-3", bob.jid, mbody="ours").send()
        await phone.sync(alice, to=bob.jid)
        bob.send_chat(alice.jid, "tpyo")
        tpyo = await alice.rec.wait(lambda m: m.body == "tpyo")
        plugins = bob.client.plugin
        plugins["xep_0308"].build_correction(tpyo.uid, alice.jid, mbody="typo").send()
        plugins["xep_0444"].send_reactions(alice.jid, "a-1", ["🔥"])
        plugins["xep_0424"].send_retraction(alice.jid, "a-2")
        await bob.sync(alice)
        archive = await alice.archive()

    actions = [m for m in archive if m.action is not MessageAction.NEW]
    assert [summary(m) for m in actions] == [
        (MessageAction.CORRECT, "a-3", "ours", (), "", ""),
        (MessageAction.CORRECT, tpyo.uid, "typo", (), "", ""),
        (MessageAction.REACT, "a-1", "", ("🔥",), "", ""),
        (MessageAction.RETRACT, "a-2", "", (), "", ""),
    ]
    for m in actions:
        assert m.origin is Origin.ARCHIVE
        assert m.stanza_id  # the archive's id
    assert (actions[0].direction, actions[0].peer) == (Direction.OUTGOING, bob.jid)
    assert all(m.direction is Direction.INCOMING for m in actions[1:])


async def test_our_own_correction_comes_back_from_the_archive(prosody: Any) -> None:
    async with (
        chinwag_side(prosody, *prosody.make_user("alice")) as alice,
        peer(prosody, *prosody.make_user("bob")) as bob,
    ):
        first = ours(alice, bob.jid, "draft")
        fixed = ours(alice, bob.jid, "final", replaces=first.uid)
        gone = ours(alice, bob.jid, retracts=first.uid)
        liked = ours(alice, bob.jid, reacts_to="bobs", reactions=("👍",))
        for message in (first, fixed, gone, liked):
            alice.send(message)
        for _ in range(4):
            await bob.receive()
        archive = await alice.archive()
    by_uid = {m.uid: m for m in archive}
    assert summary(by_uid[fixed.uid]) == (MessageAction.CORRECT, first.uid, "final", (), "", "")
    assert summary(by_uid[gone.uid]) == (MessageAction.RETRACT, first.uid, "", (), "", "")
    assert summary(by_uid[liked.uid]) == (MessageAction.REACT, "bobs", "", ("👍",), "", "")
    assert all(m.direction is Direction.OUTGOING for m in archive)
