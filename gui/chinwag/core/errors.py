"""Typed errors the core raises and reports, in the core's own terms: what went wrong,
never how a front spells it (``chinwag.api.errors`` maps each to an API code)."""

from __future__ import annotations


class ChinwagError(Exception):
    """Base of every error Chinwag reports to a user or a script."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAddress(ChinwagError):
    """Not a valid XMPP address."""


class MessageTooLong(ChinwagError):
    """A message body over the limit."""


class InvalidMessage(ChinwagError):
    """A message with nothing to send (empty text), or otherwise malformed."""


class NotConnected(ChinwagError):
    """The account is not signed in and was signed out on purpose (nothing will send it)."""


class AccountDisabled(ChinwagError):
    """The account is disabled."""


class UnknownAccount(ChinwagError):
    """No account with that address or id."""


class InvalidStatus(ChinwagError):
    """A status value one cannot set (unknown, or a state such as Connecting)."""


class ContactNotFound(ChinwagError):
    """No such contact in the contact list."""


class AlreadyInList(ChinwagError):
    """The contact is already in the contact list."""


class BadGroupName(ChinwagError):
    """A group name that is empty, too long or has control characters."""


class GroupExists(ChinwagError):
    """A group of that name exists already."""


class NoSuchGroup(ChinwagError):
    """No group of that name."""


class NotGroupMember(ChinwagError):
    """The contact is not in that group."""


class UserDataInvalid(ChinwagError):
    """User data that cannot be kept: not a JSON object, or over the size limit."""


class RequestRefused(ChinwagError):
    """The server refused a request (roster change, block, ...) or did not answer it."""

    def __init__(self, message: str, condition: str = "") -> None:
        super().__init__(message)
        #: The XMPP error condition (``item-not-found``, ``not-allowed``, ...) or "timeout".
        self.condition = condition


class RoomRefused(RequestRefused):
    """A room refused us: to join (``forbidden``: banned; ``registration-required``:
    members only; ``not-authorized``: a password; ``item-not-found``: no such room and
    not created on joining; ``conflict``: the nick is taken; ``service-unavailable``:
    full), or an action (``not-allowed``, ``forbidden``: not permitted). ``condition`` is
    the XMPP condition, or "timeout"."""


class ConnectionFailure(ChinwagError):
    """Base of the errors that end a sign-in attempt."""


class AuthenticationFailed(ConnectionFailure):
    """The server refused the credentials."""


class PasswordUnavailable(ConnectionFailure):
    """The password store did not answer in time (a keyring waiting for the user to unlock
    it, say). Retrying can fix it: the session tries again, and the store answers from
    its file meanwhile."""


class ServerUnreachable(ConnectionFailure):
    """No TCP connection to the server could be made (DNS, refused, timed out)."""


class StorageUnavailable(ChinwagError):
    """History cannot be written now (the disk is full, an I/O error, a read-only file):
    a condition of the machine, not of the message, so the write is worth retrying."""


class CertificateUntrusted(ConnectionFailure):
    """The server's certificate is not trusted (and no pinned fingerprint matches it)."""

    def __init__(self, message: str, fingerprint: str = "") -> None:
        super().__init__(message)
        #: SHA-256 of the presented certificate (hex), so a user can choose to pin it.
        self.fingerprint = fingerprint


class TlsFailure(ConnectionFailure):
    """TLS could not be set up at all (no STARTTLS offered, handshake failure)."""


class RegistrationFailed(ConnectionFailure):
    """In-band registration was refused (name taken, registration closed, ...)."""


class ResourceConflict(ConnectionFailure):
    """Another client signed in with the same address and resource and replaced us.
    Reconnecting would replace it in turn, back and forth: stop instead."""


class StreamError(ConnectionFailure):
    """The server ended the stream with an error we cannot recover from by retrying."""


class AvatarRefused(ChinwagError):
    """An avatar was refused: too big, not a picture, or not what was announced."""
