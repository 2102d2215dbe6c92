"""The profile's folders: created private (0700), tightened when an older Chinwag or an
installer left them open, and a read-only one reported, never fatal."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chinwag import APP_ID
from chinwag.system.paths import Paths, make_private_dir, move_aside
from rig.readonly import read_only


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_new_folders_are_private(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "profile")
    assert paths.prepare() == []
    for folder in paths.dirs:
        assert mode(folder) == 0o700, folder


def test_open_folders_and_what_is_in_them_are_tightened(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    paths.data.mkdir(mode=0o755)
    paths.data.chmod(0o755)
    (paths.data / "history.sqlite3").write_text("")
    (paths.data / "history.sqlite3").chmod(0o644)
    venv = paths.data / "venv"  # where an older install.sh put Chinwag itself
    (venv / "bin").mkdir(parents=True)
    venv.chmod(0o755)
    (venv / "bin" / "chinwag").write_text("#!/bin/sh\n")
    (venv / "bin" / "chinwag").chmod(0o755)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not ours")
    elsewhere.chmod(0o644)
    (paths.data / "link").symlink_to(elsewhere)

    assert paths.prepare() == []

    assert mode(paths.data) == 0o700
    assert mode(paths.data / "history.sqlite3") == 0o600
    assert mode(venv) == 0o700  # still usable by its owner
    assert mode(elsewhere) == 0o644  # a link is not followed out of the profile
    assert mode(venv / "bin" / "chinwag") == 0o755  # inside a private folder: left alone


def test_the_parents_are_the_users_not_ours(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "home" / ".local")
    paths.prepare()
    assert mode(tmp_path / "home") & 0o077  # created with the usual modes
    assert mode(paths.config) == 0o700


def test_a_read_only_folder_is_reported_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    folder.chmod(0o755)
    with read_only(folder):
        before = mode(folder)
        problem = make_private_dir(folder)
        assert problem is not None
        assert str(folder) in problem
        assert mode(folder) == before
    missing = tmp_path / "ro"
    missing.mkdir()
    with read_only(missing):
        problem = make_private_dir(missing / "chinwag")
        assert problem is not None
        assert "cannot create" in problem


def test_a_file_where_a_folder_should_be_is_reported(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("oops")
    problems = Paths.under(tmp_path).prepare()
    assert any(str(tmp_path / "data") in p for p in problems)


def test_move_aside_never_overwrites(tmp_path: Path) -> None:
    first = tmp_path / "accounts.json"
    first.write_text("one")
    aside_one = move_aside(first)
    first.write_text("two")
    aside_two = move_aside(first)
    assert aside_one != aside_two
    assert aside_one.name.startswith("accounts.json.broken-")
    assert (aside_one.read_text(), aside_two.read_text()) == ("one", "two")
    assert not first.exists()


@pytest.mark.parametrize(
    "env",
    [
        {},  # the defaults under $HOME
        {"XDG_CONFIG_HOME": "{tmp}/c", "XDG_DATA_HOME": "{tmp}/d", "XDG_STATE_HOME": "{tmp}/s"},
        {"XDG_CONFIG_HOME": "relative/c", "XDG_CACHE_HOME": ""},  # not absolute: ignored
        {"HOME": "relative/home"},  # the account's home instead
        {"HOME": ""},
    ],
)
def test_the_default_profile_is_where_platformdirs_puts_it(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The XDG base directories, read without importing platformdirs at start-up, are
    the ones it gives on Linux."""
    import platformdirs

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value.format(tmp=tmp_path))
    expected = (
        platformdirs.user_config_dir(APP_ID, appauthor=False),
        platformdirs.user_data_dir(APP_ID, appauthor=False),
        platformdirs.user_state_dir(APP_ID, appauthor=False),
        platformdirs.user_cache_dir(APP_ID, appauthor=False),
    )
    assert tuple(map(str, Paths.default().dirs)) == expected
