"""``pipx install .`` works: the wheel holds everything the app loads from its package
(the icons, ``py.typed``) and both launchers; installed by pipx into a throwaway HOME,
``chinwag --version`` and ``chinwag-remote --help`` run, and after ``packaging/install.sh
--files-only`` a method call on a private session bus starts the pipx-installed Chinwag by
D-Bus activation (offscreen, in the background) and is answered by it.

The source is copied to a temporary folder first: building a wheel from a source tree
writes ``build/`` into it, and the checkout is not the test's to write.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chinwag import __version__
from chinwag.automation.bus import close_message_bus, connect_session_bus
from chinwag.automation.constants import BUS_NAME, MESSENGER, MESSENGER_PATH, PROPERTIES
from rig.activation import bus_daemon, call, quit_and_wait
from rig.dbus import PrivateSessionBus

REPO = Path(__file__).resolve().parents[2]
ICONS = sorted(p.name for p in (REPO / "resources" / "icons").glob("*.svg"))
TIMEOUT = 60.0
BUILD_TIMEOUT = 600

pytestmark = pytest.mark.slow


def source_copy(tmp_path: Path) -> Path:
    """What a checkout holds for building, copied (``gui/chinwag/resources`` stays a link
    to ``resources/``, as in the repository)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(REPO / "gui", src / "gui", symlinks=True, ignore=ignore)
    shutil.copytree(REPO / "resources", src / "resources", ignore=ignore)
    shutil.copytree(REPO / "packaging", src / "packaging", ignore=ignore)
    return src


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def test_the_wheel_holds_the_resources_and_launchers(tmp_path: Path) -> None:
    src = source_copy(tmp_path)
    out = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)])
    (wheel,) = out.glob("chinwag-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = (n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = configparser.ConfigParser()
        scripts.read_string(archive.read(entry_points).decode())
    assert ICONS, "no icons in resources/icons"
    missing = [i for i in ICONS if f"chinwag/resources/icons/{i}" not in names]
    assert not missing, f"icons missing from the wheel: {missing}"
    assert "chinwag/py.typed" in names
    assert "chinwag/app.py" in names
    assert "chinwag/cli/remote.py" in names
    # the README's screenshots are not package data: no megabytes of PNGs in every install
    assert not [n for n in names if n.endswith(".png")]
    assert dict(scripts["console_scripts"]) == {
        "chinwag": "chinwag.app:main",
        "chinwag-remote": "chinwag.cli.remote:main",
    }


@pytest.mark.dbus
async def test_pipx_install_runs_and_is_activated_on_the_bus(tmp_path: Path) -> None:
    pipx = shutil.which("pipx")
    if pipx is None:
        pytest.skip("pipx is not installed (Debian: apt-get install pipx)")
    src = await asyncio.to_thread(source_copy, tmp_path)
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    profile = home / "profile"
    keep = ("PATH", "LANG", "LC_ALL", *tuple(k for k in os.environ if k.startswith("PIP_")))
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env |= {
        "HOME": str(home),
        "PIPX_HOME": str(home / ".local" / "pipx"),
        "PIPX_BIN_DIR": str(home / ".local" / "bin"),
        "XDG_CONFIG_HOME": str(profile / "config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(profile / "state"),
        "XDG_CACHE_HOME": str(profile / "cache"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    await asyncio.to_thread(run, [pipx, "install", str(src)], env=env)
    chinwag = home / ".local" / "bin" / "chinwag"
    version = await asyncio.to_thread(run, [str(chinwag), "--version"], env=env)
    assert version.stdout.strip() == f"chinwag {__version__}"
    remote = await asyncio.to_thread(
        run, [str(home / ".local" / "bin" / "chinwag-remote"), "--help"], env=env
    )
    assert "usage: chinwag-remote" in remote.stdout
    # the installed package finds every icon where it looks for them (not this checkout)
    python = chinwag.read_text().splitlines()[0].removeprefix("#!").split()[0]
    found = await asyncio.to_thread(
        run,
        [
            python,
            "-c",
            "from chinwag.ui import icons; print(icons.__file__); "
            "print(*sorted(p.name for p in icons.ICONS.glob('*.svg')))",
        ],
        env={**env, "PYTHONPATH": ""},
    )
    where, listed = found.stdout.splitlines()
    assert where.startswith(env["PIPX_HOME"]), where
    assert listed.split() == ICONS

    # the menu and D-Bus files for the pipx launchers, as the README says
    await asyncio.to_thread(
        run, ["bash", str(src / "packaging" / "install.sh"), "--files-only"], env=env
    )
    services = home / ".local" / "share" / "dbus-1" / "services"
    assert (services / f"{BUS_NAME}.service").is_file()
    with PrivateSessionBus(service_dirs=[services]) as daemon:
        bus = await connect_session_bus(daemon.address)
        try:
            await bus_daemon(bus, "UpdateActivationEnvironment", "a{ss}", [env])
            (owned,) = await bus_daemon(bus, "NameHasOwner", "s", [BUS_NAME])
            assert owned is False
            (status,) = await call(
                bus, BUS_NAME, MESSENGER_PATH, PROPERTIES, "Get", "ss", [MESSENGER, "MyStatus"]
            )
            assert status.value == 1  # type: ignore[attr-defined]  # MISTATUS_OFFLINE
            (pid,) = await bus_daemon(bus, "GetConnectionUnixProcessID", "s", [BUS_NAME])
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            assert [a.decode() for a in argv][-2:] == [str(chinwag), "--background"]
            await quit_and_wait(bus)
        finally:
            await close_message_bus(bus)
