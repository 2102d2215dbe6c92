"""Which gateways run: off by default, ``--xmlrpc-port`` / ``--rest-port`` on the command
line, or the settings folder's ``gateways.json``."""

from __future__ import annotations

from pathlib import Path

import pytest

from chinwag.app import parse_args
from chinwag.gateways.settings import (
    FILE_NAME,
    SettingsError,
    configured_port,
    read_settings,
    save_setting,
)


def test_the_command_line() -> None:
    assert parse_args([]).xmlrpc_port is None  # off by default
    assert parse_args(["--xmlrpc-port", "0"]).xmlrpc_port == 0
    assert parse_args(["--xmlrpc-port", "8123"]).xmlrpc_port == 8123
    assert parse_args([]).rest_port is None
    assert parse_args(["--rest-port", "0"]).rest_port == 0
    assert parse_args(["--rest-port", "8043", "--xmlrpc-port", "1"]).rest_port == 8043


@pytest.mark.parametrize(
    ("text", "port"),
    [
        (None, None),
        ('{"xmlrpc": {"enabled": true, "port": 0}}', 0),
        ('{"xmlrpc": {"enabled": true, "port": 8123}}', 8123),
        ('{"xmlrpc": {"enabled": true}}', 0),
        ('{"xmlrpc": {"enabled": false, "port": 8123}}', None),
        ('{"xmlrpc": {"enabled": true, "port": "8123"}}', None),
        ('{"xmlrpc": {"enabled": true, "port": 70000}}', None),
        ('{"rest": {"enabled": true}}', None),
        ("not json", None),
        ("[]", None),
    ],
)
def test_the_settings(tmp_path: Path, text: str | None, port: int | None) -> None:
    if text is not None:
        (tmp_path / FILE_NAME).write_text(text)
    assert configured_port(tmp_path, "xmlrpc") == port


def test_the_rest_entry(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text('{"rest": {"enabled": true, "port": 8043}}')
    assert configured_port(tmp_path, "rest") == 8043
    assert configured_port(tmp_path, "xmlrpc") is None


def test_saving_one_gateway_keeps_the_other(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text('{"rest": {"enabled": true, "port": 8043, "x": 1}}')
    save_setting(tmp_path, "xmlrpc", True, 0)
    assert configured_port(tmp_path, "xmlrpc") == 0
    assert configured_port(tmp_path, "rest") == 8043
    save_setting(tmp_path, "rest", False, 8044)
    assert configured_port(tmp_path, "rest") is None
    assert read_settings(tmp_path)["rest"] == {"enabled": False, "port": 8044, "x": 1}
    with pytest.raises(ValueError, match="not a port"):
        save_setting(tmp_path, "rest", True, 70000)


def test_a_damaged_file_is_said_and_replaced_when_saved(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("not json")
    with pytest.raises(SettingsError, match="damaged"):
        read_settings(tmp_path)
    save_setting(tmp_path, "rest", True, 0)
    assert read_settings(tmp_path) == {"rest": {"enabled": True, "port": 0}}
