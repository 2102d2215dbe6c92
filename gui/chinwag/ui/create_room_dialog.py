"""The Create group chat dialog: which signed-in account, the group chat's name, its
address (suggested from the name on the account's group chat service, editable), a
description, and whether it is listed publicly, for members only, moderated, or behind
a password; bookmarked (and joined on sign-in) unless unticked.

Create joins the new room with its configuration (XEP-0045 10.2 ``muc#roomconfig``
fields: the core configures a room its join made). A room that was there already is
said to be, and left as it was: not configured, and left again."""

from __future__ import annotations

import asyncio
import logging
import re
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
    Lookup,
    ServiceFinder,
    account_combo,
    default_nick,
    fill_accounts,
    refusal_text,
    resolve,
)
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)

#: Runs of what is not a letter or digit, made one "-" in a suggested address.
_NOT_NAME = re.compile(r"[^\w]+|_+")


def suggested_name(name: str) -> str:
    """The local part of an address suggested for a group chat called ``name``:
    lower case, words joined by "-"."""
    return _NOT_NAME.sub("-", name.casefold()).strip("-")[:64]


def room_config(
    name: str,
    description: str,
    *,
    public: bool,
    members_only: bool,
    moderated: bool,
    password: str,
) -> dict[str, str]:
    """The ``muc#roomconfig`` fields (XEP-0045 10.2) of a new group chat."""
    config = {
        "muc#roomconfig_roomname": name,
        "muc#roomconfig_roomdesc": description,
        "muc#roomconfig_publicroom": "1" if public else "0",
        "muc#roomconfig_membersonly": "1" if members_only else "0",
        "muc#roomconfig_moderatedroom": "1" if moderated else "0",
        "muc#roomconfig_passwordprotectedroom": "1" if password else "0",
    }
    if password:
        config["muc#roomconfig_roomsecret"] = password
    return config


class CreateRoomDialog(QDialog):
    """Creates a group chat; emits :attr:`created` and closes once in (see the module)."""

    #: (account, room address) once made and entered (its window is open then).
    created = Signal(str, str)

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, account: str | None = None
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the create group chat dialog")
        self._task: asyncio.Task[None] | None = None
        self._services = ServiceFinder(ctx, self)
        #: The address is the one suggested from the name (it follows the name).
        self._suggesting = True
        #: The room was made (and its window opened), though not bookmarked.
        self._made = False
        #: What went wrong last (a refusal): said until the user changes something.
        self._said = ""
        self.setWindowTitle("Create group chat")
        self.setAccessibleName("Create group chat")

        self._account = account_combo(self)
        self._name = line_edit(self, "Name", placeholder="What the group chat is called")
        self._address = line_edit(
            self, "Group chat address", placeholder="room@conference.example.org, or room"
        )
        self._description = line_edit(self, "Description", placeholder="Optional")
        self._public = check_box(self, "&Listed publicly", name="Listed publicly")
        self._public.setToolTip("Anyone browsing the service's group chats sees this one")
        self._members_only = check_box(self, "&Members only", name="Members only")
        self._moderated = check_box(self, "Mo&derated", name="Moderated")
        self._moderated.setToolTip("Only those given a voice may write")
        self._protected = check_box(self, "Needs a pass&word", name="Needs a password")
        self._password = line_edit(self, "Password", password=True)
        self._password.setEnabled(False)
        self._bookmark = check_box(self, "&Bookmark it", name="Bookmark it", checked=True)
        self._autojoin = check_box(
            self, "Join &automatically", name="Join automatically", checked=True
        )
        self._autojoin.setToolTip("Join this group chat whenever the account signs in")
        self._form = QFormLayout()
        self._form.addRow("A&ccount:", self._account)
        self._form.addRow("&Name:", self._name)
        self._form.addRow("Add&ress:", self._address)
        self._form.addRow("D&escription:", self._description)
        self._form.addRow("", self._public)
        self._form.addRow("", self._members_only)
        self._form.addRow("", self._moderated)
        self._form.addRow("", self._protected)
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
        self._create = buttons.addButton("C&reate", QDialogButtonBox.ButtonRole.AcceptRole)
        self._create.setAccessibleName("Create")
        self._create.setDefault(True)
        self._cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        self._create.clicked.connect(self.create_room)
        self._cancel.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self._message)
        layout.addWidget(self._busy_bar)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)
        chain_tab_order(
            self._account,
            self._name,
            self._address,
            self._description,
            self._public,
            self._members_only,
            self._moderated,
            self._protected,
            self._password,
            self._bookmark,
            self._autojoin,
            self._create,
            self._cancel,
        )

        fill_accounts(self._account, ctx, account)
        self._account.currentIndexChanged.connect(lambda *_: self._suggest())
        self._account.currentIndexChanged.connect(lambda *_: self._forget_failure())
        self._name.textChanged.connect(lambda *_: self._suggest())
        self._address.textEdited.connect(self._address_edited)
        for edit in (self._name, self._address, self._password):
            edit.textEdited.connect(self._forget_failure)
        self._address.textChanged.connect(self._validate)
        self._password.textChanged.connect(self._validate)
        self._protected.toggled.connect(self._protected_toggled)
        self._bookmark.toggled.connect(self._bookmark_toggled)
        self._services.changed.connect(lambda _account: self._service_found())
        ctx.bridge.accounts_changed.connect(lambda _event: self._accounts_moved())
        ctx.bridge.connection_changed.connect(lambda _event: self._accounts_moved())
        self._show_account_row()
        self._suggest()
        self._name.setFocus()

    # -- public -------------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        data = self._account.currentData()
        return str(data) if data else None

    @property
    def room(self) -> str:
        account = self.account
        if account is None:
            return ""
        return resolve(self._address.text(), self._services.service(account))[0]

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def create_room(self) -> bool:
        """Start creating; False (and the reason shown) when the form is not ready."""
        if self.busy:
            return False
        problem = self._problem()
        account, room = self.account, self.room
        if problem is not None or account is None or not room:
            self._message.show_message(problem or "", MessageKind.ERROR)
            return False
        password = self._password.text() if self._protected.isChecked() else ""
        config = room_config(
            self._name.text().strip(),
            self._description.text().strip(),
            public=self._public.isChecked(),
            members_only=self._members_only.isChecked(),
            moderated=self._moderated.isChecked(),
            password=password,
        )
        self._task = self._tasks.start(
            self._run(account, room, password, config),
            what=f"creating {room}",
            on_done=self._done,
        )
        if self._task is None:
            return False
        self._said = ""
        self._message.show_message(f"Creating {room}…", MessageKind.INFO)
        self._set_busy(True)
        return True

    def reject(self) -> None:
        if self.busy and self._task is not None:
            self._task.cancel()
            return
        super().reject()

    # -- creating -----------------------------------------------------------------------

    async def _run(self, account: str, room: str, password: str, config: dict[str, str]) -> None:
        core = self._ctx.core
        if core.rooms.is_joined(account, room):
            self._fail(f"{room} exists already, and you are in it: it was not changed.")
            return
        nick = default_nick(self._ctx, account)
        try:
            joined = await asyncio.wait_for(
                core.rooms.join(account, room, nick, password, config=config), ANSWER_TIMEOUT
            )
        except asyncio.CancelledError:
            self._tasks.start(core.rooms.leave(account, room), outlive=True)
            raise
        except RoomRefused as exc:
            self._fail(self._refusal(exc.condition, room))
            return
        except TimeoutError:
            self._fail(refusal_text("timeout", room))
            return
        except NotConnected:
            self._fail(f"{account} is not signed in: sign in and try again.")
            return
        except (InvalidAddress, ChinwagError) as exc:
            self._fail(failure_details(exc))
            return
        if not joined.created:  # someone's room: not ours to configure, nor to be in
            await core.rooms.leave(account, room)
            self._fail(
                f"{room} exists already: it was not changed. Choose another address, "
                "or join it with Join Group Chat."
            )
            return
        problem = ""
        if self._bookmark.isChecked():
            problem = await self._keep(account, room, config["muc#roomconfig_roomname"], nick)
        self._ctx.windows.open(account, room, kind=ConversationKind.GROUPCHAT)
        self.created.emit(account, room)
        if problem:
            self._made = True  # (creating it again would find it there)
            self._said = problem
            self._message.show_message(problem, MessageKind.ERROR)
            return
        self.accept()

    @staticmethod
    def _refusal(condition: str, room: str) -> str:
        if condition in ("not-allowed", "forbidden"):
            return f"The service does not let you create {room}."
        return refusal_text(condition, room)

    async def _keep(self, account: str, room: str, name: str, nick: str) -> str:
        password = self._password.text() if self._protected.isChecked() else ""
        try:
            await asyncio.wait_for(
                self._ctx.core.bookmarks.add(
                    account,
                    room,
                    name=name,
                    nick=nick,
                    password=password,
                    autojoin=self._autojoin.isChecked(),
                ),
                ANSWER_TIMEOUT,
            )
        except TimeoutError:
            return f"{room} was created, but the server did not answer to bookmark it."
        except ChinwagError as exc:
            log.info("%s: bookmarking %s failed: %s", account, room, exc)
            return f"{room} was created, but the bookmark was not saved: {failure_details(exc)}"
        return ""

    def _fail(self, text: str) -> None:
        self._said = text
        self._set_busy(False)
        self._message.show_message(text, MessageKind.ERROR)
        self._address.setFocus()
        self._address.selectAll()

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task is not self._task:
            return
        self._set_busy(False)
        if task.cancelled():
            self._message.show_message("Stopped creating the group chat.", MessageKind.HINT)

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self._account,
            self._name,
            self._address,
            self._description,
            self._public,
            self._members_only,
            self._moderated,
            self._protected,
            self._bookmark,
        ):
            widget.setEnabled(not busy)
        self._password.setEnabled(not busy and self._protected.isChecked())
        self._autojoin.setEnabled(not busy and self._bookmark.isChecked())
        self._busy_bar.setVisible(busy)
        if busy:
            self._create.setEnabled(False)
            self._cancel.setFocus()
        else:
            self._create.setEnabled(self._problem() is None and not self._made)

    # -- the form -----------------------------------------------------------------------

    def _forget_failure(self, _text: str = "") -> None:
        if self._said and not self._made:
            self._said = ""
            self._validate()

    def _address_edited(self, text: str) -> None:
        self._suggesting = not text.strip()  # (emptied: suggest again)

    def _suggest(self) -> None:
        """The address follows the name (on the chosen account's service) until edited."""
        account = self.account
        if self._suggesting and account is not None:
            local = suggested_name(self._name.text())
            service = self._services.service(account)
            if local and service.state is Lookup.FOUND:
                local = f"{local}@{service.address}"
            self._address.setText(local)
        self._validate()

    def _service_found(self) -> None:
        if not self.busy:
            self._suggest()

    def _protected_toggled(self, on: bool) -> None:
        self._password.setEnabled(on and not self.busy)
        if on:
            self._password.setFocus()
        self._validate()

    def _bookmark_toggled(self, on: bool) -> None:
        self._autojoin.setEnabled(on and not self.busy)
        self._autojoin.setChecked(on)

    def _accounts_moved(self) -> None:
        if self.busy:
            return
        self._services.forget()
        fill_accounts(self._account, self._ctx)
        self._show_account_row()
        self._suggest()

    def _show_account_row(self) -> None:
        self._form.setRowVisible(self._account, self._account.count() > 1)

    def _problem(self) -> str | None:
        account = self.account
        if account is None:
            return "Sign in to an account first: group chats are made from one of your accounts."
        if not self._name.text().strip():
            return "Enter a name for the group chat."
        address, problem, _ = resolve(self._address.text(), self._services.service(account))
        if not address:
            return problem
        if self._protected.isChecked() and not self._password.text():
            return "Enter the password people need to join."
        return None

    def _validate(self, *_: object) -> None:
        problem = self._problem()
        self._create.setEnabled(problem is None and not self.busy and not self._made)
        self._create.setToolTip(problem or "")
        if self.busy:
            return
        if problem is None and self._said:  # (a refusal stands until something is changed)
            self._message.show_message(self._said, MessageKind.ERROR)
            return
        if problem is None:
            self._message.clear_message()
            return
        typed = bool(self._name.text().strip()) and self.account is not None
        kind = MessageKind.ERROR if typed else MessageKind.HINT
        self._message.show_message(problem, MessageKind.INFO if problem == LOOKING else kind)
