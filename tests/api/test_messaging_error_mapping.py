"""The Conversations API's error table and its mapping of XMPP errors
(conversations-api.md section 2), spelled here as the spec writes them."""

from __future__ import annotations

import pytest

from chinwag.api.messaging_errors import MessagingError, from_condition, from_core
from chinwag.core import errors as core

# The spec's table, as written.
TABLE = """
0 SomethingWentWrong | 24 WrongSequenceArgument
3 NotAuthorized | 25 UserNotFound
8 ConversationDoesNotExist | 26 NotificationEventIncorrect
10 MessageDoesNotExist | 28 FromGreaterThanTo
11 MessageDeleted | 30 ImServiceUnavailable
12 Acl | 34 DirectCannotBePublicOrUber
13 AlreadyInParticipantsList | 35 NumberOfUsersInDirect
15 PublicJoinIsUnavailable | 37 AddingToDirect
16 ConversationDeleted | 38 RemovingFromDirect
18 UserValidation | 39 EditingParticipantsInDirect
19 UserIsNotInTheParticipantList | 40 LeavingDirectNotAllowed
21 RequestedNumberTooBigOr0 | 500 Internal
22 RequestedNumberTooBig | 10000 MethodCallDiscarded
23 MessageSizeExceedsLimit | 10001 InvalidArguments
10002 Timeout | 10003 ClientNotLoggedIn
"""
SPEC = {
    int(code): name
    for line in TABLE.strip().splitlines()
    for code, name in (half.split() for half in line.split("|"))
}


@pytest.mark.parametrize(("code", "name"), sorted(SPEC.items()))
def test_every_code_has_the_specs_name(code: int, name: str) -> None:
    error = MessagingError(code, "why")
    assert error.name == name
    assert str(error) == f"{code}: why"


def test_no_code_outside_the_table() -> None:
    with pytest.raises(ValueError, match="no messaging error 7"):
        MessagingError(7, "no such")


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("item-not-found", 8),
        ("gone", 16),
        ("forbidden", 12),
        ("not-allowed", 12),
        ("registration-required", 15),
        ("conflict", 13),
        ("not-authorized", 3),
        ("service-unavailable", 30),
        ("remote-server-not-found", 30),
        ("remote-server-timeout", 30),
        ("bad-request", 10001),
        ("jid-malformed", 10001),
        ("internal-server-error", 500),
        ("undefined-condition", 0),
    ],
)
def test_xmpp_conditions_map_as_the_spec_says(condition: str, code: int) -> None:
    assert from_condition(condition, "x").code == code
    refused = core.RequestRefused("x", condition=condition)
    assert from_core(refused).code == code


def test_item_not_found_of_a_message_is_10() -> None:
    assert from_condition("item-not-found", "x", about_message=True).code == 10
    assert from_condition("gone", "x", about_message=True).code == 16


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (core.NotConnected("x"), 10003),
        (core.AccountDisabled("x"), 10003),
        (core.InvalidAddress("x"), 10001),
        (core.ContactNotFound("x"), 25),
        (core.ServerUnreachable("x"), 30),
    ],
)
def test_core_errors_map_to_the_spec(error: core.ChinwagError, code: int) -> None:
    assert from_core(error).code == code
