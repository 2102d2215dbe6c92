"""Letters: private messages with a subject, sent to several people at once, and the
inbox that lists what came and went (``gateways.md`` section 1, the behaviour the
XML-RPC gateway adapts; no transport here).

A letter is an XMPP message of type ``normal`` with its subject, if any (the core
sends a message marked as a letter so, and keeps the mark with it: a letter that waits
in the outbox is still one when sent after a restart), stored and shown like any other
message of the conversation. Its number (``msgid``, ``qid``) is the message's row in the history,
stable for as long as the message is kept. Read state is the conversation's read
position: a message is read once the position has passed it.

Refusals are :class:`LetterError`, whose :class:`Refusal` is numbered as the
LiveJournal protocol numbers its faults (the one protocol that needs them)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chinwag.api.errors import ApiError
from chinwag.core import jid as jids
from chinwag.core.errors import InvalidAddress
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Direction,
    Message,
)

if TYPE_CHECKING:
    from chinwag.api.service import Api

#: Limits of a letter and of an inbox page (gateways.md).
MAX_SUBJECT = 255
MAX_BODY = 5000
MAX_ITEMS = 100
MAX_SKIP = 100
#: What counts as a line break in a subject (str.splitlines' set).
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


class Refusal(enum.IntEnum):
    """Why a request about letters is refused, numbered as LiveJournal's faults."""

    BAD_ADDRESS = 100  # a recipient malformed or unknown
    MISSING = 200
    INVALID = 203  # also: a recipient that cannot receive letters
    BAD_TEXT = 208
    OUT_OF_RANGE = 209
    BODY_TOO_LONG = 212
    BODY_EMPTY = 213


class LetterError(Exception):
    def __init__(self, refusal: Refusal, detail: str) -> None:
        super().__init__(detail)
        self.refusal = refusal
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Sent:
    """What ``send`` did: the numbers of the letters sent, in the order of the
    recipients, and what failed after the letter was accepted (recipient: reason)."""

    msgids: tuple[int, ...]
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A message of the inbox: received (from ``peer``) or sent (to ``peer``)."""

    qid: int
    received: bool
    read: bool
    when: int
    subject: str
    body: str
    peer: str
    #: The number of the message it answers (XEP-0461), when that is kept here.
    parent: int | None = None


@dataclass(frozen=True, slots=True)
class Marked:
    """A message ``setmessageread`` named: its number, and whether it was read already."""

    id: int
    already: bool


def xml_safe(text: str) -> bool:
    """Whether every character can be carried in XML 1.0 (and so in XMPP)."""
    return not any(
        (ord(ch) < 0x20 and ch not in "\t\n\r")
        or 0xD800 <= ord(ch) <= 0xDFFF
        or ord(ch) in (0xFFFE, 0xFFFF)
        for ch in text
    )


def check_subject(subject: str) -> None:
    if len(subject) > MAX_SUBJECT:
        raise LetterError(
            Refusal.INVALID,
            f"the subject has {len(subject):,} characters; at most {MAX_SUBJECT} are allowed",
        )
    if any(ch in LINE_BREAKS for ch in subject):
        raise LetterError(Refusal.INVALID, "the subject may not contain line breaks")
    if not xml_safe(subject):
        raise LetterError(Refusal.BAD_TEXT, "the subject has characters XMPP cannot carry")


def check_body(body: str) -> None:
    if not body.strip():
        raise LetterError(Refusal.BODY_EMPTY, "the body is empty")
    if len(body) > MAX_BODY:
        raise LetterError(
            Refusal.BODY_TOO_LONG,
            f"the body has {len(body):,} characters; at most {MAX_BODY:,} are allowed",
        )
    if not xml_safe(body):
        raise LetterError(Refusal.BAD_TEXT, "the body has characters XMPP cannot carry")


def recipients(to: Sequence[str]) -> list[str]:
    """The recipients' bare addresses, lower-cased, each once, in order given; a
    malformed one (or one that is no person's: a server, an address with a resource)
    is BAD_ADDRESS naming it."""
    found: dict[str, None] = {}
    if not to:
        raise LetterError(Refusal.MISSING, "to names no recipient")
    for text in to:
        address = text.strip().lower()
        try:
            parsed = jids.Jid.parse(address)
        except InvalidAddress as exc:
            raise LetterError(Refusal.BAD_ADDRESS, f"{text}: {exc.message}") from None
        if not address or not parsed.local or parsed.resource:
            raise LetterError(Refusal.BAD_ADDRESS, f"{text} is not a person's bare address")
        found[parsed.bare] = None
    return list(found)


class LettersApi:
    """Sending letters, the inbox, and marking letters read, for one account at a time."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core

    def is_account(self, account: str) -> bool:
        return self._core.accounts.find(account) is not None

    async def send(
        self,
        account: str,
        to: Sequence[str],
        body: str,
        subject: str = "",
        parent: int | None = None,
    ) -> Sent:
        """Send the letter to every recipient, or to none: each address is checked
        first (malformed or unknown: BAD_ADDRESS naming it; one that cannot receive, a
        room or someone blocked: INVALID with every such reason joined by "; ")."""
        check_subject(subject)
        check_body(body)
        addresses = recipients(to)
        answered = self._message(account, parent) if parent is not None else None
        if answered is not None and answered.peer not in addresses:
            raise LetterError(
                Refusal.INVALID,
                f"parent {parent} is a message with {answered.peer}, who is not a recipient",
            )
        kinds = await asyncio.gather(
            *(self._api.windows.kind_of(account, address) for address in addresses)
        )
        reasons = []
        for address, kind in zip(addresses, kinds, strict=True):
            if kind is ConversationKind.GROUPCHAT:
                reasons.append(f"{address} is a group chat, not a person")
            elif self._core.blocking.is_blocked(account, address):
                reasons.append(f"{address} is blocked")
        if reasons:
            raise LetterError(Refusal.INVALID, "; ".join(reasons))
        msgids: list[int] = []
        errors: list[str] = []
        for address in addresses:
            reply_to = answered if answered is not None and answered.peer == address else None
            try:
                message = await self._api.messages.send(
                    account, address, body, subject=subject, reply_to=reply_to, letter=True
                )
            except ApiError as exc:
                errors.append(f"{address}: {exc.message}")
                continue
            assert message.id is not None  # (stored)
            msgids.append(message.id)
        return Sent(tuple(msgids), tuple(errors))

    def _message(self, account: str, message_id: int) -> Message:
        """The account's one-to-one message ``message_id`` (INVALID when none)."""
        message = self._core.store.get_by_id(message_id) if 0 < message_id < 2**63 else None
        if (
            message is None
            or message.account != account
            or message.kind is not ConversationKind.CHAT
            or message.removed
        ):
            raise LetterError(Refusal.INVALID, f"there is no message {message_id}")
        return message

    def inbox(
        self,
        account: str,
        *,
        itemshow: int = MAX_ITEMS,
        skip: int = 0,
        lastsync: float | None = None,
        received: bool | None = None,
    ) -> list[InboxItem]:
        """The account's one-to-one messages, newest first: ``itemshow`` (1 to 100) of
        them after the ``skip`` (0 to 100) newest, none older than ``lastsync`` (Unix
        time), only received or only sent ones if ``received`` says so."""
        if not 1 <= itemshow <= MAX_ITEMS:
            raise LetterError(Refusal.OUT_OF_RANGE, f"itemshow is from 1 to {MAX_ITEMS}")
        if not 0 <= skip <= MAX_SKIP:
            raise LetterError(Refusal.OUT_OF_RANGE, f"skip is from 0 to {MAX_SKIP}")
        direction = (
            None if received is None else (Direction.INCOMING if received else Direction.OUTGOING)
        )
        messages = self._core.store.letters(
            account, direction=direction, since=lastsync or 0.0, limit=itemshow, skip=skip
        )
        positions: dict[ConversationKey, int] = {}
        items = []
        for m in messages:
            if m.key not in positions:
                positions[m.key] = self._core.conversations.own_position(m.key)
            assert m.id is not None
            items.append(
                InboxItem(
                    qid=m.id,
                    received=m.direction is Direction.INCOMING,
                    read=0 < m.sequence <= positions[m.key],
                    when=int(m.timestamp),
                    subject=m.subject,
                    body=m.body,
                    peer=m.peer,
                    parent=self._parent(m),
                )
            )
        return items

    def _parent(self, message: Message) -> int | None:
        if not message.reply_to:
            return None
        found = self._core.store.get(
            message.account, message.peer, message.reply_to, ConversationKind.CHAT
        )
        return found.id if found is not None else None

    async def set_read(self, account: str, ids: Sequence[int]) -> list[Marked]:
        """Mark the messages ``ids`` read: each conversation's read position moves
        forward to the newest of them (and the senders get a displayed marker, XEP-0333).
        Every id is checked first (one that is no message of the account: INVALID)."""
        if not ids:
            raise LetterError(Refusal.MISSING, "no message is named")
        messages = [self._message(account, i) for i in ids]
        newest: dict[ConversationKey, int] = {}
        marked = []
        for m in messages:
            position = self._core.conversations.own_position(m.key)
            assert m.id is not None
            marked.append(Marked(m.id, 0 < m.sequence <= position))
            newest[m.key] = max(newest.get(m.key, 0), m.sequence)
        for key, sequence in newest.items():
            await self._core.messaging.mark_read(key, sequence)
        return marked
