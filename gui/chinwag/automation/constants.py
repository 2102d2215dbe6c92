"""What scripts and ``chinwag-remote`` share with the automation API, as plain values: the bus
name, object paths, interface and signal names, result codes, error names with their
HRESULTs, MISTATUS values, message types, report flags and delivery statuses
(``docs/automation-api.md``).

The transport-neutral values (codes, statuses, message constants) are
:mod:`chinwag.api.codes`'s, re-exported; besides that module only the standard library is
imported here, so a command line that needs a name or a status (``chinwag-remote
--help``, a usage error) starts without loading dbus-next or the core.
:mod:`chinwag.automation.names` adds what needs dbus-next (the D-Bus error for a name) and
re-exports all of this for the server."""

from __future__ import annotations

from chinwag.api.codes import (
    FORBIDDEN_HEADER_KEYS,
    HRESULTS,
    MESSAGE_TYPE_DELIVERY_REPORT,
    RECEIVED_LIMIT,
    REPORT_DELETED,
    REPORT_DELIVERY,
    REPORT_FLAGS,
    REPORT_READ,
    S_FALSE,
    S_OK,
    Code,
    DeliveryStatus,
    MessageType,
    MiStatus,
    hr_of,
    signed,
)

__all__ = [
    "ACCOUNT",
    "ACCOUNT_PATH",
    "BUS_NAME",
    "CLOSED_WINDOW_CAP",
    "CONTACT",
    "CONTACT_PATH",
    "CONVERSATION",
    "CONVERSATIONS",
    "CONVERSATION_PATH",
    "CONVERSATION_WINDOW",
    "DBUS_NAME",
    "DBUS_PATH",
    "ERROR_PREFIX",
    "FORBIDDEN_HEADER_KEYS",
    "GROUP",
    "GROUP_PATH",
    "HRESULTS",
    "MAIN_WINDOW_PATH",
    "MESSAGES",
    "MESSAGES_SIGNALS",
    "MESSAGE_TYPE_DELIVERY_REPORT",
    "MESSAGING_ERROR_PREFIX",
    "MESSENGER",
    "MESSENGER_PATH",
    "MESSENGER_SIGNALS",
    "PROPERTIES",
    "RECEIVED_LIMIT",
    "REPORT_DELETED",
    "REPORT_DELIVERY",
    "REPORT_FLAGS",
    "REPORT_READ",
    "ROOT",
    "SIGNIN_OPTIONS",
    "S_FALSE",
    "S_OK",
    "UNHELD_CONVERSATION_CAP",
    "UNKNOWN_OBJECT",
    "WINDOW",
    "WINDOW_PATH",
    "Code",
    "DeliveryStatus",
    "MessageType",
    "MiStatus",
    "hr_of",
    "signed",
]

BUS_NAME = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
MESSENGER_PATH = ROOT
MAIN_WINDOW_PATH = f"{ROOT}/window/main"
WINDOW_PATH = f"{ROOT}/window/{{n}}"
CONTACT_PATH = f"{ROOT}/contact/{{n}}"
GROUP_PATH = f"{ROOT}/group/{{n}}"
ACCOUNT_PATH = f"{ROOT}/account/{{n}}"
CONVERSATION_PATH = f"{ROOT}/conversation/{{n}}"

MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
WINDOW = "im.chinwag.Window1"
CONVERSATION_WINDOW = "im.chinwag.ConversationWindow1"
CONTACT = "im.chinwag.Contact1"
GROUP = "im.chinwag.Group1"
ACCOUNT = "im.chinwag.Account1"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
#: Conversation objects exported by a signal alone (no client was given them by a method)
#: kept at most: the oldest of more goes (conversations-api.md section 4).
UNHELD_CONVERSATION_CAP = 256

#: The bus itself, and the standard interface every object's properties are read through.
DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES = "org.freedesktop.DBus.Properties"

ERROR_PREFIX = "im.chinwag.Error."
#: The Conversations API's errors (conversations-api.md section 2).
MESSAGING_ERROR_PREFIX = "im.chinwag.Error.Messaging."
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"

#: Closed conversation windows kept answering S_FALSE before the oldest is unexported.
CLOSED_WINDOW_CAP = 1024

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


#: SigninWithOptions options and their D-Bus signatures.
SIGNIN_OPTIONS = {
    "host": "s",
    "port": "u",
    "register": "b",
    "remember": "b",
    "resource": "s",
    "trusted_fingerprint": "s",
    "link-local": "b",
}
