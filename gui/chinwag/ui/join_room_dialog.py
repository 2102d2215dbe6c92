"""The Join group chat dialog: which signed-in account, the room's address (checked as it
is typed; a bare name is completed with the account's group chat service), the nick
(the account's nickname unless changed), an optional password, and whether to bookmark
the room and join it on every sign-in.

Join awaits ``rooms.join`` as an asyncio task (:class:`~chinwag.ui.tasks.UiTasks`); a
refusal (a password wanted or wrong, members only, banned, the nick taken, no such room,
no answer) is said in words in the dialog, which stays open to fix it. Once in, the
room is bookmarked if asked, its window opened, and the dialog closed."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from chinwag.ui.account_editor import MessageKind, chain_tab_order, check_box, line_edit
from chinwag.ui.context import UiContext
from chinwag.ui.room_forms import (
    LOOKING,
    NICK_CONDITIONS,
    PASSWORD_CONDITIONS,
    RoomFormDialog,
    default_nick,
    fill_accounts,
    resolve,
)


class JoinRoomDialog(RoomFormDialog):
    """Joins a group chat; emits :attr:`joined` and closes once in (see the module)."""

    #: (account, room address) once in the room (its window is open then).
    joined = Signal(str, str)

    def __init__(
        self,
        ctx: UiContext,
        parent: QWidget | None = None,
        *,
        account: str | None = None,
        room: str = "",
        nick: str = "",
        password: str = "",
    ) -> None:
        super().__init__(
            ctx,
            parent,
            title="Join group chat",
            what="the join group chat dialog",
            action="&Join",
            stopped="Stopped joining.",
        )
        #: The nick was typed (not the account's default, which follows the account).
        self._nick_typed = bool(nick)

        self._address = line_edit(
            self, "Group chat address", placeholder="room@conference.example.org, or room"
        )
        self._nick = line_edit(self, "Nick", placeholder="The name others see you under")
        self._password = line_edit(self, "Password", placeholder="Optional", password=True)
        self._bookmark = check_box(self, "&Bookmark it", name="Bookmark it")
        self._autojoin = check_box(self, "Join &automatically", name="Join automatically")
        self._autojoin.setToolTip("Join this group chat whenever the account signs in")
        self._autojoin.setEnabled(False)
        self._form.addRow("&Group chat:", self._address)
        self._form.addRow("&Nick:", self._nick)
        self._form.addRow("&Password:", self._password)
        self._form.addRow("", self._bookmark)
        self._form.addRow("", self._autojoin)
        self._action.clicked.connect(self.join)
        self._lay_out(self._buttons)
        self.setMinimumWidth(420)
        chain_tab_order(*self._fields(), self._autojoin, self._action, self._cancel)

        fill_accounts(self._account, ctx, account)
        self._address.setText(room)
        self._nick.setText(nick or self._default_nick())
        self._password.setText(password)
        self._account.currentIndexChanged.connect(lambda *_: self._account_changed())
        self._address.textChanged.connect(self._validate)
        self._nick.textChanged.connect(self._validate)
        self._nick.textEdited.connect(self._nick_edited)
        for edit in (self._address, self._nick, self._password):
            edit.textEdited.connect(self._forget_failure)
        self._bookmark.toggled.connect(self._bookmark_toggled)
        #: The bookmarked room whose settings the form took (once per room named).
        self._from_mark = ""
        self._address.textChanged.connect(lambda _text: self._take_bookmark())
        self._services.changed.connect(lambda _account: self._take_bookmark())
        self._services.changed.connect(lambda _account: self._revalidate())
        self._follow_accounts()
        self._take_bookmark()
        self._validate()
        (self._nick if room and not self._nick.text() else self._address).setFocus()

    # -- public -------------------------------------------------------------------------

    def join(self) -> bool:
        """Start joining; False (and the reason shown) when the form is not ready."""
        ready = self._ready()
        if ready is None:
            return False
        account, room = ready
        return self._start(
            self._run(
                account,
                room,
                self._nick.text().strip(),
                self._password.text(),
                self._bookmark.isChecked(),
                self._autojoin.isChecked(),
            ),
            f"joining {room}",
            f"Joining {room}…",
        )

    # -- joining ------------------------------------------------------------------------

    async def _run(
        self, account: str, room: str, nick: str, password: str, bookmark: bool, autojoin: bool
    ) -> None:
        if await self._enter(account, room, nick, password) is None:
            return
        problem = ""
        if bookmark:
            existing = self._ctx.core.bookmarks.get(account, room)
            problem = await self._keep(
                account,
                room,
                name=existing.name if existing is not None else "",
                nick=nick,
                password=password,
                autojoin=autojoin,
                done=f"You are in {room}",
            )
        # (in the room, but not bookmarked: said here, Join tries again)
        self._open(account, room, self.joined, problem)

    def _field_for(self, condition: str) -> QLineEdit:
        if condition in NICK_CONDITIONS:
            return self._nick
        if condition in PASSWORD_CONDITIONS:
            return self._password
        return self._address

    def _fields(self) -> Iterable[QWidget]:
        return (self._account, self._address, self._nick, self._password, self._bookmark)

    def _follow_busy(self, busy: bool) -> None:
        self._autojoin.setEnabled(not busy and self._bookmark.isChecked())

    # -- the form -----------------------------------------------------------------------

    def _default_nick(self) -> str:
        account = self.account
        return default_nick(self._ctx, account) if account else ""

    def _take_bookmark(self) -> None:
        """A bookmarked room: the form starts from its bookmark (kept bookmarked, joined
        automatically as it is, its nick and password) so joining changes nothing the
        user did not change."""
        account = self.account
        room = self.room if account else ""
        if not room or room == self._from_mark:
            return
        mark = self._ctx.core.bookmarks.get(account, room) if account else None
        if mark is None:
            return
        self._from_mark = room
        self._bookmark.setChecked(True)
        self._autojoin.setChecked(mark.autojoin)
        if mark.nick and not self._nick_typed:
            self._nick.setText(mark.nick)
        if mark.password and not self._password.text():
            self._password.setText(mark.password)

    def _forget_failure(self, _text: str = "") -> None:
        self._said = ""
        self._validate()

    def _nick_edited(self, _text: str) -> None:
        self._nick_typed = True

    def _bookmark_toggled(self, on: bool) -> None:
        self._autojoin.setEnabled(on and not self.busy)
        if not on:
            self._autojoin.setChecked(False)

    def _account_changed(self) -> None:
        self._said = ""
        if not self._nick_typed:
            self._nick.setText(self._default_nick())
        self._validate()

    def _accounts_moved(self) -> None:
        if self.busy:
            return
        self._services.forget()
        if fill_accounts(self._account, self._ctx):
            self._account_changed()
        self._show_account_row()
        self._validate()

    def _revalidate(self) -> None:
        if not self.busy:
            self._validate()

    def _problem(self) -> str | None:
        account = self.account
        if account is None:
            return "Sign in to an account first: group chats are joined from one of your accounts."
        address, problem, _ = resolve(self._address.text(), self._services.service(account))
        if not address:
            return problem
        if not self._nick.text().strip():
            return "Enter a nick: the name others see you under in the group chat."
        return None

    def _validate(self, *_: object) -> None:
        problem = self._problem()
        self._action.setEnabled(problem is None and not self.busy)
        self._action.setToolTip(problem or "")
        account = self.account
        if account is None or problem is not None:
            typed = bool(self._address.text().strip()) and account is not None
            kind = MessageKind.ERROR if typed else MessageKind.HINT
            if problem == LOOKING:
                kind = MessageKind.INFO
            self._message.show_message(problem or "", kind)
            return
        if self._said:  # (a refusal stands until something is changed)
            self._message.show_message(self._said, MessageKind.ERROR)
            return
        address, _problem, completed = resolve(
            self._address.text(), self._services.service(account)
        )
        if completed:
            self._message.show_message(f"Joins {address}.", MessageKind.INFO)
        else:
            self._message.clear_message()
