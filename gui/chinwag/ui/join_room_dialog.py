"""The Join group chat dialog: which signed-in account, the room's address (checked as it
is typed; a bare name is completed with the account's group chat service), the nick
(the account's nickname unless changed), an optional password, and whether to bookmark
the room and join it on every sign-in.

Join awaits ``rooms.join`` as an asyncio task (:class:`~chinwag.ui.tasks.UiTasks`); a
refusal (a password wanted or wrong, members only, banned, the nick taken, no such room,
no answer) is said in words in the dialog, which stays open to fix it. Once in, the
room is bookmarked if asked, its window opened, and the dialog closed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from chinwag.core.errors import ChinwagError, InvalidAddress, NotConnected, RoomRefused
from chinwag.core.models import ConversationKind
from chinwag.ui.account_editor import (
    FormMessage,
    MessageKind,
    chain_tab_order,
    check_box,
    failure_details,
    line_edit,
)
from chinwag.ui.context import UiContext
from chinwag.ui.room_forms import (
    ANSWER_TIMEOUT,
    LOOKING,
    NICK_CONDITIONS,
    PASSWORD_CONDITIONS,
    ServiceFinder,
    account_combo,
    default_nick,
    fill_accounts,
    refusal_text,
    resolve,
)
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)


class JoinRoomDialog(QDialog):
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
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the join group chat dialog")
        self._task: asyncio.Task[None] | None = None
        self._services = ServiceFinder(ctx, self)
        #: The nick was typed (not the account's default, which follows the account).
        self._nick_typed = bool(nick)
        #: What went wrong last (a refusal): said until the user changes something.
        self._said = ""
        self.setWindowTitle("Join group chat")
        self.setAccessibleName("Join group chat")

        self._account = account_combo(self)
        self._address = line_edit(
            self, "Group chat address", placeholder="room@conference.example.org, or room"
        )
        self._nick = line_edit(self, "Nick", placeholder="The name others see you under")
        self._password = line_edit(self, "Password", placeholder="Optional", password=True)
        self._bookmark = check_box(self, "&Bookmark it", name="Bookmark it")
        self._autojoin = check_box(self, "Join &automatically", name="Join automatically")
        self._autojoin.setToolTip("Join this group chat whenever the account signs in")
        self._autojoin.setEnabled(False)
        self._form = QFormLayout()
        self._form.addRow("A&ccount:", self._account)
        self._form.addRow("&Group chat:", self._address)
        self._form.addRow("&Nick:", self._nick)
        self._form.addRow("&Password:", self._password)
        self._form.addRow("", self._bookmark)
        self._form.addRow("", self._autojoin)

        self._message = FormMessage("Problem", self)
        self._busy_bar = QProgressBar(self)
        self._busy_bar.setRange(0, 0)
        self._busy_bar.setTextVisible(False)
        self._busy_bar.setAccessibleName("Busy")
        self._busy_bar.hide()
        buttons = QDialogButtonBox(self)
        self._join = buttons.addButton("&Join", QDialogButtonBox.ButtonRole.AcceptRole)
        self._join.setAccessibleName("Join")
        self._join.setDefault(True)
        self._cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        self._join.clicked.connect(self.join)
        self._cancel.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self._message)
        layout.addWidget(self._busy_bar)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)
        chain_tab_order(
            self._account,
            self._address,
            self._nick,
            self._password,
            self._bookmark,
            self._autojoin,
            self._join,
            self._cancel,
        )

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
        self._services.changed.connect(lambda _account: self._revalidate())
        ctx.bridge.accounts_changed.connect(lambda _event: self._accounts_moved())
        ctx.bridge.connection_changed.connect(lambda _event: self._accounts_moved())
        self._show_account_row()
        self._validate()
        (self._nick if room and not self._nick.text() else self._address).setFocus()

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        data = self._account.currentData()
        return str(data) if data else None

    @property
    def room(self) -> str:
        """The room address the form names now ("" : none yet)."""
        account = self.account
        if account is None:
            return ""
        return resolve(self._address.text(), self._services.service(account))[0]

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def join(self) -> bool:
        """Start joining; False (and the reason shown) when the form is not ready."""
        if self.busy:
            return False
        problem = self._problem()
        account, room = self.account, self.room
        if problem is not None or account is None or not room:
            self._message.show_message(problem or "", MessageKind.ERROR)
            return False
        self._task = self._tasks.start(
            self._run(
                account,
                room,
                self._nick.text().strip(),
                self._password.text(),
                self._bookmark.isChecked(),
                self._autojoin.isChecked(),
            ),
            what=f"joining {room}",
            on_done=self._done,
        )
        if self._task is None:
            return False
        self._said = ""
        self._message.show_message(f"Joining {room}…", MessageKind.INFO)
        self._set_busy(True)
        return True

    def reject(self) -> None:
        """Escape or Cancel while joining stops (and leaves the room if it lets us in)."""
        if self.busy and self._task is not None:
            self._task.cancel()
            return
        super().reject()

    # -- joining ------------------------------------------------------------------------

    async def _run(
        self, account: str, room: str, nick: str, password: str, bookmark: bool, autojoin: bool
    ) -> None:
        core = self._ctx.core
        was_in = core.rooms.is_joined(account, room)
        try:
            await asyncio.wait_for(core.rooms.join(account, room, nick, password), ANSWER_TIMEOUT)
        except asyncio.CancelledError:
            if not was_in:  # (the room may still let us in: we did not want to be)
                self._tasks.start(core.rooms.leave(account, room), outlive=True)
            raise
        except RoomRefused as exc:
            self._fail(refusal_text(exc.condition, room), exc.condition)
            return
        except TimeoutError:
            self._fail(refusal_text("timeout", room), "timeout")
            return
        except NotConnected:
            self._fail(f"{account} is not signed in: sign in and try again.", "")
            return
        except InvalidAddress as exc:
            self._fail(failure_details(exc), "jid-malformed" if "nick" in exc.message else "")
            return
        except ChinwagError as exc:
            self._fail(failure_details(exc), "")
            return
        problem = await self._keep(account, room, nick, password, autojoin) if bookmark else ""
        self._ctx.windows.open(account, room, kind=ConversationKind.GROUPCHAT)
        self.joined.emit(account, room)
        if problem:  # in the room, but not bookmarked: said here, Join tries again
            self._said = problem
            self._message.show_message(problem, MessageKind.ERROR)
            return
        self.accept()

    async def _keep(self, account: str, room: str, nick: str, password: str, autojoin: bool) -> str:
        """Bookmark the room; "" or what went wrong."""
        bookmarks = self._ctx.core.bookmarks
        existing = bookmarks.get(account, room)
        try:
            await asyncio.wait_for(
                bookmarks.add(
                    account,
                    room,
                    name=existing.name if existing is not None else "",
                    nick=nick,
                    password=password,
                    autojoin=autojoin,
                ),
                ANSWER_TIMEOUT,
            )
        except TimeoutError:
            return f"You are in {room}, but the server did not answer to bookmark it."
        except ChinwagError as exc:
            log.info("%s: bookmarking %s failed: %s", account, room, exc)
            return f"You are in {room}, but the bookmark was not saved: {failure_details(exc)}"
        return ""

    def _fail(self, text: str, condition: str) -> None:
        self._said = text
        self._set_busy(False)
        self._message.show_message(text, MessageKind.ERROR)
        field = (
            self._nick
            if condition in NICK_CONDITIONS
            else self._password
            if condition in PASSWORD_CONDITIONS
            else self._address
        )
        field.setFocus()
        field.selectAll()

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task is not self._task:
            return
        self._set_busy(False)
        if task.cancelled():
            self._message.show_message("Stopped joining.", MessageKind.HINT)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self._account, self._address, self._nick, self._password, self._bookmark):
            widget.setEnabled(not busy)
        self._autojoin.setEnabled(not busy and self._bookmark.isChecked())
        self._busy_bar.setVisible(busy)
        if busy:
            self._join.setEnabled(False)
            self._cancel.setFocus()
        else:
            self._join.setEnabled(self._problem() is None)

    # -- the form -----------------------------------------------------------------------

    def _default_nick(self) -> str:
        account = self.account
        return default_nick(self._ctx, account) if account else ""

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

    def _show_account_row(self) -> None:
        # With one account signed in there is nothing to choose.
        self._form.setRowVisible(self._account, self._account.count() > 1)

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
        self._join.setEnabled(problem is None and not self.busy)
        self._join.setToolTip(problem or "")
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
