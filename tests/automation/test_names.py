"""The error table of the automation API (spec section 2), how core errors map to it, and
how the D-Bus front spells an error."""

from __future__ import annotations

import pytest

from chinwag.api.codes import HRESULTS, Code
from chinwag.api.errors import CORE_CODES, ApiError, code_of, hr_for
from chinwag.automation import names
from chinwag.core import errors


def _core_errors() -> list[type[errors.ChinwagError]]:
    """Every subclass of ChinwagError, wherever it is defined: every module of the layers
    under the API imported first (the list must not depend on what else was imported)."""
    import importlib
    import pkgutil

    for layer in ("core", "xmpp", "api", "storage", "gateways", "system"):
        package = importlib.import_module(f"chinwag.{layer}")
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: list[type[errors.ChinwagError]] = []
    todo = [errors.ChinwagError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _core_errors(), ids=lambda c: c.__name__)
def test_every_core_error_is_mapped_on_purpose(cls: type[errors.ChinwagError]) -> None:
    # Listed, not inherited by accident: a new core error needs a decision here.
    assert cls in CORE_CODES
    assert CORE_CODES[cls] in HRESULTS


def test_every_code_has_an_hresult_and_the_names_are_the_specs() -> None:
    assert set(HRESULTS) == set(Code)
    assert names.HRESULTS is HRESULTS
    assert Code.NOT_LOGGED_ON == "NotLoggedOn"


def test_core_errors_carry_no_api_names() -> None:
    assert not any(hasattr(cls, "api_name") for cls in _core_errors())


@pytest.mark.parametrize(
    ("error", "hr"),
    [
        (errors.AuthenticationFailed("no"), -2130705661),  # 0x81000303
        (errors.ServerUnreachable("no"), -2130705663),  # 0x81000301
        (errors.TlsFailure("no"), -2130705567),  # 0x81000361
        (errors.CertificateUntrusted("no"), -2130705560),  # 0x81000368
        (errors.NotConnected("no"), -2130705634),  # 0x8100031E
        (errors.StreamError("no"), -2130705663),  # Connect
        (ApiError(Code.USER_NOT_FOUND, "no"), -2130705654),  # 0x8100030A
        (RuntimeError("bug"), -2147467259),  # 0x80004005 (Fail)
        (None, 0),
    ],
)
def test_outcomes_carry_signed_hresults(error: Exception | None, hr: int) -> None:
    assert hr_for(error) == hr


def test_a_core_error_becomes_an_api_error_with_its_sentence() -> None:
    error = ApiError.from_core(errors.MessageTooLong("the text is 70,000 characters"))
    assert (error.code, error.message) == (Code.MESSAGE_TOO_LONG, "the text is 70,000 characters")
    assert error.hresult == 0x8100033F
    assert code_of(errors.ConnectionFailure("x")) is Code.FAIL


def test_error_messages_start_with_the_hresult() -> None:
    error = names.api_error("NotLoggedOn", "not signed in")
    assert error.type == "im.chinwag.Error.NotLoggedOn"
    assert error.text == "0x8100031E: not signed in"
    assert names.api_error("Offline", "x").text.startswith("0x80004005: ")
