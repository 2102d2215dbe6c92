"""What the group chat dialogs (join, create, browse) share: the picker of signed-in
accounts, the lookup of each account's group chat service (to complete a bare room name
into an address), the default nick, and a room's refusal said in words."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, InvalidAddress
from chinwag.core.models import ConnectionState
from chinwag.ui.context import UiContext
from chinwag.ui.tasks import UiTasks

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
    config = ctx.core.accounts.find(account)
    return (config.nickname if config is not None else "") or account.partition("@")[0]


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


def resolve(text: str, service: Service) -> tuple[str, str, bool]:
    """The room address ``text`` names (a bare name is completed with ``service``):
    (address, problem, completed); the address is "" and the problem a sentence when it
    names none yet."""
    text = text.strip()
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
