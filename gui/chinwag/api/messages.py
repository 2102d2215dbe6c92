"""``Messages1`` (automation-api.md section 6 and 6a): one-off sending, and the received
log a script catches up from.

Messages are Telepathy message parts as plain values: a list of dicts, part 0 the header.
A received message or delivery report is rendered by :func:`received_parts`, for the
``MessageReceived`` event and for ``GetReceived`` alike, so both carry exactly the same
thing; its header's ``account`` is the account's bare address (a front names it its own
way, D-Bus with the account's object path)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chinwag.api.codes import (
    FORBIDDEN_HEADER_KEYS,
    MESSAGE_TYPE_DELIVERY_REPORT,
    RECEIVED_LIMIT,
    REPORT_FLAGS,
    Code,
)
from chinwag.api.errors import ApiError, invalid
from chinwag.core import jid as jids
from chinwag.core.attachments import TransferError
from chinwag.core.errors import (
    AccountDisabled,
    ChinwagError,
    InvalidAddress,
    InvalidMessage,
    NotConnected,
    PasswordUnavailable,
    UnknownAccount,
)
from chinwag.core.models import (
    ConversationKey,
    ConversationKind,
    Message,
    MessageType,
    Origin,
    Received,
    Report,
)

if TYPE_CHECKING:
    from chinwag.api.service import Api

log = logging.getLogger(__name__)

#: GetReceived's answer holds at most about this much (the texts in UTF-8, and
#: :data:`ENTRY_BYTES` for each entry's header): well under D-Bus's limits (an array at
#: most 64 MiB), and no reply that takes seconds to write.
RECEIVED_BYTES = 16 * 1024 * 1024
ENTRY_BYTES = 512

#: Telepathy message parts: part 0 the header, then content parts.
Parts = list[dict[str, Any]]


def message_parts(message: Message, extra: dict[str, Any] | None = None) -> Parts:
    """A stored message as Telepathy parts (header and one text/plain part)."""
    header: dict[str, Any] = {
        "message-token": message.uid,
        "message-type": int(message.mtype),
        "message-sent": int(message.timestamp),
    }
    if extra:
        header.update(extra)
    return [header, {"content-type": "text/plain", "content": message.body}]


def received_parts(entry: Received) -> Parts:
    """An entry of the received log as ``MessageReceived`` carries it: a message, or a
    delivery report (``message-type`` 4, no content)."""
    message = entry.message
    if entry.report is None:
        extra: dict[str, Any] = {
            "message-sender-id": message.peer,
            "message-received": entry.at,
            "account": entry.account,
            "message-sequence": entry.sequence,
        }
        if message.origin is Origin.ARCHIVE:
            extra["scrollback"] = True
        return message_parts(message, extra)
    header: dict[str, Any] = {
        "message-token": f"{message.uid}.report.{int(entry.report)}",
        "message-type": MESSAGE_TYPE_DELIVERY_REPORT,
        "message-sender-id": message.peer,
        "message-received": entry.at,
        "account": entry.account,
        "delivery-status": int(entry.report),
        "delivery-token": message.uid,
        "message-sequence": entry.sequence,
    }
    if entry.error or entry.report is Report.PERMANENTLY_FAILED:
        header["delivery-error-message"] = entry.error or "not delivered"
    return [header]


#: Chinwag's part key that attaches a file to ``SendMessage`` (README, "Sending files"):
#: a content part ``{"content-type": <its type>, "chinwag-file-path": <absolute path>}``.
#: The file is uploaded (XEP-0363) and sent as its link (XEP-0066); with it, a text part
#: is optional (when given, the text goes first, as a message of its own).
FILE_PART_KEY = "chinwag-file-path"


def parse_file_part(parts: Parts) -> str | None:
    """The path a content part attaches (:data:`FILE_PART_KEY`), or None; InvalidHandle
    when it is not one absolute path, or more than one file is attached."""
    found: list[str] = []
    for n, part in enumerate(parts[1:], 1):
        if FILE_PART_KEY not in part or part.get("content-type") is None:
            continue
        path = part[FILE_PART_KEY]
        if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
            raise ApiError(
                Code.INVALID_HANDLE,
                f"malformed message: part {n}: {FILE_PART_KEY} is an absolute path (s)",
            )
        found.append(path)
    if len(found) > 1:
        raise ApiError(Code.INVALID_HANDLE, "malformed message: one file per message")
    return found[0] if found else None


def parse_message_parts(parts: Parts) -> tuple[str, MessageType]:
    """Telepathy message parts -> (text, message type); InvalidHandle when malformed.

    Values are plain; a value of the wrong type for its key (``message-type`` is an
    unsigned integer, ``content-type``, ``alternative`` and ``content`` strings) is
    refused whatever it is, so a front passes a value it could not type as something
    that is none of these."""

    def bad(text: str) -> ApiError:
        return ApiError(Code.INVALID_HANDLE, f"malformed message: {text}")

    if not parts:
        raise bad("no parts (part 0 is the header)")
    header = parts[0]
    forbidden = sorted(FORBIDDEN_HEADER_KEYS & header.keys())
    if forbidden:
        raise bad(f"the sender may not set {', '.join(forbidden)}")
    mtype = MessageType.NORMAL
    if "message-type" in header:
        value = header["message-type"]
        if type(value) is not int or value not in {t.value for t in MessageType}:
            raise bad("message-type is a u: 0 normal, 1 action or 2 notice")
        mtype = MessageType(value)
    texts: list[str] = []
    alternatives: set[str] = set()
    for n, part in enumerate(parts[1:], 1):
        content_type = part.get("content-type")
        if content_type is None:
            continue  # a part without content-type is ignored
        if FILE_PART_KEY in part:
            continue  # a file (see parse_file_part), whatever its type
        if not isinstance(content_type, str):
            raise bad(f"part {n}: content-type is a string")
        if content_type.split(";")[0].strip().lower() != "text/plain":
            continue
        alternative = part.get("alternative")
        if alternative is not None:
            if not isinstance(alternative, str):
                raise bad(f"part {n}: alternative is a string")
            if alternative in alternatives:
                continue  # another form of a text already taken
            alternatives.add(alternative)
        content = part.get("content")
        if not isinstance(content, str):
            raise bad(f"part {n}: a text/plain part needs a string content")
        texts.append(content)
    if not texts:
        if parse_file_part(parts) is not None:
            return "", mtype  # (a file alone)
        raise bad("no text/plain part")
    return "\n".join(texts), mtype


class MessagesApi:
    """One-off sending without a window, and the received log."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._core = api.core

    def sending_account(self, account: str | None) -> str:
        """The account to send from: None = the primary one (NotAvailable when there is
        none), else an account's address (InvalidHandle when it is not one)."""
        if account is None:
            primary = self._core.primary
            if primary is None:
                raise ApiError(Code.NOT_AVAILABLE, "there is no account to send from")
            return primary
        config = self._core.accounts.find(account)
        if config is None:
            raise ApiError(Code.INVALID_HANDLE, f"{account} is not an account")
        return config.jid

    async def send_parts(
        self, account: str | None, target_id: str, parts: Parts, flags: int
    ) -> str:
        """``SendMessage``: returns the token once the message is stored for sending."""
        sender = self.sending_account(account)
        try:
            target = jids.Jid.parse(target_id).bare
        except InvalidAddress as exc:
            raise ApiError(Code.INVALID_HANDLE, f"bad target: {exc.message}") from exc
        if flags & ~REPORT_FLAGS:
            raise ApiError(Code.NOT_IMPLEMENTED, f"unknown flags 0x{flags & ~REPORT_FLAGS:X}")
        body, mtype = parse_message_parts(parts)
        path = parse_file_part(parts)
        if path is not None:
            if body:
                await self.send(sender, target, body, mtype=mtype, flags=flags)
            return (await self.send_file(sender, target, path, flags=flags)).uid
        message = await self.send(sender, target, body, mtype=mtype, flags=flags)
        return message.uid

    async def send_file(
        self,
        account: str,
        target: str,
        path: str,
        kind: ConversationKind = ConversationKind.CHAT,
        *,
        flags: int = 0,
    ) -> Message:
        """Store a message with the file at ``path`` for ``target`` and upload it (the
        message is sent with its link once uploaded; see ``chinwag.core.files``).
        InvalidHandle when the file cannot be read; NotImplemented without file support."""
        files = self._core.files
        if files is None:
            raise ApiError(Code.NOT_IMPLEMENTED, "this profile cannot send files")
        await self._can_send(account)
        try:
            return await files.send_file(
                ConversationKey(account, target, kind), path, connect=True, flags=flags
            )
        except TransferError as exc:
            raise ApiError(Code.INVALID_HANDLE, exc.message) from exc
        except (InvalidMessage, UnknownAccount) as exc:
            raise ApiError(Code.INVALID_HANDLE, exc.message) from exc
        except (AccountDisabled, NotConnected) as exc:
            raise ApiError(Code.DISCONNECTED, exc.message) from exc
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc

    async def send(
        self,
        account: str,
        target: str,
        body: str,
        *,
        mtype: MessageType = MessageType.NORMAL,
        flags: int = 0,
        subject: str = "",
        reply_to: Message | None = None,
        letter: bool = False,
    ) -> Message:
        """Store ``body`` for sending to ``target`` (a bare address) and send it, with no
        window: an account enabled but not connected is connected and the message waits.
        Straight to the core, whatever windows are open: an open window with the target
        shows it from the core's event, as one typed in it. ``letter``: sent as a single
        message, type normal, with its ``subject`` if any; ``reply_to``: the message it
        answers."""
        await self._can_send(account)
        try:
            return await self._core.messaging.send(
                account,
                target,
                body,
                mtype=mtype,
                flags=flags,
                connect=True,
                subject=subject,
                reply_to=reply_to,
                letter=letter,
            )
        except (InvalidMessage, UnknownAccount) as exc:
            raise ApiError(Code.INVALID_HANDLE, exc.message) from exc
        except (AccountDisabled, NotConnected) as exc:
            raise ApiError(Code.DISCONNECTED, exc.message) from exc
        except ChinwagError as exc:
            raise ApiError.from_core(exc) from exc

    async def _can_send(self, account: str) -> None:
        """Offline, with the reason, for an account that cannot sign in until someone
        acts (the spec's "connected, and the message waits" cannot happen: the message
        would wait forever). Disabled and signed-out accounts are the core's to refuse."""
        core = self._core
        session = core.sessions.get(account)
        if session is None or not session.config.enabled or session.signed_out:
            return
        error = self._api.cannot_sign_in(account)
        if error is not None:
            raise ApiError(
                Code.OFFLINE, f"{account} cannot sign in: {error.message}; sign in again when fixed"
            )
        if session.wanted:
            return  # signing in, or retrying: the message waits for it
        # Not signing in: SendMessage would start it. Without a password it cannot work.
        try:
            stored = await core.accounts.load_password(account)
        except PasswordUnavailable:
            return  # the keyring may yet answer: the message waits, the session retries
        if stored is None:
            raise ApiError(
                Code.OFFLINE,
                f"{account} cannot sign in: no password is stored for {account}; "
                "sign in with one (Signin)",
            )

    def received(
        self, account: str | None, after: int, limit: int, max_bytes: int = RECEIVED_BYTES
    ) -> list[Parts]:
        """``GetReceived``: the messages and reports of ``account`` (None: the primary
        one) whose ``message-sequence`` is greater than ``after``, oldest first, at most
        ``limit`` (1 to 1,000), each exactly as its ``MessageReceived`` carried it.

        Fewer than ``limit`` when their texts would pass ``max_bytes`` (UTF-8; at least
        one entry is always given): a transport carries only so much in one answer (a
        D-Bus message at most 128 MiB), and paging on from the last one gets the rest."""
        if not 1 <= limit <= RECEIVED_LIMIT:
            raise invalid(f"limit is from 1 to {RECEIVED_LIMIT}, not {limit}")
        if account is None:
            account = self._core.primary
            if account is None:
                raise invalid("there is no account yet")
        elif self._core.accounts.find(account) is None:
            raise invalid(f"{account} is not an account")
        page: list[Parts] = []
        size = 0
        for entry in self._core.messaging.received(account, after, limit):
            body = entry.message.body if entry.report is None else ""
            size += ENTRY_BYTES + (len(body) if body.isascii() else len(body.encode()))
            if page and size > max_bytes:
                break
            page.append(received_parts(entry))
        return page

    def last_sequence(self, account: str) -> int:
        """The last ``message-sequence`` of the account (0: nothing received yet)."""
        return self._core.messaging.last_received(account)
