"""Which actions on an occupant a room's window offers (XEP-0045 sections 8 to 10, as
Prosody applies them): every rule, from the side of each role and affiliation."""

from __future__ import annotations

import pytest

from chinwag.core.models import Affiliation, Occupant, Role
from chinwag.core.room_permissions import RoomAction, allowed_actions

A = RoomAction


def occupant(nick: str, role: Role, affiliation: Affiliation, jid: str = "") -> Occupant:
    return Occupant(nick, role=role, affiliation=affiliation, jid=jid or f"{nick}@example.org")


def test_nothing_on_oneself_or_when_not_in() -> None:
    me = occupant("me", Role.MODERATOR, Affiliation.OWNER)
    assert allowed_actions(me, me) == []
    assert allowed_actions(None, occupant("x", Role.PARTICIPANT, Affiliation.NONE)) == []


@pytest.mark.parametrize(
    ("me", "target", "expected"),
    [
        # A participant or visitor may do nothing to anyone.
        ((Role.PARTICIPANT, Affiliation.MEMBER), (Role.VISITOR, Affiliation.NONE), []),
        ((Role.VISITOR, Affiliation.NONE), (Role.PARTICIPANT, Affiliation.NONE), []),
        # A moderator (no affiliation) kicks and silences participants, voices visitors...
        (
            (Role.MODERATOR, Affiliation.NONE),
            (Role.PARTICIPANT, Affiliation.MEMBER),
            [A.KICK, A.REVOKE_VOICE],
        ),
        (
            (Role.MODERATOR, Affiliation.NONE),
            (Role.VISITOR, Affiliation.NONE),
            [A.KICK, A.GRANT_VOICE],
        ),
        # ... but not another moderator, nor an admin or owner.
        ((Role.MODERATOR, Affiliation.MEMBER), (Role.MODERATOR, Affiliation.MEMBER), []),
        ((Role.MODERATOR, Affiliation.NONE), (Role.MODERATOR, Affiliation.ADMIN), []),
        # An admin: roles on anyone below admin, moderator role, ban, membership; not admin.
        (
            (Role.MODERATOR, Affiliation.ADMIN),
            (Role.PARTICIPANT, Affiliation.NONE),
            [A.KICK, A.REVOKE_VOICE, A.GRANT_MODERATOR, A.BAN, A.GRANT_MEMBERSHIP],
        ),
        (
            (Role.MODERATOR, Affiliation.ADMIN),
            (Role.MODERATOR, Affiliation.MEMBER),
            [A.KICK, A.REVOKE_MODERATOR, A.BAN, A.REVOKE_MEMBERSHIP],
        ),
        # An admin does not ban or kick another admin, nor an owner.
        ((Role.MODERATOR, Affiliation.ADMIN), (Role.MODERATOR, Affiliation.ADMIN), []),
        ((Role.MODERATOR, Affiliation.ADMIN), (Role.MODERATOR, Affiliation.OWNER), []),
        # An owner: everything on a member, and admins and owners' affiliations.
        (
            (Role.MODERATOR, Affiliation.OWNER),
            (Role.PARTICIPANT, Affiliation.MEMBER),
            [
                A.KICK,
                A.REVOKE_VOICE,
                A.GRANT_MODERATOR,
                A.BAN,
                A.REVOKE_MEMBERSHIP,
                A.GRANT_ADMIN,
                A.GRANT_OWNER,
            ],
        ),
        (
            (Role.MODERATOR, Affiliation.OWNER),
            (Role.MODERATOR, Affiliation.ADMIN),
            [A.BAN, A.REVOKE_ADMIN, A.GRANT_OWNER],
        ),
        (
            (Role.MODERATOR, Affiliation.OWNER),
            (Role.MODERATOR, Affiliation.OWNER),
            [A.REVOKE_OWNER],
        ),
    ],
)
def test_the_rules(
    me: tuple[Role, Affiliation], target: tuple[Role, Affiliation], expected: list[RoomAction]
) -> None:
    assert allowed_actions(occupant("me", *me), occupant("them", *target)) == expected


def test_affiliations_need_a_real_address() -> None:
    me = occupant("me", Role.MODERATOR, Affiliation.OWNER)
    anonymous = Occupant("them", role=Role.PARTICIPANT, affiliation=Affiliation.NONE)
    actions = allowed_actions(me, anonymous)
    assert actions == [A.KICK, A.REVOKE_VOICE, A.GRANT_MODERATOR]
    assert all(not a.needs_address for a in actions)
    assert A.BAN.affiliation is Affiliation.OUTCAST
    assert A.KICK.role is Role.NONE
