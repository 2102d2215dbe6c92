"""The tests' fakes of the core's ports, checked against those Protocols by mypy (this module
is listed under ``[tool.mypy]`` in pyproject.toml, which finds ``conftest`` in tests/ui and
the test modules in tests/core and tests/ui). A fake that drifts from its port -- a method
missing, or with another signature -- fails the type check here, instead of a test failing
far from the cause, or passing on a path the real object does not have.

Nothing here runs: pytest does not collect it, and nothing imports it."""

from __future__ import annotations

import test_account_passwords
import test_main_window
import test_session

import conftest as ui_rig  # tests/ui/conftest.py
from chinwag.api.ports import ConversationView, MainView, WindowHost
from chinwag.core.ports import (
    ConfigStore,
    ConnectionFactory,
    ConnectionListener,
    SecretStore,
    XmppConnection,
)
from rig import fakes


def connections(listener: ConnectionListener) -> list[XmppConnection]:
    return [
        ui_rig.FakeConnection(listener),
        test_main_window.FakeConnection(listener, "ok"),
        test_session.ScriptedConnection(listener, []),
        fakes.FakeConnection(listener),
    ]


def factories(rig: ui_rig.UiRig, network: test_main_window.Network) -> list[ConnectionFactory]:
    return [rig._connect, network]


def secret_stores() -> list[SecretStore]:
    return [ui_rig._Secrets(), test_account_passwords.SlowStore(), fakes.FakeSecrets()]


def config_stores() -> list[ConfigStore]:
    return [ui_rig._Config([]), test_account_passwords.Config(), fakes.FakeConfig()]


def window_host(host: fakes.FakeWindowHost) -> tuple[WindowHost, ConversationView, MainView]:
    return host, host.open("me@localhost", "bob@localhost"), fakes.FakeMainWindow()
