"""The Conversations API's members answer every refusal with one of its own errors
(conversations-api.md section 2: ``im.chinwag.Error.Messaging.<Name>``, "<code>: ..."):
a core error as the spec maps it, anything unexpected SomethingWentWrong (0); the
automation API's members keep theirs."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from dbus_next import DBusError

from chinwag.api.messaging_errors import MessagingError
from chinwag.automation import conversations
from chinwag.automation.interfaces import guarded
from chinwag.core.errors import NotConnected, RequestRefused

PREFIX = "im.chinwag.Error.Messaging."


def refusal(exc: Exception, *, messaging: bool) -> DBusError:
    def member() -> None:
        raise exc

    with pytest.raises(DBusError) as raised:
        guarded(member, messaging=messaging)()
    return raised.value


@pytest.mark.parametrize(
    ("exc", "name", "code"),
    [
        (MessagingError(8, "no conversation x"), "ConversationDoesNotExist", 8),
        (NotConnected("not signed in"), "ClientNotLoggedIn", 10003),
        (RequestRefused("gone", condition="gone"), "ConversationDeleted", 16),
        (RuntimeError("a bug"), "SomethingWentWrong", 0),
        (KeyError("x"), "SomethingWentWrong", 0),
    ],
)
def test_a_conversations_member_refuses_with_the_specs_errors(
    exc: Exception, name: str, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        error = refusal(exc, messaging=True)
    assert error.type == PREFIX + name
    assert error.text.startswith(f"{code}: ")
    assert "Traceback" not in error.text
    unexpected = not isinstance(exc, MessagingError | NotConnected | RequestRefused)
    assert bool(caplog.records) is unexpected  # a bug is logged, a refusal is not


def test_an_async_member_too() -> None:
    async def member() -> Any:
        raise RuntimeError("a bug")

    with pytest.raises(DBusError) as raised:
        asyncio.run(guarded(member, messaging=True)())
    assert raised.value.type == PREFIX + "SomethingWentWrong"


def test_the_automation_api_keeps_its_own_errors() -> None:
    assert refusal(RuntimeError("a bug"), messaging=False).type == "im.chinwag.Error.Fail"
    assert refusal(NotConnected("x"), messaging=False).type.startswith("im.chinwag.Error.")
    assert not refusal(NotConnected("x"), messaging=False).type.startswith(PREFIX)


class _Broken:
    """Every part of the API a member reaches is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{name} is broken")


class _DBus:
    def __init__(self) -> None:
        self.api = SimpleNamespace(conversations=_Broken(), users=_Broken())


def test_a_conversations1_member_answers_a_bug_as_the_spec_says() -> None:
    """A member of the real interface class, not a stand-in: a bug under it is
    SomethingWentWrong, not the automation API's Fail."""
    interface = conversations.Conversations(_DBus())  # type: ignore[arg-type]
    call = interface.GetConversation.__wrapped__  # (dbus-next's wrapper drops the result)
    with pytest.raises(DBusError) as raised:
        asyncio.run(call(interface, "x"))
    assert raised.value.type == PREFIX + "SomethingWentWrong"
    assert raised.value.text.startswith("0: ")
