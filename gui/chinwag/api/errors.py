"""The API's one exception, and the core's errors as API codes.

Every refusal of the API is an :class:`ApiError`: a :class:`~chinwag.api.codes.Code` of
the spec's table and a sentence a person can act on. A front renders it in its own terms
(D-Bus: ``im.chinwag.Error.<Code>`` with ``0x<HRESULT>: <sentence>``). The core raises its
own errors (:mod:`chinwag.core.errors`), which name no API code; :func:`code_of` is the
one table that maps them."""

from __future__ import annotations

from chinwag.api.codes import HRESULTS, S_OK, Code, signed
from chinwag.core import errors as core
from chinwag.core.attachments import TransferError

#: Core error -> API code. Looked up along the class's MRO: a subclass not listed takes
#: its base's code; ChinwagError itself is Fail.
CORE_CODES: dict[type[core.ChinwagError], Code] = {
    core.ChinwagError: Code.FAIL,
    core.InvalidAddress: Code.INVALID_ARGUMENT,
    core.MessageTooLong: Code.MESSAGE_TOO_LONG,
    core.InvalidMessage: Code.INVALID_ARGUMENT,
    core.UserDataInvalid: Code.INVALID_ARGUMENT,
    core.NotConnected: Code.NOT_LOGGED_ON,
    core.AccountDisabled: Code.DISCONNECTED,
    core.UnknownAccount: Code.INVALID_ARGUMENT,
    core.InvalidStatus: Code.INVALID_ARGUMENT,
    core.ContactNotFound: Code.USER_NOT_FOUND,
    core.AlreadyInList: Code.ALREADY_IN_LIST,
    core.BadGroupName: Code.BAD_GROUP_NAME,
    core.GroupExists: Code.GROUP_ALREADY_EXISTS,
    core.NoSuchGroup: Code.GROUP_DOES_NOT_EXIST,
    core.NotGroupMember: Code.USER_NOT_GROUP_MEMBER,
    core.RequestRefused: Code.FAIL,
    core.RoomRefused: Code.FAIL,
    core.ConnectionFailure: Code.FAIL,
    core.AuthenticationFailed: Code.INVALID_PASSWORD,
    core.PasswordUnavailable: Code.FAIL,
    core.ServerUnreachable: Code.CONNECT,
    core.StorageUnavailable: Code.FAIL,
    core.CertificateUntrusted: Code.INVALID_CERTIFICATE,
    core.TlsFailure: Code.TLS_FAIL,
    core.RegistrationFailed: Code.FAIL,
    core.ResourceConflict: Code.FAIL,
    core.StreamError: Code.CONNECT,
    core.AvatarRefused: Code.INVALID_ARGUMENT,
    # a file that cannot be read is the caller's argument; other transfer failures come
    # later, as the attachment's state, not as an error of the call
    TransferError: Code.INVALID_ARGUMENT,
}


class ApiError(Exception):
    """A refusal: the spec's error ``code`` and a ``message`` (one sentence, no code)."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def hresult(self) -> int:
        """The unsigned HRESULT of the code."""
        return HRESULTS[self.code]

    @classmethod
    def from_core(cls, error: core.ChinwagError) -> ApiError:
        return cls(code_of(error), error.message)


#: A room's refusal (its XMPP condition) -> API code: who may not enter, what is not
#: there, what is not available now, and no answer.
ROOM_CODES: dict[str, Code] = {
    "forbidden": Code.PERMISSION_DENIED,
    "not-authorized": Code.PERMISSION_DENIED,
    "registration-required": Code.PERMISSION_DENIED,
    "not-allowed": Code.PERMISSION_DENIED,
    "item-not-found": Code.USER_NOT_FOUND,
    "conflict": Code.NOT_AVAILABLE,
    "service-unavailable": Code.NOT_AVAILABLE,
    "not-acceptable": Code.INVALID_ARGUMENT,
    "jid-malformed": Code.INVALID_ARGUMENT,
    "timeout": Code.NETWORK_ERROR,
    "remote-server-not-found": Code.NETWORK_ERROR,
    "remote-server-timeout": Code.NETWORK_ERROR,
}


def code_of(error: BaseException) -> Code:
    """The API code for an error: a core error's by :data:`CORE_CODES`, an ApiError's
    own, anything else Fail."""
    if isinstance(error, ApiError):
        return error.code
    if isinstance(error, core.RoomRefused):
        return ROOM_CODES.get(error.condition, Code.FAIL)
    for cls in type(error).__mro__:
        code = CORE_CODES.get(cls)
        if code is not None:
            return code
    return Code.FAIL


def hr_for(error: BaseException | None) -> int:
    """The signed ``hr`` an event reports for an outcome (0 = S_OK)."""
    if error is None:
        return S_OK
    return signed(HRESULTS[code_of(error)])


def invalid(text: str) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, text)


def not_logged_on(text: str = "not signed in") -> ApiError:
    return ApiError(Code.NOT_LOGGED_ON, text)
