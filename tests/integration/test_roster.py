"""Roster and presence against the real Prosody: subscription both ways, groups, status."""

from __future__ import annotations

import pytest

from chinwag.core.events import (
    ContactPresenceChanged,
    ContactRemoved,
    ContactUpdated,
    RosterReceived,
    SubscriptionAnswered,
    SubscriptionRequested,
)
from chinwag.core.models import Show, Subscription
from conftest import CoreMaker

pytestmark = pytest.mark.prosody


async def test_subscribe_approve_and_presence(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))

    await alice.core.roster.add_contact(alice.jid, bob.jid, "Bob", ["Friends"])
    added = await alice.events.wait(ContactUpdated, lambda e: e.contact.jid == bob.jid)
    assert added.contact.name == "Bob"
    assert added.contact.groups == ("Friends",)

    request = await bob.events.wait(SubscriptionRequested)
    assert request.jid == alice.jid
    assert alice.jid in bob.core.roster.pending_requests(bob.jid)
    bob.core.roster.approve(bob.jid, alice.jid)

    answer = await alice.events.wait(SubscriptionAnswered)
    assert answer.approved
    assert answer.jid == bob.jid
    online = await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == bob.jid and e.presence.available
    )
    assert online.presence.show is Show.ONLINE
    # bob asked back when approving: alice gets his request
    back = await alice.events.wait(SubscriptionRequested)
    assert back.jid == bob.jid

    bob.core.sessions[bob.jid].set_presence(Show.DND, "in a meeting")
    busy = await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == bob.jid and e.presence.show is Show.DND
    )
    assert busy.presence.status == "in a meeting"
    contact = alice.core.roster.contact(alice.jid, bob.jid)
    assert contact is not None
    assert contact.subscription in (Subscription.TO, Subscription.BOTH)

    await bob.core.sign_out()
    gone = await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == bob.jid and not e.presence.available
    )
    assert gone.previous.show is Show.DND


async def test_rename_move_and_remove(prosody, cores: CoreMaker) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob_jid, _ = prosody.make_user("bob")
    roster = alice.core.roster
    await roster.add_contact(alice.jid, bob_jid, "Bob")
    await alice.events.wait(ContactUpdated, lambda e: e.contact.name == "Bob")
    await roster.update_contact(alice.jid, bob_jid, name="Robert", groups=["Work", "Chess"])
    moved = await alice.events.wait(ContactUpdated, lambda e: e.contact.name == "Robert")
    assert moved.contact.groups == ("Chess", "Work")
    assert roster.groups(alice.jid) == ["Chess", "Work"]
    await roster.remove_contact(alice.jid, bob_jid)
    await alice.events.wait(ContactRemoved, lambda e: e.jid == bob_jid)
    assert roster.contact(alice.jid, bob_jid) is None


async def test_roster_is_cached_for_the_next_start(prosody, cores: CoreMaker, tmp_path) -> None:
    jid, password = prosody.make_user("alice")
    root = tmp_path / "alice"
    alice = await cores(prosody, jid, password, root=root)
    await alice.core.roster.add_contact(jid, "carol@example.org", "Carol", ["Far away"])
    await alice.events.wait(ContactUpdated, lambda e: e.contact.jid == "carol@example.org")
    await alice.core.shutdown()

    again = await cores(prosody, jid, password, root=root, sign_in=False)
    cached = again.core.roster.contact(jid, "carol@example.org")
    assert cached is not None
    assert cached.name == "Carol"
    assert cached.groups == ("Far away",)
    await again.core.sign_in(jid)
    await again.events.wait(RosterReceived)
    assert again.core.roster.contact(jid, "carol@example.org") is not None


async def test_block_and_unblock(prosody, cores: CoreMaker) -> None:
    from chinwag.core.events import BlockChanged, MessageAdded, MessageStateChanged
    from chinwag.core.models import MessageState

    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    await alice.core.blocking.block(alice.jid, bob.jid)
    changed = await alice.events.wait(BlockChanged)
    assert (changed.jid, changed.blocked) == (bob.jid, True)
    assert alice.core.blocking.is_blocked(alice.jid, bob.jid)

    hidden = await bob.send(alice.jid, "you will not see this")
    # once the server has taken it (acked), it has applied the block to it
    await bob.events.wait(
        MessageStateChanged,
        lambda e: e.message.uid == hidden.uid and e.message.state >= MessageState.SENT,
    )
    await alice.core.blocking.unblock(alice.jid, bob.jid)
    await alice.events.wait(BlockChanged, lambda e: not e.blocked)
    assert not alice.core.blocking.is_blocked(alice.jid, bob.jid)
    await bob.send(alice.jid, "but this one")
    got = await alice.events.wait(MessageAdded)
    assert got.message.body == "but this one"  # the blocked one never arrived


async def test_answered_request_is_cleared_and_refusals_are_typed(
    prosody, cores: CoreMaker
) -> None:
    from chinwag.core.errors import RequestRefused
    from chinwag.core.events import SubscriptionRequestCleared

    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    await alice.core.roster.add_contact(alice.jid, bob.jid)
    await bob.events.wait(SubscriptionRequested)
    bob.core.roster.deny(bob.jid, alice.jid)
    cleared = await bob.events.wait(SubscriptionRequestCleared)
    assert cleared.jid == alice.jid
    assert bob.core.roster.pending_requests(bob.jid) == {}

    # the server refuses to put yourself in your own roster: a typed error, not slixmpp's
    with pytest.raises(RequestRefused) as caught:
        await alice.core.roster.add_contact(alice.jid, alice.jid)
    assert caught.value.condition
