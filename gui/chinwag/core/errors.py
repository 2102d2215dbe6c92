"""Typed errors the core raises and reports. Each maps to one automation-API error name,
so the D-Bus layer can translate without guessing."""

from __future__ import annotations


class ChinwagError(Exception):
    """Base of every error Chinwag reports to a user or a script."""

    #: Name of the automation-API error this maps to (``im.chinwag.Error.<api_name>``).
    api_name = "Fail"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAddress(ChinwagError):
    """Not a valid XMPP address."""

    api_name = "InvalidArgument"


class MessageTooLong(ChinwagError):
    """A message body over the limit."""

    api_name = "MessageTooLong"


class InvalidMessage(ChinwagError):
    """A message with nothing to send (empty text), or otherwise malformed."""

    api_name = "InvalidArgument"


class NotConnected(ChinwagError):
    """The account is not signed in and was signed out on purpose (nothing will send it)."""

    api_name = "NotLoggedOn"


class AccountDisabled(ChinwagError):
    """The account is disabled."""

    api_name = "Disconnected"


class UnknownAccount(ChinwagError):
    """No account with that address or id."""

    api_name = "InvalidArgument"


class InvalidStatus(ChinwagError):
    """A status value one cannot set (unknown, or a state such as Connecting)."""

    api_name = "InvalidArgument"


class ContactNotFound(ChinwagError):
    """No such contact in the contact list."""

    api_name = "UserNotFound"


class AlreadyInList(ChinwagError):
    """The contact is already in the contact list."""

    api_name = "AlreadyInList"


class BadGroupName(ChinwagError):
    """A group name that is empty, too long or has control characters."""

    api_name = "BadGroupName"


class GroupExists(ChinwagError):
    api_name = "GroupAlreadyExists"


class NoSuchGroup(ChinwagError):
    api_name = "GroupDoesNotExist"


class NotGroupMember(ChinwagError):
    api_name = "UserNotGroupMember"


class RequestRefused(ChinwagError):
    """The server refused a request (roster change, block, ...) or did not answer it."""

    def __init__(self, message: str, condition: str = "") -> None:
        super().__init__(message)
        #: The XMPP error condition (``item-not-found``, ``not-allowed``, ...) or "timeout".
        self.condition = condition


class ConnectionFailure(ChinwagError):
    """Base of the errors that end a sign-in attempt."""


class AuthenticationFailed(ConnectionFailure):
    """The server refused the credentials."""

    api_name = "InvalidPassword"


class PasswordUnavailable(ConnectionFailure):
    """The password store did not answer in time (a keyring waiting for the user to unlock
    it, say). Retrying can fix it: the session tries again, and the store answers from
    its file meanwhile."""

    api_name = "Fail"


class ServerUnreachable(ConnectionFailure):
    """No TCP connection to the server could be made (DNS, refused, timed out)."""

    api_name = "Connect"


class StorageUnavailable(ChinwagError):
    """History cannot be written now (the disk is full, an I/O error, a read-only file):
    a condition of the machine, not of the message, so the write is worth retrying."""

    api_name = "Fail"


class CertificateUntrusted(ConnectionFailure):
    """The server's certificate is not trusted (and no pinned fingerprint matches it)."""

    api_name = "InvalidCertificate"

    def __init__(self, message: str, fingerprint: str = "") -> None:
        super().__init__(message)
        #: SHA-256 of the presented certificate (hex), so a user can choose to pin it.
        self.fingerprint = fingerprint


class TlsFailure(ConnectionFailure):
    """TLS could not be set up at all (no STARTTLS offered, handshake failure)."""

    api_name = "TlsFail"


class RegistrationFailed(ConnectionFailure):
    """In-band registration was refused (name taken, registration closed, ...)."""

    api_name = "Fail"


class ResourceConflict(ConnectionFailure):
    """Another client signed in with the same address and resource and replaced us.
    Reconnecting would replace it in turn, back and forth: stop instead."""

    api_name = "Fail"


class StreamError(ConnectionFailure):
    """The server ended the stream with an error we cannot recover from by retrying."""

    api_name = "Connect"
