"""The Create group chat dialog: which signed-in account, the group chat's name, its
address (suggested from the name on the account's group chat service, editable), a
description, and whether it is listed publicly, for members only, moderated, or behind
a password; bookmarked (and joined on sign-in) unless unticked.

Create joins the new room with its configuration (XEP-0045 10.2 ``muc#roomconfig``
fields: the core configures a room its join made). A room that was there already is
said to be, and left as it was: not configured, and left again."""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from chinwag.ui.account_editor import MessageKind, chain_tab_order, check_box, line_edit
from chinwag.ui.context import UiContext
from chinwag.ui.room_forms import (
    LOOKING,
    Lookup,
    RoomFormDialog,
    default_nick,
    fill_accounts,
    refusal_text,
    resolve,
)

#: Runs of what is not a letter or digit (underscores too), made one "-" in a suggested
#: address.
_NOT_NAME = re.compile(r"[\W_]+")


def suggested_name(name: str) -> str:
    """The local part of an address suggested for a group chat called ``name``:
    lower case, words joined by "-"."""
    return _NOT_NAME.sub("-", name.casefold()).strip("-")[:64].rstrip("-")


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


class CreateRoomDialog(RoomFormDialog):
    """Creates a group chat; emits :attr:`created` and closes once in (see the module)."""

    #: (account, room address) once made and entered (its window is open then).
    created = Signal(str, str)

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, account: str | None = None
    ) -> None:
        super().__init__(
            ctx,
            parent,
            title="Create group chat",
            what="the create group chat dialog",
            action="C&reate",
            stopped="Stopped creating the group chat.",
        )
        #: The address is the one suggested from the name (it follows the name).
        self._suggesting = True
        #: The room was made (and its window opened), though not bookmarked.
        self._made = False

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
        self._action.clicked.connect(self.create_room)
        self._lay_out(self._buttons)
        self.setMinimumWidth(440)
        fields = self._fields()
        chain_tab_order(
            *fields[:-1], self._password, fields[-1], self._autojoin, self._action, self._cancel
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
        self._follow_accounts()
        self._suggest()
        self._name.setFocus()

    # -- public -------------------------------------------------------------------------

    def create_room(self) -> bool:
        """Start creating; False (and the reason shown) when the form is not ready."""
        ready = self._ready()
        if ready is None:
            return False
        account, room = ready
        password = self._password.text() if self._protected.isChecked() else ""
        config = room_config(
            self._name.text().strip(),
            self._description.text().strip(),
            public=self._public.isChecked(),
            members_only=self._members_only.isChecked(),
            moderated=self._moderated.isChecked(),
            password=password,
        )
        return self._start(
            self._run(account, room, password, config), f"creating {room}", f"Creating {room}…"
        )

    # -- creating -----------------------------------------------------------------------

    async def _run(self, account: str, room: str, password: str, config: dict[str, str]) -> None:
        rooms = self._ctx.core.rooms
        if rooms.is_joined(account, room):
            self._fail(f"{room} exists already, and you are in it: it was not changed.")
            return
        nick = default_nick(self._ctx, account)
        joined = await self._enter(account, room, nick, password, config)
        if joined is None:
            return
        if not joined.created:  # someone's room: not ours to configure, nor to be in
            await rooms.leave(account, room)
            self._fail(
                f"{room} exists already: it was not changed. Choose another address, "
                "or join it with Join Group Chat."
            )
            return
        problem = ""
        if self._bookmark.isChecked():
            problem = await self._keep(
                account,
                room,
                name=config["muc#roomconfig_roomname"],
                nick=nick,
                password=self._password.text() if self._protected.isChecked() else "",
                autojoin=self._autojoin.isChecked(),
                done=f"{room} was created",
            )
        if problem:
            self._made = True  # (creating it again would find it there)
        self._open(account, room, self.created, problem)

    def _refusal(self, condition: str, room: str) -> str:
        if condition in ("not-allowed", "forbidden"):
            return f"The service does not let you create {room}."
        return refusal_text(condition, room)

    def _fields(self) -> tuple[QWidget, ...]:
        return (
            self._account,
            self._name,
            self._address,
            self._description,
            self._public,
            self._members_only,
            self._moderated,
            self._protected,
            self._bookmark,
        )

    def _follow_busy(self, busy: bool) -> None:
        self._password.setEnabled(not busy and self._protected.isChecked())
        self._autojoin.setEnabled(not busy and self._bookmark.isChecked())

    def _can_act(self) -> bool:
        return self._problem() is None and not self._made

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
        self._action.setEnabled(problem is None and not self.busy and not self._made)
        self._action.setToolTip(problem or "")
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
