"""What the group chat dialogs (join, create, browse) share: the picker of signed-in
accounts, the lookup of each account's group chat service (to complete a bare room name
into an address), the default nick, a room's refusal said in words, and the dialogs'
frame: :class:`AccountFormDialog` (account row, message line, busy bar, one task at a
time) and :class:`RoomFormDialog` (join and create: their button, busy state, and the
join itself with its refusals, the bookmark and the window opened)."""

from __future__ import annotations

import asyncio
import enum
import logging
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, InvalidAddress, NotConnected, RoomRefused
from chinwag.core.models import ConnectionState, ConversationKind
from chinwag.core.rooms import Room
from chinwag.ui import rooms_model
from chinwag.ui.account_editor import FormMessage, MessageKind, busy_bar, failure_details
from chinwag.ui.context import UiContext
from chinwag.ui.tasks import UiTasks

log = logging.getLogger(__name__)

#: The longest wait for a server's answer (a join, a bookmark, a page of rooms); the
#: core's own timeouts come first, this only guards against one that never answers.
ANSWER_TIMEOUT = 45.0


def refusal_text(condition: str, room: str) -> str:
    """Why ``room`` did not let us in (its XMPP condition, or "timeout"), as a sentence."""
    words = {
        "not-authorized": (
            f"{room} needs a password, or the password was wrong. Enter it and try again."
        ),
        "registration-required": (
            f"{room} is for members only: ask one of its owners to make you a member."
        ),
        "forbidden": f"You are banned from {room}.",
        "conflict": "That nick is taken in this group chat: choose another.",
        "item-not-found": f"{room} does not exist, and it cannot be made by joining.",
        "timeout": f"{room} did not answer. Try again later.",
        "service-unavailable": f"{room} is full: try again later.",
        "not-allowed": f"The service does not let you make {room}.",
        "not-acceptable": "That nick is not allowed in this group chat: choose another.",
        "jid-malformed": "Enter a nick: the name others see you under in the group chat.",
        "remote-server-not-found": f"The server of {room} cannot be reached.",
        "gone": f"{room} let you in and then out again (you left, or were removed).",
    }
    return words.get(condition, f"{room} did not let you in ({condition or 'no reason given'}).")


#: The field a refusal is about (to put the cursor there): the nick, the password, else
#: the address.
NICK_CONDITIONS = frozenset(("conflict", "not-acceptable", "jid-malformed"))
PASSWORD_CONDITIONS = frozenset(("not-authorized",))


def default_nick(ctx: UiContext, account: str) -> str:
    """The nick to offer: the account's nickname, else the local part of its address."""
    return rooms_model.default_nick(ctx.core, account)


def signed_in(ctx: UiContext) -> list[str]:
    """The accounts signed in now, in the accounts' order."""
    return [
        config.jid
        for config in ctx.core.accounts.accounts
        if ctx.core.state(config.jid) is ConnectionState.ONLINE
    ]


def fill_accounts(combo: QComboBox, ctx: UiContext, wanted: str | None = None) -> bool:
    """Fill ``combo`` with the signed-in accounts, keeping the one chosen (else
    ``wanted``, else the first). True when the choice changed."""
    before = combo.currentData()
    accounts = signed_in(ctx)
    if [combo.itemData(i) for i in range(combo.count())] == accounts:
        if wanted and combo.currentData() != wanted and wanted in accounts:
            combo.setCurrentIndex(accounts.index(wanted))
        return bool(combo.currentData() != before)
    keep = before if before in accounts else wanted
    combo.blockSignals(True)
    try:
        combo.clear()
        for account in accounts:
            combo.addItem(account, account)
        combo.setCurrentIndex(accounts.index(keep) if keep in accounts else 0)
    finally:
        combo.blockSignals(False)
    return bool(combo.currentData() != before)


def account_combo(parent: QWidget) -> QComboBox:
    combo = QComboBox(parent)
    combo.setAccessibleName("Account")
    return combo


class Lookup(enum.Enum):
    PENDING = "pending"
    FOUND = "found"
    NONE = "none"  # the server has no group chat service
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Service:
    state: Lookup
    address: str = ""


class ServiceFinder(QObject):
    """Each account's group chat service, asked of the core once per account (again after
    a failure, when asked again); :attr:`changed` says an answer came."""

    #: (account) whose answer came.
    changed = Signal(str)

    def __init__(self, ctx: UiContext, parent: QObject) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, "the group chat service lookup")
        self._known: dict[str, Service] = {}

    def service(self, account: str) -> Service:
        """What is known of ``account``'s service (a lookup starts if nothing is)."""
        known = self._known.get(account)
        if known is None:
            known = self._known[account] = Service(Lookup.PENDING)
            self._tasks.start(self._find(account), what=f"finding {account}'s group chats")
        return known

    def forget(self) -> None:
        """Ask again next time (the accounts signed in again, or out): a lookup under
        way still tells its answer."""
        self._known = {a: s for a, s in self._known.items() if s.state is Lookup.PENDING}

    async def _find(self, account: str) -> None:
        try:
            address = await asyncio.wait_for(
                self._ctx.core.rooms.conference_service(account), ANSWER_TIMEOUT
            )
        except (ChinwagError, TimeoutError):
            self._known[account] = Service(Lookup.FAILED)
        else:
            self._known[account] = (
                Service(Lookup.FOUND, address) if address else Service(Lookup.NONE)
            )
        self.changed.emit(account)


#: What :func:`resolve` says while the service is being looked for.
LOOKING = "Looking for your server's group chat service…"


def _from_uri(text: str) -> str:
    """The address of an ``xmpp:`` link (RFC 5122), as ``xmpp:room@service?join``;
    anything else as it is."""
    if not text.lower().startswith("xmpp:"):
        return text
    address = text[5:].removeprefix("//").partition("?")[0].partition("#")[0]
    return urllib.parse.unquote(address)


def resolve(text: str, service: Service) -> tuple[str, str, bool]:
    """The room address ``text`` names (a bare name is completed with ``service``):
    (address, problem, completed); the address is "" and the problem a sentence when it
    names none yet."""
    text = _from_uri(text.strip())
    if not text:
        return "", "Enter the group chat's address, like room@conference.example.org.", False
    completed = "@" not in text
    if completed:
        if service.state is Lookup.PENDING:
            return "", LOOKING, True
        if service.state is not Lookup.FOUND:
            return (
                "",
                "Your server has no group chat service that Chinwag could find: enter the "
                "whole address, like room@conference.example.org.",
                True,
            )
        text = f"{text}@{service.address}"
    if text.startswith("@"):
        return "", f"Add the group chat's name before the service, like room{text}.", False
    try:
        jid = jids.Jid.parse(text)
    except InvalidAddress as exc:
        reason, prefix = exc.message, f"{text!r}: "
        if reason.startswith(prefix):  # (the user can see what they typed)
            reason = reason[len(prefix) :]
        return "", f"This is not the address of a group chat: {reason}.", completed
    if jid.resource:
        return "", "Leave out the “/” and what follows it: a group chat has no nick.", False
    return jids.room_address(text), "", completed


class AccountFormDialog(QDialog):
    """A group chat dialog's frame: the account row (shown with more than one account
    signed in), the form, a message line, a busy bar, and one task at a time."""

    def __init__(
        self, ctx: UiContext, parent: QWidget | None, *, title: str, what: str, message: str
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = UiTasks(self, what)
        self._services = ServiceFinder(ctx, self)
        self._task: asyncio.Task[None] | None = None
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self._account = account_combo(self)
        self._form = QFormLayout()
        self._form.addRow("A&ccount:", self._account)
        self._message = FormMessage(message, self)
        self._busy_bar = busy_bar(self)

    @property
    def account(self) -> str | None:
        data = self._account.currentData()
        return str(data) if data else None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _lay_out(self, buttons: QDialogButtonBox, *middle: QWidget) -> None:
        """The form, then ``middle`` (stretching), the message, the busy bar, ``buttons``."""
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        for widget in middle:
            layout.addWidget(widget, 1)
        layout.addWidget(self._message)
        layout.addWidget(self._busy_bar)
        layout.addWidget(buttons)

    def _follow_accounts(self) -> None:
        """Accounts signing in or out change the choice (:meth:`_accounts_moved`)."""
        self._ctx.bridge.accounts_changed.connect(lambda _event: self._accounts_moved())
        self._ctx.bridge.connection_changed.connect(lambda _event: self._accounts_moved())
        self._show_account_row()

    def _accounts_moved(self) -> None:
        raise NotImplementedError

    def _show_account_row(self) -> None:
        # With one account signed in there is nothing to choose.
        self._form.setRowVisible(self._account, self._account.count() > 1)


class RoomFormDialog(AccountFormDialog):
    #: The room's address (the subclass makes it, in its place in the form).
    _address: QLineEdit

    """Join and Create: an address field, the action button (the default) and Cancel;
    the action joins the room as a task (Cancel or Escape stops it, leaving the room
    if it lets us in after all), a refusal said in the dialog until something changes,
    then the room bookmarked if asked and its window opened."""

    def __init__(
        self,
        ctx: UiContext,
        parent: QWidget | None,
        *,
        title: str,
        what: str,
        action: str,
        stopped: str,
    ) -> None:
        super().__init__(ctx, parent, title=title, what=what, message="Problem")
        #: What went wrong last (a refusal): said until the user changes something.
        self._said = ""
        #: Said when the action is stopped.
        self._stopped = stopped
        self._buttons = QDialogButtonBox(self)
        self._action = self._buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
        self._action.setAccessibleName(action.replace("&", ""))
        self._action.setDefault(True)
        self._cancel = self._buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        self._cancel.clicked.connect(self.reject)

    @property
    def room(self) -> str:
        """The room address the form names now ("" : none yet)."""
        account = self.account
        if account is None:
            return ""
        return resolve(self._address.text(), self._services.service(account))[0]

    def reject(self) -> None:
        """Escape or Cancel while busy stops (and leaves the room if it lets us in)."""
        if self.busy and self._task is not None:
            self._task.cancel()
            return
        super().reject()

    # -- for the subclass ---------------------------------------------------------------

    def _problem(self) -> str | None:
        """What keeps the form from being sent (None: nothing)."""
        raise NotImplementedError

    def _fields(self) -> Iterable[QWidget]:
        """The fields disabled while busy (and enabled again after)."""
        raise NotImplementedError

    def _follow_busy(self, busy: bool) -> None:
        """Fields enabled after busy only under a condition (a box ticked)."""

    def _can_act(self) -> bool:
        return self._problem() is None

    def _field_for(self, condition: str) -> QLineEdit:
        """The field a refusal is about (the cursor goes there)."""
        return self._address

    def _refusal(self, condition: str, room: str) -> str:
        return refusal_text(condition, room)

    # -- acting -------------------------------------------------------------------------

    def _ready(self) -> tuple[str, str] | None:
        """(account, room) to act on; None (and the reason shown) when not ready."""
        if self.busy:
            return None
        problem = self._problem()
        account, room = self.account, self.room
        if problem is not None or account is None or not room:
            self._message.show_message(problem or "", MessageKind.ERROR)
            return None
        return account, room

    def _start(self, coro: Any, what: str, saying: str) -> bool:
        self._task = self._tasks.start(coro, what=what, on_done=self._done)
        if self._task is None:
            return False
        self._said = ""
        self._message.show_message(saying, MessageKind.INFO)
        self._set_busy(True)
        return True

    async def _enter(
        self,
        account: str,
        room: str,
        nick: str,
        password: str,
        config: dict[str, str] | None = None,
    ) -> Room | None:
        """Join; None when refused (said in the dialog)."""
        rooms = self._ctx.core.rooms
        was_in = rooms.is_joined(account, room)
        try:
            return await asyncio.wait_for(
                rooms.join(account, room, nick, password, config=config), ANSWER_TIMEOUT
            )
        except asyncio.CancelledError:
            if not was_in:  # (the room may still let us in: we did not want to be)
                self._tasks.start(rooms.leave(account, room), outlive=True)
            raise
        except RoomRefused as exc:
            self._fail(self._refusal(exc.condition, room), exc.condition)
        except TimeoutError:
            self._fail(refusal_text("timeout", room), "timeout")
        except NotConnected:
            self._fail(f"{account} is not signed in: sign in and try again.", "")
        except InvalidAddress as exc:
            self._fail(failure_details(exc), "jid-malformed" if "nick" in exc.message else "")
        except ChinwagError as exc:
            self._fail(failure_details(exc), "")
        return None

    async def _keep(
        self,
        account: str,
        room: str,
        *,
        name: str,
        nick: str,
        password: str,
        autojoin: bool,
        done: str,
    ) -> str:
        """Bookmark the room; "" or what went wrong (``done``, ", but ...")."""
        try:
            await asyncio.wait_for(
                self._ctx.core.bookmarks.add(
                    account, room, name=name, nick=nick, password=password, autojoin=autojoin
                ),
                ANSWER_TIMEOUT,
            )
        except TimeoutError:
            return f"{done}, but the server did not answer to bookmark it."
        except ChinwagError as exc:
            log.info("%s: bookmarking %s failed: %s", account, room, exc)
            return f"{done}, but the bookmark was not saved: {failure_details(exc)}"
        return ""

    def _open(self, account: str, room: str, signal: SignalInstance, problem: str) -> None:
        """In the room: open its window, tell ``signal``; then close, or say ``problem``
        (in the room, but not bookmarked) and stay."""
        self._ctx.windows.open(account, room, kind=ConversationKind.GROUPCHAT)
        signal.emit(account, room)
        if problem:
            self._said = problem
            self._message.show_message(problem, MessageKind.ERROR)
            return
        self.accept()

    def _fail(self, text: str, condition: str = "") -> None:
        self._said = text
        self._set_busy(False)
        self._message.show_message(text, MessageKind.ERROR)
        field = self._field_for(condition)
        field.setFocus()
        field.selectAll()

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task is not self._task:
            return
        self._set_busy(False)
        if task.cancelled():
            self._message.show_message(self._stopped, MessageKind.HINT)

    def _set_busy(self, busy: bool) -> None:
        for widget in self._fields():
            widget.setEnabled(not busy)
        self._follow_busy(busy)
        self._busy_bar.setVisible(busy)
        if busy:
            self._action.setEnabled(False)
            self._cancel.setFocus()
        else:
            self._action.setEnabled(self._can_act())
