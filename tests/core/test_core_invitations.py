"""Issue 12, invitations to rooms in the core alone (the rig's connection plays the
network, through the session's listener): what is kept and what is refused, the same
invitation twice, a flood, accepting (the room and password come back; nothing is
joined) and declining (a mediated one through the room), and sending invitations."""

from __future__ import annotations

import pytest
from core_rig import BOB, EVE, ME, Core

from chinwag.core import invitations as invitation_rules
from chinwag.core.errors import InvalidAddress, NotConnected
from chinwag.core.events import InvitationCleared, InvitationReceived
from chinwag.core.models import Invitation

ROOM = "lounge@rooms.localhost"


def invite(
    rig: Core, room: str, inviter: str, *, direct: bool, reason: str = "", pw: str = ""
) -> None:
    rig.conn.listener.on_invitation(room, inviter, reason, pw, direct)


def received(rig: Core) -> list[Invitation]:
    return [e.invitation for e in rig.of(InvitationReceived)]


async def test_direct_and_mediated_invitations_are_kept_with_who_sent_them(rig: Core) -> None:
    invite(rig, "Lounge@Rooms.localhost", "Bob@localhost", direct=True, reason="hi", pw="pw")
    invite(rig, "den@rooms.localhost", f"{EVE}/phone", direct=False, reason="come")
    pending = rig.core.invitations.pending(ME)
    assert [(i.room, i.inviter, i.reason, i.password, i.direct) for i in pending] == [
        (ROOM, BOB, "hi", "pw", True),
        ("den@rooms.localhost", EVE, "come", "", False),
    ]
    assert received(rig) == pending
    assert rig.conn.room_requests == []  # nothing joined


@pytest.mark.parametrize(
    ("room", "direct"),
    [
        (f"{ROOM}/mallory", False),  # an occupant (or a user's full address): forged
        (f"{BOB}/laptop", False),  # a user, not a room
        ("rooms.localhost", False),  # a service, not a room
        ("", True),
        ("rooms.localhost", True),  # no room name
        (f"{ROOM}/nick", True),  # an occupant, not a room
        ("a b@rooms.localhost", True),
        ("room@", True),
        ("@rooms.localhost", True),
        ("room@bad..domain", True),
    ],
)
async def test_forged_or_malformed_invitations_are_refused(
    rig: Core, room: str, direct: bool
) -> None:
    invite(rig, room, BOB, direct=direct)
    assert rig.core.invitations.pending(ME) == []
    assert received(rig) == []


async def test_a_mediated_invitation_naming_no_valid_inviter_is_refused(rig: Core) -> None:
    invite(rig, ROOM, "", direct=False)
    invite(rig, ROOM, "not an address", direct=False)
    assert rig.core.invitations.pending(ME) == []


async def test_the_same_invitation_again_is_one_and_a_new_password_replaces_it(
    rig: Core,
) -> None:
    for _ in range(3):
        invite(rig, ROOM, BOB, direct=True, reason="hi")
    assert len(received(rig)) == 1
    invite(rig, ROOM, f"{BOB}/other", direct=True, reason="hi", pw="new")
    assert [(i.inviter, i.password) for i in rig.core.invitations.pending(ME)] == [(BOB, "new")]
    assert len(received(rig)) == 2
    invite(rig, ROOM, EVE, direct=True)  # another inviter: another invitation
    assert len(rig.core.invitations.pending(ME)) == 2


async def test_a_flood_is_bounded_per_sender_and_per_account(rig: Core) -> None:
    for n in range(1000):
        invite(rig, f"room{n}@rooms.localhost", BOB, direct=True)
    pending = rig.core.invitations.pending(ME)
    assert len(pending) == invitation_rules.MAX_PER_SENDER
    assert pending[0].room == "room0@rooms.localhost"  # the first ones stay
    # Many senders: the account keeps the newest MAX_PENDING, the oldest are cleared.
    for n in range(300):
        invite(rig, f"r{n}@rooms.localhost", f"user{n}@localhost", direct=True)
    pending = rig.core.invitations.pending(ME)
    assert len(pending) == invitation_rules.MAX_PENDING
    assert pending[-1].room == "r299@rooms.localhost"
    cleared = rig.of(InvitationCleared)
    assert len(cleared) == 20 + 300 - invitation_rules.MAX_PENDING
    assert not any(e.accepted for e in cleared)


async def test_long_reasons_are_cut_and_long_passwords_refused(rig: Core) -> None:
    invite(rig, ROOM, BOB, direct=True, reason="x" * 100_000)
    invite(rig, "den@rooms.localhost", BOB, direct=True, pw="p" * 100_000)
    [kept] = rig.core.invitations.pending(ME)
    assert len(kept.reason) == invitation_rules.MAX_REASON_CHARS


async def test_accept_returns_the_room_and_password_and_clears_without_joining(
    rig: Core,
) -> None:
    invite(rig, ROOM, BOB, direct=True)
    invite(rig, ROOM, EVE, direct=False, pw="secret")
    invite(rig, "den@rooms.localhost", BOB, direct=True)
    assert rig.core.invitations.accept(ME, "LOUNGE@rooms.localhost") == (ROOM, "secret")
    assert [i.room for i in rig.core.invitations.pending(ME)] == ["den@rooms.localhost"]
    cleared = rig.of(InvitationCleared)
    assert [(e.invitation.inviter, e.accepted) for e in cleared] == [(BOB, True), (EVE, True)]
    assert rig.core.invitations.accept(ME, ROOM) is None  # nothing pending any more
    assert rig.conn.room_requests == []
    assert rig.conn.invitation_requests == []
    with pytest.raises(InvalidAddress):
        rig.core.invitations.accept(ME, "not a room")


async def test_decline_answers_a_mediated_invitation_through_the_room(rig: Core) -> None:
    invite(rig, ROOM, BOB, direct=True)
    invite(rig, ROOM, f"{EVE}/phone", direct=False)
    assert rig.core.invitations.decline(ME, ROOM, "busy") == 2
    # Only the mediated one has an answer (XEP-0249 has none), to its inviter.
    assert rig.conn.invitation_requests == [("decline", ROOM, EVE, "busy", "")]
    assert rig.core.invitations.pending(ME) == []
    assert [e.accepted for e in rig.of(InvitationCleared)] == [False, False]


async def test_decline_of_a_mediated_invitation_needs_the_account_online(rig: Core) -> None:
    invite(rig, ROOM, EVE, direct=False)
    await rig.core.sign_out(ME)
    with pytest.raises(NotConnected):
        rig.core.invitations.decline(ME, ROOM)
    assert len(rig.core.invitations.pending(ME)) == 1  # still there to answer later


async def test_invite_sends_direct_and_on_request_mediated(rig: Core) -> None:
    rig.core.invitations.invite(ME, ROOM, f"{BOB}/laptop", "come", password="pw")
    rig.core.invitations.invite(ME, ROOM, EVE, mediated=True)
    assert rig.conn.invitation_requests == [
        ("invite", ROOM, BOB, "come", "pw"),
        ("invite mediated", ROOM, EVE, "", ""),
    ]
    with pytest.raises(InvalidAddress):
        rig.core.invitations.invite(ME, "rooms.localhost", BOB)
    with pytest.raises(InvalidAddress):
        rig.core.invitations.invite(ME, ROOM, "")


async def test_a_removed_account_loses_its_invitations(rig: Core) -> None:
    invite(rig, ROOM, BOB, direct=True)
    rig.core.accounts.remove(ME)
    assert rig.core.invitations.pending(ME) == []
    assert len(rig.of(InvitationCleared)) == 1


async def test_a_room_hiding_real_addresses_names_the_inviter_by_nick(rig: Core) -> None:
    invite(rig, ROOM, f"{ROOM}/Bob", direct=False)
    invite(rig, ROOM, f"{ROOM}/Eve", direct=False)
    assert [i.inviter for i in rig.core.invitations.pending(ME)] == [f"{ROOM}/Bob", f"{ROOM}/Eve"]
    rig.core.invitations.decline(ME, ROOM)
    assert [r[:3] for r in rig.conn.invitation_requests] == [
        ("decline", ROOM, f"{ROOM}/Bob"),
        ("decline", ROOM, f"{ROOM}/Eve"),
    ]
