"""Invitations to group chats, as banners over the contact list.

Owns :class:`InvitationBanner` ("<inviter> invites you to <room>", the reason, Accept and
Decline) and :class:`InvitationBanners`, the area that shows one banner per pending
invitation of the enabled accounts (at most :data:`MAX_INVITATION_BANNERS` at once; the
others wait their turn, counted). The pending invitations are the core's
(:class:`~chinwag.core.invitations.InvitationService`): a banner comes with
:class:`~chinwag.core.events.InvitationReceived` and goes with
:class:`~chinwag.core.events.InvitationCleared`, whoever answered (here, a script,
another window) or when the core dropped it. Accepting joins the room (with the
invitation's password, under the bookmark's nick or the account's) and opens its window.
"""

from __future__ import annotations

import asyncio
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from chinwag.core.errors import ChinwagError
from chinwag.core.events import (
    AccountChanged,
    AccountRemoved,
    InvitationCleared,
    InvitationReceived,
)
from chinwag.core.models import ConnectionState, ConversationKind, Invitation
from chinwag.ui.banner import Banner, escape
from chinwag.ui.context import UiContext
from chinwag.ui.rooms_model import default_nick
from chinwag.ui.tasks import UiTasks

#: Invitation banners shown at once; more wait their turn (a burst must not push the
#: contact list out of the window).
MAX_INVITATION_BANNERS = 3

#: (account, room, inviter): one pending invitation.
InvitationKey = tuple[str, str, str]


def _key(invitation: Invitation) -> InvitationKey:
    return (invitation.account, invitation.room, invitation.inviter)


class InvitationBanner(Banner):
    """ "<inviter> invites you to <room>", the reason, with Accept and Decline."""

    def __init__(self, invitation: Invitation, parent: QWidget | None = None) -> None:
        room = invitation.room
        said = f"{invitation.inviter} invites you to {room}"
        text = f"<b>{escape(invitation.inviter)}</b> invites you to <b>{escape(room)}</b>"
        if invitation.reason:
            text += f"<br>“{escape(invitation.reason)}”"
            said += f": {invitation.reason}"
        super().__init__(
            text,
            said=said,
            name=f"Invitation to {room}",
            accept_name=f"Join {room}",
            decline_name=f"Decline the invitation to {room}",
            parent=parent,
        )
        self.invitation = invitation
        self.accept_button.setToolTip("Join the group chat and open it")


class InvitationBanners(QWidget):
    """The banners of the pending invitations (see the module); hidden while none."""

    #: Something failed (a sentence for the status bar).
    notice = Signal(str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the invitations")
        self._banners: dict[InvitationKey, InvitationBanner] = {}
        self._waiting: dict[InvitationKey, Invitation] = {}
        self.setAccessibleName("Invitations")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._more = QLabel(self)
        self._more.setAccessibleName("More invitations")
        self._layout.addWidget(self._more)
        ctx.bridge.invitations_changed.connect(self._on_invitation_event)
        ctx.bridge.accounts_changed.connect(self._on_account_event)
        self._load()
        self._update()

    # -- public API ------------------------------------------------------------------------

    def banners(self) -> list[InvitationBanner]:
        return list(self._banners.values())

    def accept(self, invitation: Invitation) -> None:
        """Join the room of ``invitation`` and open its window (the invitations to that
        room are answered). Signed out, nothing is answered: the banner stays."""
        core = self._ctx.core
        account = invitation.account
        if core.state(account) is not ConnectionState.ONLINE:
            self.notice.emit(f"Sign in to {account} to join {invitation.room}")
            return
        answer = core.invitations.accept(account, invitation.room)
        if answer is None:  # answered meanwhile
            self._drop(_key(invitation))
            return
        room, password = answer
        bookmark = core.bookmarks.get(account, room)
        nick = (bookmark.nick if bookmark is not None else "") or default_nick(core, account)
        failure = f"Could not join {room}"
        self._tasks.start(
            self._join_and_open(account, room, nick, password),
            what=failure,
            on_error=lambda error: self.notice.emit(f"{failure}: {error}"),
            outlive=True,
        )

    def decline(self, invitation: Invitation) -> None:
        try:
            self._ctx.core.invitations.decline(invitation.account, invitation.room)
        except ChinwagError as exc:  # e.g. signed out: keep it for later
            self.notice.emit(f"Could not decline the invitation to {invitation.room}: {exc}")
            return
        self._drop(_key(invitation))

    # -- behaviour -------------------------------------------------------------------------

    async def _join_and_open(self, account: str, room: str, nick: str, password: str) -> None:
        joining = asyncio.ensure_future(self._ctx.core.rooms.join(account, room, nick, password))
        # One turn of the loop: the join has asked to enter (the room is "joining"), so
        # the window opened now waits for it instead of asking again, without the password.
        await asyncio.sleep(0)
        if not joining.done() or joining.exception() is None:
            self._ctx.windows.open(account, room, kind=ConversationKind.GROUPCHAT)
        await joining

    def _load(self) -> None:
        core = self._ctx.core
        for config in core.accounts.accounts:
            if config.enabled:
                for invitation in core.invitations.pending(config.jid):
                    self._add(invitation)

    def _enabled(self, account: str) -> bool:
        return any(a.jid == account and a.enabled for a in self._ctx.core.accounts.accounts)

    def _add(self, invitation: Invitation) -> None:
        key = _key(invitation)
        if key in self._banners:  # the same again, with another reason: the new one
            self._drop(key, refill=False)
        if key in self._waiting or len(self._banners) >= MAX_INVITATION_BANNERS:
            self._waiting[key] = invitation
        else:
            banner = InvitationBanner(invitation, self)
            banner.accepted.connect(partial(self.accept, invitation))
            banner.declined.connect(partial(self.decline, invitation))
            self._layout.insertWidget(len(self._banners), banner)
            banner.show()
            self._banners[key] = banner
        self._update()

    def _drop(self, key: InvitationKey, *, refill: bool = True) -> None:
        self._waiting.pop(key, None)
        banner = self._banners.pop(key, None)
        if banner is not None:
            banner.hide()
            banner.deleteLater()
        while refill and self._waiting and len(self._banners) < MAX_INVITATION_BANNERS:
            next_key = next(iter(self._waiting))
            self._add(self._waiting.pop(next_key))
        self._update()

    def _update(self) -> None:
        more = len(self._waiting)
        self._more.setText(f"{more} more invitation(s) waiting" if more else "")
        self._more.setVisible(bool(more))
        self.setVisible(bool(self._banners))

    def _on_invitation_event(self, event: object) -> None:
        if isinstance(event, InvitationReceived):
            if self._enabled(event.invitation.account):
                self._add(event.invitation)
        elif isinstance(event, InvitationCleared):
            key = _key(event.invitation)
            if key in self._banners or key in self._waiting:
                self._drop(key)

    def _on_account_event(self, event: object) -> None:
        if not isinstance(event, AccountChanged | AccountRemoved):
            return
        account = event.account
        if self._enabled(account):
            for invitation in self._ctx.core.invitations.pending(account):
                if _key(invitation) not in self._banners:
                    self._add(invitation)
        else:
            for key in [k for k in (*self._banners, *self._waiting) if k[0] == account]:
                self._drop(key)
