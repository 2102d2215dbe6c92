"""packaging/install.sh puts Chinwag's venv outside the private data folder, removes the
venv an older version put inside it, keeps ``chinwag``/``chinwag-remote`` in
~/.local/bin working and leaves the profile folders private. Run into a temporary HOME,
without apt (``CHINWAG_SKIP_SYSTEM_PACKAGES``) and without starting the app."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "install.sh"
#: The dependencies cannot be downloaded here: pip installs Chinwag alone, offline,
#: building it with the setuptools of the new venv plus this ``wheel`` package.
SYSTEM_WHEEL = Path("/usr/lib/python3/dist-packages/wheel")
SYSTEM_PACKAGES = SYSTEM_WHEEL.parent


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PIP_"))}
    clean.update(HOME=str(home), CHINWAG_SKIP_SYSTEM_PACKAGES="1", CHINWAG_NO_START="1", **env)
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def paths(home: Path, **env: str) -> dict[str, str]:
    result = run(home, "--print-paths", **env)
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_the_venv_is_not_in_the_data_folder(tmp_path: Path) -> None:
    home = tmp_path / "user"
    home.mkdir()
    found = paths(home)
    share = home / ".local" / "share"
    assert found["venv"] == str(share / "chinwag-venv")
    assert found["data"] == str(share / "chinwag")
    assert found["old_venv"] == str(share / "chinwag" / "venv")
    assert found["bin"] == str(home / ".local" / "bin")
    assert not Path(found["venv"]).is_relative_to(found["data"])
    assert list(home.iterdir()) == []  # --print-paths changes nothing

    custom = paths(home, XDG_DATA_HOME=str(tmp_path / "xdg"))
    assert custom["venv"] == str(tmp_path / "xdg" / "chinwag-venv")
    assert paths(home, CHINWAG_VENV=str(tmp_path / "opt"))["venv"] == str(tmp_path / "opt")


def test_a_venv_inside_the_data_folder_is_refused(tmp_path: Path) -> None:
    for inside in ("chinwag", "chinwag/venv"):
        result = run(tmp_path, "--print-paths", CHINWAG_VENV=f"{tmp_path}/.local/share/{inside}")
        assert result.returncode == 2
        assert "must stay private" in result.stderr


def source_copy(tmp_path: Path) -> Path:
    """The checkout's installable part (pip builds in the source tree: not in the shared
    one)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("gui", "resources", "packaging"):
        shutil.copytree(REPO / name, src / name, symlinks=True, ignore=ignore)
    return src


@pytest.mark.slow
def test_install_moves_the_venv_out_and_keeps_the_launchers(tmp_path: Path) -> None:
    if shutil.which("python3") is None:
        pytest.skip("no python3 on PATH for install.sh")
    if not (SYSTEM_WHEEL / "__init__.py").exists():
        pytest.skip(f"no {SYSTEM_WHEEL} to build Chinwag offline (apt-get install python3-wheel)")
    home = tmp_path / "home"
    share = home / ".local" / "share"
    data = share / "chinwag"
    old = data / "venv"  # as the previous install.sh left it: inside, and open to all
    (old / "bin").mkdir(parents=True)
    (old / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (old / "bin" / "chinwag").write_text("#!/bin/sh\necho old\n")
    history = data / "history.sqlite3"
    history.write_bytes(b"the user's history")
    history.chmod(0o600)
    data.chmod(0o755)
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "chinwag").symlink_to(old / "bin" / "chinwag")
    wheel_path = tmp_path / "wheel-path"
    wheel_path.mkdir()
    for found in SYSTEM_PACKAGES.glob("wheel*"):  # the package and its metadata
        (wheel_path / found.name).symlink_to(found)

    src = source_copy(tmp_path)
    result = subprocess.run(
        ["bash", str(src / "packaging" / "install.sh")],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PIP_"))},
            "HOME": str(home),
            "CHINWAG_SKIP_SYSTEM_PACKAGES": "1",
            "CHINWAG_NO_START": "1",
            "PIP_NO_INDEX": "1",
            "PIP_NO_DEPS": "1",
            "PIP_NO_BUILD_ISOLATION": "0",  # pip's spelling of --no-build-isolation
            "PYTHONPATH": str(wheel_path),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    venv = share / "chinwag-venv"
    assert (venv / "pyvenv.cfg").exists()
    for name in ("chinwag", "chinwag-remote"):
        link = bin_dir / name
        assert link.resolve() == (venv / "bin" / name).resolve()
        assert os.access(link, os.X_OK)
    assert not old.exists()
    assert "Removed the previous installation" in result.stdout
    assert history.read_bytes() == b"the user's history"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert sorted(p.name for p in data.iterdir()) == ["history.sqlite3"]

    # in the menu and on the bus, run through the launcher
    desktop = share / "applications" / "im.chinwag.Chinwag.desktop"
    service = share / "dbus-1" / "services" / "im.chinwag.Chinwag.service"
    assert f"Exec={bin_dir}/chinwag\n" in desktop.read_text()
    assert f"Exec={bin_dir}/chinwag --background\n" in service.read_text()
    assert (share / "icons" / "hicolor" / "48x48" / "apps" / "im.chinwag.Chinwag.png").is_file()

    uninstall = subprocess.run(
        ["bash", str(src / "packaging" / "install.sh"), "--uninstall"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PIP_"))},
            "HOME": str(home),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert uninstall.returncode == 0, uninstall.stdout + uninstall.stderr
    assert not venv.exists()
    assert not any(bin_dir.iterdir())
    assert not desktop.exists()
    assert not service.exists()
    assert not (share / "icons").exists()
    assert history.read_bytes() == b"the user's history"  # the profile stays
