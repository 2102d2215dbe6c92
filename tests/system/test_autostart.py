"""Start on login: :mod:`chinwag.system.autostart` writes and removes the XDG autostart
entry in ``$XDG_CONFIG_HOME/autostart``; the entry is valid for
``desktop-file-validate`` and starts Chinwag as the menu does (no ``--background``): the
app itself then starts in the tray or with its window, as "Start in the tray" says."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chinwag.app import parse_args
from chinwag.system import autostart
from chinwag.system.autostart import autostart_enabled, autostart_path, set_autostart


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def exec_argv(path: Path) -> list[str]:
    line = next(line for line in path.read_text().splitlines() if line.startswith("Exec="))
    # what a desktop does with it: undo the string escapes, split as the shell does (the
    # quoting rules are the same for these), then expand the field code %%
    words = shlex.split(line[len("Exec=") :].replace("\\\\", "\\"))
    return [word.replace("%%", "%") for word in words]


def test_on_writes_the_entry_and_off_removes_it(config_home: Path) -> None:
    path = config_home / "autostart" / "im.chinwag.Chinwag.desktop"
    assert autostart_path() == path
    assert not autostart_enabled()

    set_autostart(True, ["/opt/chinwag/bin/chinwag"])
    assert path.is_file()
    assert autostart_enabled()
    assert exec_argv(path) == ["/opt/chinwag/bin/chinwag"]
    assert path.stat().st_mode & 0o777 == 0o644

    set_autostart(True, ["/usr/bin/chinwag"])  # on again: replaced, not duplicated
    assert exec_argv(path) == ["/usr/bin/chinwag"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]

    set_autostart(False)
    assert not path.exists()
    assert not autostart_enabled()
    set_autostart(False)  # off when already off: nothing to do


def test_the_entry_is_valid(config_home: Path) -> None:
    command = ["/home/a user/.local/bin/chinwag", "--profile=it's 100%"]
    set_autostart(True, command)
    assert exec_argv(autostart_path()) == command
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run(
        ["desktop-file-validate", str(autostart_path())],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_command_is_the_launcher_on_path(
    config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    assert autostart.default_command()[1:] == ["-m", "chinwag"]  # none on PATH
    launcher = bin_dir / "chinwag"
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    set_autostart(True)
    assert exec_argv(autostart_path()) == [str(launcher)]


def test_at_login_the_start_in_tray_preference_decides_not_the_entry(
    config_home: Path,
) -> None:
    """What the entry runs is what the menu runs: Chinwag with no option, so it is not a
    start in the background (which never shows a window), and the app applies "Start in
    the tray" (``chinwag.app._starts_in_tray``) as at any other start."""
    set_autostart(True, [sys.executable, "-m", "chinwag"])
    argv = exec_argv(autostart_path())
    assert argv[:3] == [sys.executable, "-m", "chinwag"]
    args = parse_args(argv[3:])
    assert args.background is False
    assert "--background" not in autostart_path().read_text()


@pytest.mark.parametrize(
    "line", ["Hidden=true", "X-GNOME-Autostart-enabled=false", "Hidden = True"]
)
def test_an_entry_switched_off_inside_is_off(config_home: Path, line: str) -> None:
    set_autostart(True, ["/usr/bin/chinwag"])
    path = autostart_path()
    path.write_text(path.read_text() + line + "\n")
    assert not autostart_enabled()
    set_autostart(True, ["/usr/bin/chinwag"])
    assert autostart_enabled()


def test_a_relative_xdg_config_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    assert autostart_path() == tmp_path / ".config" / "autostart" / "im.chinwag.Chinwag.desktop"
