"""Damaged account and view settings never stop Chinwag: what can be read is kept, the
file as it was is moved aside (or, in a read-only folder, left untouched), and the
problem is said in words. Written files are private."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from chinwag.core.models import AccountConfig, TlsMode
from chinwag.system.config import JsonConfigStore
from chinwag.system.ui_settings import UiSettings
from rig.readonly import read_only


def broken(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.broken-*"))


def write(path: Path, data: Any) -> None:
    path.write_text(data if isinstance(data, str) else json.dumps(data))


@pytest.mark.parametrize(
    "content",
    [
        [{"jid": "a@x.org"}],  # a top-level list
        {"accounts": {"jid": "a@x.org"}},  # accounts not a list
        "{not json",
        b"\xff\xfe{}",  # not UTF-8
        42,
    ],
    ids=["list", "accounts-not-list", "not-json", "not-utf8", "number"],
)
def test_unreadable_account_settings_are_moved_aside(tmp_path: Path, content: Any) -> None:
    path = tmp_path / "accounts.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(path, content)
    original = path.read_bytes()
    store = JsonConfigStore(path)
    assert store.load_accounts() == []
    [aside] = broken(tmp_path, "accounts.json")
    assert aside.read_bytes() == original
    assert not path.exists()
    [problem] = store.problems
    assert str(aside) in problem


def test_a_folder_in_place_of_the_settings_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "accounts.json").mkdir()
    store = JsonConfigStore(tmp_path / "accounts.json")
    assert store.load_accounts() == []
    [aside] = broken(tmp_path, "accounts.json")
    assert aside.is_dir()
    assert str(aside) in store.problems[0]


def test_bad_values_fall_back_and_good_accounts_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    good = {"jid": "good@x.org", "port": 5223, "tls": "direct", "resource": "chinwag-1"}
    write(
        path,
        {
            "version": 1,
            "accounts": [
                {"jid": "a@x.org", "tls": "bogus", "port": "x", "enabled": "yes"},
                good,
                ["not", "an", "account"],
                {"jid": 7},
                {"jid": "server-only.org"},
                {"jid": "b@x.org", "port": 70000, "priority": 1000, "future_key": 1},
                {"jid": "A@X.org", "nickname": "twice"},
            ],
        },
    )
    original = path.read_bytes()
    store = JsonConfigStore(path)
    accounts = store.load_accounts()
    assert accounts == [
        AccountConfig(jid="a@x.org"),  # every bad value back to its default
        AccountConfig(jid="good@x.org", port=5223, tls=TlsMode.DIRECT, resource="chinwag-1"),
        AccountConfig(jid="b@x.org"),
    ]
    [aside] = broken(tmp_path, "accounts.json")
    assert aside.read_bytes() == original
    # What could be read was written back, so the next start is clean.
    assert JsonConfigStore(path).load_accounts() == accounts
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [problem] = store.problems
    for words in ("tls 'bogus'", "port 'x'", "entry 3", "entry 4", "entry 5", "twice", str(aside)):
        assert words in problem


def test_a_sound_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    store = JsonConfigStore(path)
    store.save_accounts([AccountConfig(jid="a@x.org", port=5222)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load_accounts() == [AccountConfig(jid="a@x.org", port=5222)]
    assert store.problems == []
    assert broken(tmp_path, "accounts.json") == []


def test_in_a_read_only_folder_the_file_is_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "accounts.json"
    write(path, {"accounts": [{"jid": "a@x.org", "tls": "bogus"}, 5]})
    original = path.read_bytes()
    with read_only(folder):
        store = JsonConfigStore(path)
        assert store.load_accounts() == [AccountConfig(jid="a@x.org")]
        assert path.read_bytes() == original
        assert sorted(p.name for p in folder.iterdir()) == ["accounts.json"]
        [problem] = store.problems
        assert "cannot be moved aside" in problem
        assert "left as it is" in problem


def test_damaged_view_settings_are_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "ui.json"
    write(path, "[1, 2")
    settings = UiSettings(path)
    assert settings.get("sort", "NAME") == "NAME"
    [aside] = broken(tmp_path, "ui.json")
    assert settings.problem is not None
    assert str(aside) in settings.problem
    settings.set("sort", "STATUS")
    assert UiSettings(path).get("sort", "NAME") == "STATUS"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_view_settings_of_the_wrong_type_give_the_default(tmp_path: Path) -> None:
    path = tmp_path / "ui.json"
    write(path, {"sort": ["NAME"], "show_offline": 1, "collapsed_groups": 5, "other": "x"})
    settings = UiSettings(path)
    assert settings.get("sort", "NAME") == "NAME"
    assert settings.get("show_offline", True) is True
    assert settings.get("collapsed_groups", []) == []
    assert settings.get("other") == "x"
    assert settings.problem is None


def test_view_settings_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    write(folder / "ui.json", "garbage")
    with read_only(folder):
        settings = UiSettings(folder / "ui.json")
        settings.set("sort", "STATUS")  # cannot be saved: logged, not raised
        assert settings.get("sort", "NAME") == "STATUS"
        assert (folder / "ui.json").read_text() == "garbage"
        assert settings.problem is not None
        assert "left as it is" in settings.problem
