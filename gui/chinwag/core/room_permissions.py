"""What one occupant of a room may do to another (XEP-0045 sections 8 to 10), so a
window offers only the actions the room would allow: kick, voice, moderator, ban,
membership, admin, ownership. The room has the last word: a refusal still comes back
as :class:`~chinwag.core.errors.RoomRefused` with its condition."""

from __future__ import annotations

import enum

from chinwag.core.models import Affiliation, Occupant, Role

#: How much an affiliation weighs (XEP-0045 5.2).
RANK = {
    Affiliation.OUTCAST: 0,
    Affiliation.NONE: 1,
    Affiliation.MEMBER: 2,
    Affiliation.ADMIN: 3,
    Affiliation.OWNER: 4,
}


class RoomAction(enum.Enum):
    """An action on an occupant: (label, role to set or None, affiliation to set or None)."""

    KICK = ("Kick", Role.NONE, None)
    GRANT_VOICE = ("Grant voice", Role.PARTICIPANT, None)
    REVOKE_VOICE = ("Revoke voice", Role.VISITOR, None)
    GRANT_MODERATOR = ("Make moderator", Role.MODERATOR, None)
    REVOKE_MODERATOR = ("Remove moderator", Role.PARTICIPANT, None)
    BAN = ("Ban", None, Affiliation.OUTCAST)
    GRANT_MEMBERSHIP = ("Make member", None, Affiliation.MEMBER)
    REVOKE_MEMBERSHIP = ("Remove membership", None, Affiliation.NONE)
    GRANT_ADMIN = ("Make admin", None, Affiliation.ADMIN)
    REVOKE_ADMIN = ("Remove admin", None, Affiliation.MEMBER)
    GRANT_OWNER = ("Make owner", None, Affiliation.OWNER)
    REVOKE_OWNER = ("Remove owner", None, Affiliation.ADMIN)

    @property
    def label(self) -> str:
        return str(self.value[0])

    @property
    def role(self) -> Role | None:
        role = self.value[1]
        return role if isinstance(role, Role) else None

    @property
    def affiliation(self) -> Affiliation | None:
        affiliation = self.value[2]
        return affiliation if isinstance(affiliation, Affiliation) else None

    @property
    def needs_address(self) -> bool:
        """An affiliation is given to a real address: an anonymous occupant has none."""
        return self.affiliation is not None


def allowed_actions(me: Occupant | None, target: Occupant) -> list[RoomAction]:
    """The actions ``me`` may take on ``target`` (none on oneself, none when not in)."""
    if me is None or me.nick == target.nick:
        return []
    mine, theirs = RANK[me.affiliation], RANK[target.affiliation]
    moderator = me.role is Role.MODERATOR
    actions: list[RoomAction] = []
    # Roles (section 8): a moderator kicks and silences anyone but admins and owners, and
    # only an admin or owner does it to another moderator.
    staff = mine >= RANK[Affiliation.ADMIN]
    if (
        moderator
        and theirs < RANK[Affiliation.ADMIN]
        and (staff or target.role is not Role.MODERATOR)
    ):
        actions.append(RoomAction.KICK)
        if target.role is Role.VISITOR:
            actions.append(RoomAction.GRANT_VOICE)
        elif target.role is Role.PARTICIPANT:
            actions.append(RoomAction.REVOKE_VOICE)
    # Moderator role (section 9.6): admins and owners grant and revoke it; an admin's or
    # owner's moderator role comes with the affiliation and is not revoked.
    if staff:
        if target.role is not Role.MODERATOR:
            actions.append(RoomAction.GRANT_MODERATOR)
        elif theirs < RANK[Affiliation.ADMIN]:
            actions.append(RoomAction.REVOKE_MODERATOR)
    # Affiliations need the real address (sections 9 and 10).
    if target.jid and mine >= RANK[Affiliation.ADMIN]:
        if theirs < mine:
            actions.append(RoomAction.BAN)
        if target.affiliation is Affiliation.NONE:
            actions.append(RoomAction.GRANT_MEMBERSHIP)
        elif target.affiliation is Affiliation.MEMBER:
            actions.append(RoomAction.REVOKE_MEMBERSHIP)
        if me.affiliation is Affiliation.OWNER:
            if theirs < RANK[Affiliation.ADMIN]:
                actions.append(RoomAction.GRANT_ADMIN)
            elif target.affiliation is Affiliation.ADMIN:
                actions.append(RoomAction.REVOKE_ADMIN)
            if target.affiliation is not Affiliation.OWNER:
                actions.append(RoomAction.GRANT_OWNER)
            else:
                actions.append(RoomAction.REVOKE_OWNER)
    return actions
