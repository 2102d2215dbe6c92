"""What scripts and ``chinwag-remote`` share with the automation API, as plain values: the bus
name, object paths, interface and signal names, result codes, error names with their
HRESULTs, MISTATUS values, message types, report flags and delivery statuses
(``docs/automation-api.md``).

Only the standard library is imported here, so a command line that needs a name or a
status (``chinwag-remote --help``, a usage error) starts without loading dbus-next.
:mod:`chinwag.automation.names` adds what needs dbus-next (the D-Bus error for a name) and
re-exports all of this for the server."""

from __future__ import annotations

import enum

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

#: The bus itself, and the standard interface every object's properties are read through.
DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES = "org.freedesktop.DBus.Properties"

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


#: The signals of Messenger1 and of Messages1, as ``watch`` and scripts follow them.
MESSENGER_SIGNALS: tuple[str, ...] = (
    "OnSignin",
    "OnSignout",
    "OnMyStatusChange",
    "OnContactStatusChange",
    "OnContactListAdd",
    "OnContactListRemove",
    "OnContactFriendlyNameChange",
    "OnMyFriendlyNameChange",
    "OnContactBlockChange",
    "OnIMWindowCreated",
    "OnIMWindowDestroyed",
    "OnIMWindowContactAdded",
    "OnIMWindowContactRemoved",
    "OnGroupAdded",
    "OnGroupRemoved",
    "OnGroupNameChanged",
    "OnContactAddedToGroup",
    "OnContactRemovedFromGroup",
    "OnAppShutdown",
)
MESSAGES_SIGNALS: tuple[str, ...] = ("MessageSent", "MessageReceived", "StorageChanged")


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

#: SigninWithOptions options and their D-Bus signatures.
SIGNIN_OPTIONS = {
    "host": "s",
    "port": "u",
    "register": "b",
    "remember": "b",
    "resource": "s",
    "trusted_fingerprint": "s",
}
