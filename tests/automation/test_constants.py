"""The constants scripts and ``chinwag-remote`` share with the server live in one module that
imports no dbus-next (so ``chinwag-remote --help`` starts fast), and they are the ones the
server and the core use: the same signal names, MISTATUS values and message constants."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from dbus_next.service import ServiceInterface

from chinwag.automation import constants, interfaces, names
from chinwag.cli import remote
from chinwag.core.status import Status

#: Runs ``code`` in a fresh interpreter, then prints which of these modules it loaded.
_PROBE = """
import json, sys
try:
    {code}
except SystemExit:
    pass
finally:
    loaded = [m for m in ("dbus_next", "PySide6", "chinwag.automation.names") if m in sys.modules]
    sys.__stderr__.write("\\nLOADED " + json.dumps(loaded) + "\\n")
"""


def loaded_by(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = next(
        (ln for ln in result.stderr.splitlines() if ln.startswith("LOADED ")),
        None,
    )
    assert line is not None, result.stderr
    loaded: list[str] = json.loads(line.removeprefix("LOADED "))
    return loaded


def test_the_constants_module_imports_no_dbus_next() -> None:
    assert loaded_by("import chinwag.automation.constants") == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["send", "--help"], ["version"], ["status", "bogus"], ["send"]],
    ids=["help", "command-help", "version", "bad-status", "usage-error"],
)
def test_chinwag_remote_without_the_bus_imports_no_dbus_next(argv: list[str]) -> None:
    code = f"from chinwag.cli.remote import main; main({argv!r})"
    assert loaded_by(code) == []


def test_chinwag_remote_uses_the_shared_constants_not_copies() -> None:
    assert remote.MESSENGER_SIGNALS is constants.MESSENGER_SIGNALS
    assert remote.MESSAGES_SIGNALS is constants.MESSAGES_SIGNALS
    for name in ("BUS_NAME", "MESSENGER_PATH", "MESSENGER", "MESSAGES", "DBUS_NAME", "PROPERTIES"):
        assert getattr(remote, name) is getattr(constants, name), name
    assert remote.STATUS_VALUES == {
        "unknown": 0x00,
        "offline": 0x01,
        "online": 0x02,
        "invisible": 0x06,
        "busy": 0x0A,
        "be-right-back": 0x0E,
        "idle": 0x12,
        "away": 0x22,
        "on-the-phone": 0x32,
        "out-to-lunch": 0x42,
        "connecting": 0x200,
    }
    assert remote.MESSAGE_TYPES == {"normal": 0, "action": 1, "notice": 2}
    assert remote.DELIVERY_STATUS_NAMES == {
        1: "delivered",
        2: "temporarily failed",
        3: "permanently failed",
        4: "accepted",
        5: "read",
        6: "deleted",
    }


def test_the_server_names_are_the_constants() -> None:
    for name in names.__all__:
        if name != "api_error":
            assert getattr(names, name) is getattr(constants, name), name


def test_mistatus_values_are_the_core_statuses() -> None:
    assert {s.name: int(s) for s in constants.MiStatus} == {s.name: int(s) for s in Status}


@pytest.mark.parametrize(
    ("interface", "expected"),
    [
        (interfaces.Messenger, constants.MESSENGER_SIGNALS),
        (interfaces.Messages, constants.MESSAGES_SIGNALS),
    ],
)
def test_signal_names_are_the_interfaces_signals(
    interface: type[ServiceInterface], expected: tuple[str, ...]
) -> None:
    bare = interface.__new__(interface)  # no API behind it: only its members are read
    ServiceInterface.__init__(bare, "im.chinwag.Test")
    exported = ServiceInterface._get_signals(bare)  # type: ignore[no-untyped-call]
    assert sorted(s.name for s in exported) == sorted(expected)
