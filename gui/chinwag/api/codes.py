"""The values of the automation API's contract (``automation-api.md`` sections 2, 3 and 6)
that do not depend on a transport: result codes, error codes and their HRESULTs, MISTATUS
values, message types, delivery statuses and report flags.

Standard library only: ``chinwag-remote`` and :mod:`chinwag.automation.constants` import
this without loading the core or dbus-next."""

from __future__ import annotations

import enum

S_OK = 0
S_FALSE = 1


class Code(enum.StrEnum):
    """An error of the API (spec section 2); the value is the spec's name."""

    FAIL = "Fail"
    INVALID_ARGUMENT = "InvalidArgument"
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_LOGGED_ON = "NotLoggedOn"
    INVALID_PASSWORD = "InvalidPassword"
    CONNECT = "Connect"
    USER_NOT_FOUND = "UserNotFound"
    ALREADY_IN_LIST = "AlreadyInList"
    DISCONNECTED = "Disconnected"
    MESSAGE_TOO_LONG = "MessageTooLong"
    TLS_FAIL = "TlsFail"
    INVALID_CERTIFICATE = "InvalidCertificate"
    GROUP_ALREADY_EXISTS = "GroupAlreadyExists"
    GROUP_DOES_NOT_EXIST = "GroupDoesNotExist"
    BAD_GROUP_NAME = "BadGroupName"
    USER_NOT_GROUP_MEMBER = "UserNotGroupMember"
    # The Telepathy errors of Messages1.SendMessage: the E_FAIL family.
    NETWORK_ERROR = "NetworkError"
    INVALID_HANDLE = "InvalidHandle"
    OFFLINE = "Offline"
    NOT_AVAILABLE = "NotAvailable"
    PERMISSION_DENIED = "PermissionDenied"


#: Error name -> HRESULT (unsigned), spec section 2.
HRESULTS: dict[str, int] = {
    Code.FAIL: 0x80004005,
    Code.INVALID_ARGUMENT: 0x80070057,
    Code.NOT_IMPLEMENTED: 0x80004001,
    Code.NOT_LOGGED_ON: 0x8100031E,
    Code.INVALID_PASSWORD: 0x81000303,
    Code.CONNECT: 0x81000301,
    Code.USER_NOT_FOUND: 0x8100030A,
    Code.ALREADY_IN_LIST: 0x8100030B,
    Code.DISCONNECTED: 0x8100030C,
    Code.MESSAGE_TOO_LONG: 0x8100033F,
    Code.TLS_FAIL: 0x81000361,
    Code.INVALID_CERTIFICATE: 0x81000368,
    Code.GROUP_ALREADY_EXISTS: 0x8100034B,
    Code.GROUP_DOES_NOT_EXIST: 0x8100034D,
    Code.BAD_GROUP_NAME: 0x81000351,
    Code.USER_NOT_GROUP_MEMBER: 0x8100034E,
    Code.NETWORK_ERROR: 0x80004005,
    Code.INVALID_HANDLE: 0x80004005,
    Code.OFFLINE: 0x80004005,
    Code.NOT_AVAILABLE: 0x80004005,
    Code.PERMISSION_DENIED: 0x80004005,
}


def signed(hresult: int) -> int:
    """An HRESULT as the signed 32-bit ``i`` that event arguments named ``hr`` carry."""
    return hresult - (1 << 32) if hresult & 0x80000000 else hresult


def hr_of(name: str) -> int:
    """The signed ``hr`` for an error name (``"NotLoggedOn"`` -> -2130705634)."""
    return signed(HRESULTS[name])


class MiStatus(enum.IntEnum):
    """MISTATUS values, spec section 3 (the core's ``Status`` has the same values)."""

    UNKNOWN = 0x00
    OFFLINE = 0x01
    ONLINE = 0x02
    INVISIBLE = 0x06
    BUSY = 0x0A
    BE_RIGHT_BACK = 0x0E
    IDLE = 0x12
    AWAY = 0x22
    ON_THE_PHONE = 0x32
    OUT_TO_LUNCH = 0x42
    #: LOCAL_CONNECTING_TO_SERVER: reported while signing in, never set.
    CONNECTING = 0x200


class MessageType(enum.IntEnum):
    """Telepathy ``message-type`` of a message's header."""

    NORMAL = 0
    ACTION = 1
    NOTICE = 2
    DELIVERY_REPORT = 4


class DeliveryStatus(enum.IntEnum):
    """Telepathy ``delivery-status`` of a delivery report."""

    DELIVERED = 1
    TEMPORARILY_FAILED = 2
    PERMANENTLY_FAILED = 3
    ACCEPTED = 4
    READ = 5
    DELETED = 6


#: ``message-type`` of a delivery report.
MESSAGE_TYPE_DELIVERY_REPORT = int(MessageType.DELIVERY_REPORT)

#: SendMessage ``flags``: which delivery reports the caller wants.
REPORT_DELIVERY = 1
REPORT_READ = 2
REPORT_DELETED = 4
REPORT_FLAGS = REPORT_DELIVERY | REPORT_READ | REPORT_DELETED

#: Header keys a client must not supply to SendMessage.
FORBIDDEN_HEADER_KEYS = frozenset(
    {
        "message-sender",
        "message-sender-id",
        "message-sent",
        "message-received",
        "pending-message-id",
    }
)

#: SigninWithOptions options and the Python type of each value.
SIGNIN_OPTIONS: dict[str, type] = {
    "host": str,
    "port": int,
    "register": bool,
    "remember": bool,
    "resource": str,
    "trusted_fingerprint": str,
    "link-local": bool,
}

#: GetReceived's ``limit``: at least 1, at most this.
RECEIVED_LIMIT = 1000
