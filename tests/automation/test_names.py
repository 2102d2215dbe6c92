"""The error table of the automation API (spec section 2) and how core errors map to it."""

from __future__ import annotations

import pytest

from chinwag.automation import names
from chinwag.automation.api import hr_for
from chinwag.core import errors


def _core_errors() -> list[type[errors.ChinwagError]]:
    found: list[type[errors.ChinwagError]] = []
    todo = [errors.ChinwagError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _core_errors(), ids=lambda c: c.__name__)
def test_every_core_error_names_an_api_error(cls: type[errors.ChinwagError]) -> None:
    assert cls.api_name in names.HRESULTS


@pytest.mark.parametrize(
    ("error", "hr"),
    [
        (errors.AuthenticationFailed("no"), -2130705661),  # 0x81000303
        (errors.ServerUnreachable("no"), -2130705663),  # 0x81000301
        (errors.TlsFailure("no"), -2130705567),  # 0x81000361
        (errors.CertificateUntrusted("no"), -2130705560),  # 0x81000368
        (errors.NotConnected("no"), -2130705634),  # 0x8100031E
        (None, 0),
    ],
)
def test_signin_outcomes_carry_signed_hresults(error: Exception | None, hr: int) -> None:
    assert hr_for(error) == hr


def test_error_messages_start_with_the_hresult() -> None:
    error = names.api_error("NotLoggedOn", "not signed in")
    assert error.type == "im.chinwag.Error.NotLoggedOn"
    assert error.text == "0x8100031E: not signed in"
    assert names.api_error("Offline", "x").text.startswith("0x80004005: ")
