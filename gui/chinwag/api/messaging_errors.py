"""The errors of the Conversations API (conversations-api.md section 2): a numbered code,
its name, and a sentence. A front renders them in its own terms (D-Bus:
``im.chinwag.Error.Messaging.<Name>`` with ``<code>: <sentence>``). :func:`from_core`
maps the core's errors, and the XMPP conditions they carry, as the spec says."""

from __future__ import annotations

from chinwag.core import errors as core

#: code -> Name (spec section 2).
NAMES: dict[int, str] = {
    0: "SomethingWentWrong",
    3: "NotAuthorized",
    8: "ConversationDoesNotExist",
    10: "MessageDoesNotExist",
    11: "MessageDeleted",
    12: "Acl",
    13: "AlreadyInParticipantsList",
    15: "PublicJoinIsUnavailable",
    16: "ConversationDeleted",
    18: "UserValidation",
    19: "UserIsNotInTheParticipantList",
    21: "RequestedNumberTooBigOr0",
    22: "RequestedNumberTooBig",
    23: "MessageSizeExceedsLimit",
    24: "WrongSequenceArgument",
    25: "UserNotFound",
    26: "NotificationEventIncorrect",
    28: "FromGreaterThanTo",
    30: "ImServiceUnavailable",
    34: "DirectCannotBePublicOrUber",
    35: "NumberOfUsersInDirect",
    37: "AddingToDirect",
    38: "RemovingFromDirect",
    39: "EditingParticipantsInDirect",
    40: "LeavingDirectNotAllowed",
    500: "Internal",
    10000: "MethodCallDiscarded",
    10001: "InvalidArguments",
    10002: "Timeout",
    10003: "ClientNotLoggedIn",
}

#: An XMPP error condition -> code, for a room (spec section 2; item-not-found of a
#: message is 10, see :func:`from_condition`).
CONDITIONS: dict[str, int] = {
    "item-not-found": 8,
    "gone": 16,
    "forbidden": 12,
    "not-allowed": 12,
    "registration-required": 15,
    "conflict": 13,
    "not-authorized": 3,
    "service-unavailable": 30,
    "remote-server-not-found": 30,
    "remote-server-timeout": 30,
    "bad-request": 10001,
    "jid-malformed": 10001,
    "timeout": 10002,
    "internal-server-error": 500,
}


class MessagingError(Exception):
    """A refusal of the Conversations API: ``code`` (section 2) and a sentence."""

    def __init__(self, code: int, message: str) -> None:
        if code not in NAMES:
            raise ValueError(f"no messaging error {code}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def name(self) -> str:
        return NAMES[self.code]


def from_condition(condition: str, message: str, *, about_message: bool = False) -> MessagingError:
    """The error for an XMPP condition (``about_message``: item-not-found names a
    message, 10, not a conversation)."""
    if about_message and condition == "item-not-found":
        return MessagingError(10, message)
    return MessagingError(CONDITIONS.get(condition, 0), message)


def from_core(error: core.ChinwagError, *, about_message: bool = False) -> MessagingError:
    """The error for one of the core's: what it carries (a room's or the server's
    condition), or what it is (not connected, a bad argument, too long)."""
    if isinstance(error, core.RequestRefused) and error.condition:
        return from_condition(error.condition, error.message, about_message=about_message)
    if isinstance(error, core.NotConnected | core.AccountDisabled):
        return MessagingError(10003, error.message)
    if isinstance(error, core.MessageTooLong):
        return MessagingError(23, error.message)
    if isinstance(error, core.InvalidAddress | core.InvalidMessage | core.UnknownAccount):
        return MessagingError(10001, error.message)
    if isinstance(error, core.ContactNotFound):
        return MessagingError(25, error.message)
    if isinstance(error, core.ServerUnreachable):
        return MessagingError(30, error.message)
    return MessagingError(0, error.message)
