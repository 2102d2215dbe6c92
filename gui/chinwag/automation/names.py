"""The fixed names of the automation API (``shared/spec/automation-api.md``): the bus name,
object paths, interface names, result codes, error names with their HRESULTs, and the
Telepathy message constants. Everything a script can see by name is spelled here once;
the server and ``chinwag-remote`` both import it."""

from __future__ import annotations

import enum

from dbus_next import DBusError

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER_PATH = ROOT
MAIN_WINDOW_PATH = f"{ROOT}/window/main"
WINDOW_PATH = f"{ROOT}/window/{{n}}"
CONTACT_PATH = f"{ROOT}/contact/{{n}}"
GROUP_PATH = f"{ROOT}/group/{{n}}"
ACCOUNT_PATH = f"{ROOT}/account/{{n}}"

MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
WINDOW = "im.chinwag.Window1"
CONVERSATION_WINDOW = "im.chinwag.ConversationWindow1"
CONTACT = "im.chinwag.Contact1"
GROUP = "im.chinwag.Group1"
ACCOUNT = "im.chinwag.Account1"

ERROR_PREFIX = "im.chinwag.Error."
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"

S_OK = 0
S_FALSE = 1

#: Closed conversation windows kept answering S_FALSE before the oldest is unexported.
CLOSED_WINDOW_CAP = 1024

#: Error name -> HRESULT (unsigned), spec section 2.
HRESULTS: dict[str, int] = {
    "Fail": 0x80004005,
    "InvalidArgument": 0x80070057,
    "NotImplemented": 0x80004001,
    "NotLoggedOn": 0x8100031E,
    "InvalidPassword": 0x81000303,
    "Connect": 0x81000301,
    "UserNotFound": 0x8100030A,
    "AlreadyInList": 0x8100030B,
    "Disconnected": 0x8100030C,
    "MessageTooLong": 0x8100033F,
    "TlsFail": 0x81000361,
    "InvalidCertificate": 0x81000368,
    "GroupAlreadyExists": 0x8100034B,
    "GroupDoesNotExist": 0x8100034D,
    "BadGroupName": 0x81000351,
    "UserNotGroupMember": 0x8100034E,
    # The Telepathy errors of Messages1.SendMessage: the E_FAIL family.
    "NetworkError": 0x80004005,
    "InvalidHandle": 0x80004005,
    "Offline": 0x80004005,
    "NotAvailable": 0x80004005,
    "PermissionDenied": 0x80004005,
}


def signed(hresult: int) -> int:
    """An HRESULT as the signed 32-bit ``i`` that event arguments named ``hr`` carry."""
    return hresult - (1 << 32) if hresult & 0x80000000 else hresult


def hr_of(name: str) -> int:
    """The signed ``hr`` for an error name (``"NotLoggedOn"`` -> -2130705634)."""
    return signed(HRESULTS[name])


def api_error(name: str, text: str) -> DBusError:
    """The D-Bus error for ``name``: ``im.chinwag.Error.<name>``, message
    ``0x8100031E: not signed in``."""
    return DBusError(ERROR_PREFIX + name, f"0x{HRESULTS[name]:08X}: {text}")


class DeliveryStatus(enum.IntEnum):
    """Telepathy ``delivery-status`` of a delivery report."""

    DELIVERED = 1
    TEMPORARILY_FAILED = 2
    PERMANENTLY_FAILED = 3
    ACCEPTED = 4
    READ = 5
    DELETED = 6


#: ``message-type`` of a delivery report.
MESSAGE_TYPE_DELIVERY_REPORT = 4

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

#: SigninWithOptions options and their D-Bus signatures.
SIGNIN_OPTIONS = {
    "host": "s",
    "port": "u",
    "register": "b",
    "remember": "b",
    "resource": "s",
    "trusted_fingerprint": "s",
}
