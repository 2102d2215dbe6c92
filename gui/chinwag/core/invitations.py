"""Invitations to rooms (XEP-0045 mediated, XEP-0249 direct): those waiting for the
user's answer, per account, and the answers.

What arrives is checked before anyone sees it: the room must be a well-formed bare
address with a name (``room@service``); a mediated invitation must come from that room's
own address (a bare room address: an occupant or a user cannot send one, so one from an
address with a resource is forged); a direct one may come from anyone and is shown as
from its sender. The inviter is a bare address, or, where a room hides real addresses,
the inviter's address in the room (``room@service/nick``). The same room and inviter
again is the same invitation (replaced when the reason or password changed). A flood
cannot grow without bound: each sender (the inviter of a direct one, the room of a
mediated one) has at most :data:`MAX_PER_SENDER` pending, and an account at most
:data:`MAX_PENDING` (the oldest goes).

Accepting does not join: :meth:`InvitationService.accept` returns the room and its
password for the room service to join with."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chinwag.core.errors import InvalidAddress, NotConnected
from chinwag.core.events import EventBus, InvitationCleared, InvitationReceived
from chinwag.core.jid import Jid, room_address
from chinwag.core.models import Invitation
from chinwag.core.ports import XmppConnection

log = logging.getLogger(__name__)

#: Pending invitations kept per account; past it the oldest goes.
MAX_PENDING = 100
#: Pending invitations kept per sender and account; past it new ones are dropped.
MAX_PER_SENDER = 20
#: The longest reason kept (longer ones are cut).
MAX_REASON_CHARS = 1024
#: The longest password taken (a longer one is no room's: the invitation is dropped).
MAX_PASSWORD_CHARS = 1024


class InvitationService:
    """The pending invitations of every account (in memory: the server keeps none)."""

    def __init__(
        self,
        bus: EventBus,
        connection: Callable[[str], XmppConnection | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self._connection = connection
        self._clock = clock
        #: account -> (room, inviter) -> invitation, oldest first.
        self._pending: dict[str, dict[tuple[str, str], Invitation]] = {}

    def pending(self, account: str) -> list[Invitation]:
        """The account's invitations waiting for an answer, oldest first."""
        return list(self._pending.get(account, {}).values())

    # -- from the connection ------------------------------------------------------------

    def on_invitation(
        self, account: str, room: str, inviter: str, reason: str, password: str, direct: bool
    ) -> Invitation | None:
        """Check an invitation as received (see the module) and keep it; returns it, or
        None when it was refused or is one already pending."""
        kind = "direct" if direct else "mediated"
        try:
            if direct:
                room_jid = room_address(room)
            else:
                sender = Jid.parse(room)
                if sender.resource or not sender.local:
                    log.warning(
                        "%s: a mediated invitation from %s, not from a room: refused",
                        account,
                        room[:200],
                    )
                    return None
                room_jid = sender.bare
            inviter_jid = Jid.parse(inviter).bare
            if not direct and inviter_jid == room_jid:
                # A room that hides real addresses names the inviter by nick: the
                # occupant's address (a decline reaches them through the room too).
                inviter_jid = Jid.parse(inviter).full
        except InvalidAddress as exc:
            log.info("%s: %s invitation with a bad address refused: %s", account, kind, exc)
            return None
        if len(password) > MAX_PASSWORD_CHARS:
            log.info("%s: %s invitation to %s with a bad password refused", account, kind, room_jid)
            return None
        invitation = Invitation(
            account=account,
            room=room_jid,
            inviter=inviter_jid,
            reason=reason[:MAX_REASON_CHARS],
            password=password,
            direct=direct,
            received=self._clock(),
        )
        pending = self._pending.setdefault(account, {})
        key = (room_jid, inviter_jid)
        known = pending.get(key)
        if known is not None:
            if (known.reason, known.password, known.direct) == (
                invitation.reason,
                invitation.password,
                invitation.direct,
            ):
                return None
            del pending[key]
        else:
            source = inviter_jid if direct else room_jid
            if sum(1 for i in pending.values() if _source(i) == source) >= MAX_PER_SENDER:
                log.debug("%s: too many invitations from %s: dropped", account, source)
                return None
            while len(pending) >= MAX_PENDING:
                oldest = next(iter(pending))
                self._bus.publish(InvitationCleared(pending.pop(oldest)))
        pending[key] = invitation
        self._bus.publish(InvitationReceived(invitation))
        return invitation

    # -- the user's answers -------------------------------------------------------------

    def accept(self, account: str, room: str) -> tuple[str, str] | None:
        """Take up the invitations to ``room``: they are cleared, and the room and its
        password ("" : none given) are returned for the room service to join (this does
        not join). None when no invitation to it is pending."""
        found = self._take(account, room_address(room))
        if not found:
            return None
        for invitation in found:
            self._bus.publish(InvitationCleared(invitation, accepted=True))
        password = next((i.password for i in reversed(found) if i.password), "")
        return found[0].room, password

    def decline(self, account: str, room: str, reason: str = "") -> int:
        """Turn down the invitations to ``room``: a mediated one is declined through the
        room to its inviter (XEP-0045 7.8.2; a direct one has no answer in XEP-0249).
        Returns how many were pending. Raises :class:`NotConnected` when a mediated one
        needs the account signed in (nothing is cleared then)."""
        jid = room_address(room)
        waiting = [i for i in self.pending(account) if i.room == jid]
        if any(not i.direct for i in waiting):
            conn = self._conn(account)
            for invitation in waiting:
                if not invitation.direct:
                    conn.decline(jid, invitation.inviter, reason[:MAX_REASON_CHARS])
        for invitation in self._take(account, jid):
            self._bus.publish(InvitationCleared(invitation))
        return len(waiting)

    def invite(
        self,
        account: str,
        room: str,
        contact: str,
        reason: str = "",
        *,
        mediated: bool = False,
        password: str = "",
    ) -> None:
        """Invite ``contact`` to ``room``: directly (XEP-0249), and also through the room
        when ``mediated`` (XEP-0045; for clients that only know those)."""
        jid = room_address(room)
        to = Jid.parse(contact).bare
        self._conn(account).invite(
            jid, to, reason[:MAX_REASON_CHARS], mediated=mediated, password=password
        )

    def forget(self, account: str) -> None:
        """The account is gone: its invitations go, unanswered."""
        for invitation in self._pending.pop(account, {}).values():
            self._bus.publish(InvitationCleared(invitation))

    # -- helpers ------------------------------------------------------------------------

    def _take(self, account: str, room: str) -> list[Invitation]:
        pending = self._pending.get(account, {})
        keys = [key for key in pending if key[0] == room]
        return [pending.pop(key) for key in keys]

    def _conn(self, account: str) -> XmppConnection:
        conn = self._connection(account)
        if conn is None:
            raise NotConnected(f"{account} is not signed in")
        return conn


def _source(invitation: Invitation) -> str:
    """Who sent it: the inviter of a direct invitation, the room of a mediated one."""
    return invitation.inviter if invitation.direct else invitation.room
