"""packaging/install.sh puts Chinwag in the menu and on the session bus, each file valid
for its own validator, and ``--uninstall`` takes it all away again.

Installed with ``--files-only`` (no apt, no venv) into a throwaway HOME whose Exec lines
run this Python with ``-m chinwag``; the venv install itself is
``tests/system/test_install_script.py``. The validators are Debian's
``desktop-file-validate`` (desktop-file-utils) and ``appstreamcli`` (appstream): a check
whose validator is missing is skipped, saying so.

Activation: a private ``dbus-daemon`` whose only service directory is the installed
``dbus-1/services`` starts the real Chinwag (offscreen, a throwaway profile) when a
method is called on ``im.chinwag.Chinwag``; the call is answered by it, and it came up
with ``--background``: no first-run dialog, nothing turned on.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import shlex
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chinwag import __version__
from chinwag.automation.bus import close_message_bus, connect_session_bus
from chinwag.automation.constants import BUS_NAME, MESSENGER, MESSENGER_PATH, PROPERTIES
from rig.activation import bus_daemon, quit_and_wait
from rig.dbus import PrivateSessionBus

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "install.sh"
APP_ID = "im.chinwag.Chinwag"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
#: What the installed Exec lines run: this interpreter, with this checkout's package.
COMMAND = f"{sys.executable} -m chinwag"
TIMEOUT = 60.0


def run_script(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PIP_"))}
    clean.update({"HOME": str(home), "CHINWAG_COMMAND": COMMAND, **env})
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with what it is (folder, link target, file content size)."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = f"{path.stat().st_size} bytes"
    return found


def new_home(tmp_path: Path) -> Path:
    """A home as a desktop has it: the standard folders there, empty."""
    home = tmp_path / "throwaway-home"
    for sub in (".local/share", ".local/bin", ".config"):
        (home / sub).mkdir(parents=True)
    return home


def installed_paths(home: Path) -> dict[str, Path]:
    share = home / ".local" / "share"
    icons = share / "icons" / "hicolor"
    paths = {
        "desktop": share / "applications" / f"{APP_ID}.desktop",
        "metainfo": share / "metainfo" / f"{APP_ID}.metainfo.xml",
        "service": share / "dbus-1" / "services" / f"{APP_ID}.service",
        "scalable": icons / "scalable" / "apps" / f"{APP_ID}.svg",
    }
    for size in SIZES:
        paths[f"png{size}"] = icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    return paths


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A throwaway HOME with the desktop files installed (``--files-only``)."""
    home = new_home(tmp_path)
    result = run_script(home, "--files-only", PATH="/usr/bin:/bin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{home}/.local/bin is not on your PATH" in result.stdout
    return home


def run_remote(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """chinwag-remote as a process."""
    return subprocess.run(
        [sys.executable, "-m", "chinwag.cli.remote", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )


def validate(tool: str, *argv: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: desktop-file-utils / appstream)")
    result = subprocess.run(
        [tool, *argv], capture_output=True, text=True, check=False, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --------------------------------------------------------------------------- validators


@pytest.mark.parametrize("where", ["repository", "installed"])
def test_the_desktop_entry_is_valid(where: str, tmp_path: Path) -> None:
    if where == "repository":
        path = REPO / "packaging" / f"{APP_ID}.desktop"
    else:
        home = new_home(tmp_path)
        assert run_script(home, "--files-only").returncode == 0
        path = installed_paths(home)["desktop"]
        entry = configparser.ConfigParser(interpolation=None)
        entry.optionxform = str  # type: ignore[assignment,method-assign]
        entry.read(path)
        assert entry["Desktop Entry"]["Exec"] == COMMAND
        assert entry["Desktop Entry"]["TryExec"] == sys.executable
    validate("desktop-file-validate", str(path))


@pytest.mark.parametrize("where", ["repository", "installed"])
def test_the_metainfo_is_valid(where: str, tmp_path: Path) -> None:
    if where == "repository":
        path = REPO / "packaging" / f"{APP_ID}.metainfo.xml"
    else:
        home = new_home(tmp_path)
        assert run_script(home, "--files-only").returncode == 0
        path = installed_paths(home)["metainfo"]
    # --strict: anything above a pedantic hint fails (the one hint is the uppercase id,
    # which the D-Bus name and the desktop entry share)
    validate("appstreamcli", "validate", "--no-net", "--strict", str(path))


def test_the_metainfo_shows_the_screenshots_and_this_release() -> None:
    root = ET.parse(REPO / "packaging" / f"{APP_ID}.metainfo.xml").getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"  # type: ignore[union-attr]
    images = root.findall("screenshots/screenshot/image")
    assert images
    for image in images:
        name = (image.text or "").rsplit("/", 1)[-1]
        local = REPO / "resources" / "screenshots" / name
        assert local.exists(), f"{image.text} is not one of resources/screenshots"
        assert png_size(local) == (int(image.get("width", 0)), int(image.get("height", 0)))
    versions = [release.get("version") for release in root.findall("releases/release")]
    assert __version__ in versions


def test_the_service_file_starts_chinwag_in_the_background(installed: Path) -> None:
    for path in (REPO / "packaging" / f"{APP_ID}.service", installed_paths(installed)["service"]):
        service = configparser.ConfigParser(interpolation=None)
        service.optionxform = str  # type: ignore[assignment,method-assign]
        service.read(path)
        section = service["D-BUS Service"]
        assert section["Name"] == BUS_NAME
        argv = shlex.split(section["Exec"])
        assert os.path.isabs(argv[0]), "dbus-daemon runs Exec without searching PATH"
        assert argv[-1] == "--background"
    assert section["Exec"] == f"{COMMAND} --background"


def test_the_icons_are_rendered_at_every_size(installed: Path) -> None:
    paths = installed_paths(installed)
    for size in SIZES:
        assert png_size(paths[f"png{size}"]) == (size, size)
    assert paths["scalable"].read_bytes() == (REPO / "resources/icons/chinwag.svg").read_bytes()


@pytest.mark.parametrize("python", ["CHINWAG_PYTHON", "the launcher's"])
def test_qt_renders_the_icons_when_rsvg_convert_is_missing(tmp_path: Path, python: str) -> None:
    """install.sh's fallback renderer: Chinwag's Python with PySide6, given, or read from
    the ``chinwag`` launcher's ``#!`` line (``pipx install .`` then ``--files-only``)."""
    path_dir = tmp_path / "path"  # the system's commands but rsvg-convert
    path_dir.mkdir()
    for folder in (Path("/usr/bin"), Path("/bin")):
        for program in folder.iterdir():
            target = path_dir / program.name
            if program.name != "rsvg-convert" and not target.exists():
                target.symlink_to(program)
    home = new_home(tmp_path)
    env = {"PATH": str(path_dir), "QT_QPA_PLATFORM": "offscreen"}
    if python == "CHINWAG_PYTHON":
        env["CHINWAG_PYTHON"] = sys.executable
    else:  # as pipx leaves it, run by default
        launcher = home / ".local" / "bin" / "chinwag"
        launcher.write_text(f"#!{sys.executable}\nfrom chinwag.app import main\nmain()\n")
        launcher.chmod(0o755)
        env["CHINWAG_COMMAND"] = ""
    result = run_script(home, "--files-only", **env)
    assert result.returncode == 0, result.stderr
    assert "only the scalable icon" not in result.stderr
    from PySide6.QtGui import QImage

    for size in SIZES:
        image = QImage(str(installed_paths(home)[f"png{size}"]))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 3).alpha() == 255  # the bubble
        assert image.pixelColor(0, 0).alpha() == 0  # a transparent corner


def test_the_menu_entry_stays_hidden_until_the_command_exists(tmp_path: Path) -> None:
    """By default the entries run ~/.local/bin/chinwag (TryExec: the menu hides it when
    that is gone), quoted when the path has a space."""
    home = tmp_path / "my home"
    home.mkdir()
    result = run_script(home, "--files-only", CHINWAG_COMMAND="")
    assert result.returncode == 0, result.stderr
    text = installed_paths(home)["desktop"].read_text()
    assert f'Exec="{home}/.local/bin/chinwag"\n' in text
    assert f"TryExec={home}/.local/bin/chinwag\n" in text
    validate("desktop-file-validate", str(installed_paths(home)["desktop"]))


# --------------------------------------------------------------------------- uninstall


def test_uninstall_leaves_nothing_behind(tmp_path: Path) -> None:
    home = new_home(tmp_path)
    share = home / ".local" / "share"
    profile = share / "chinwag"
    profile.mkdir(mode=0o700)
    (profile / "history.sqlite3").write_bytes(b"the user's history")
    other = share / "applications" / "other.desktop"  # somebody else's
    other.parent.mkdir()
    other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other\n")
    foreign = home / ".local" / "bin" / "chinwag-remote"  # not a link into our venv
    foreign.write_text("#!/bin/sh\n")
    before = tree(home)

    result = run_script(home, "--files-only")
    assert result.returncode == 0, result.stderr
    # what a full install adds: the venv and the launchers (their contents do not matter
    # to --uninstall), and the "start on login" entry the preferences write
    venv = share / "chinwag-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "chinwag").write_text("#!/bin/sh\n")
    (home / ".local" / "bin" / "chinwag").symlink_to(venv / "bin" / "chinwag")
    autostart = home / ".config" / "autostart" / f"{APP_ID}.desktop"
    autostart.parent.mkdir()
    autostart.write_text("[Desktop Entry]\n")
    for path in installed_paths(home).values():
        assert path.is_file(), path
    assert tree(home) != before

    result = run_script(home, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert tree(home) == before
    assert "history, passwords and settings are still in" in result.stdout
    assert str(profile) in result.stdout


# --------------------------------------------------------------------------- activation


@pytest.mark.dbus
@pytest.mark.slow
async def test_a_call_on_the_bus_starts_chinwag_by_activation(installed: Path) -> None:
    from dbus_next.constants import MessageType
    from dbus_next.message import Message

    profile = installed / "profile"
    environment = {
        "HOME": str(installed),
        "XDG_CONFIG_HOME": str(profile / "config"),
        "XDG_DATA_HOME": str(profile / "data"),
        "XDG_STATE_HOME": str(profile / "state"),
        "XDG_CACHE_HOME": str(profile / "cache"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(REPO / "gui"),
    }
    services = installed_paths(installed)["service"].parent
    with PrivateSessionBus(service_dirs=[services]) as daemon:
        bus = await connect_session_bus(daemon.address)
        try:
            # what a desktop session does for its activated services
            await bus_daemon(bus, "UpdateActivationEnvironment", "a{ss}", [environment])
            (activatable,) = await bus_daemon(bus, "ListActivatableNames", "", [])
            assert BUS_NAME in activatable  # type: ignore[operator]
            (owned,) = await bus_daemon(bus, "NameHasOwner", "s", [BUS_NAME])
            assert owned is False

            # chinwag-remote never activates it unless asked with --start
            remote_env = {**os.environ, **environment, "DBUS_SESSION_BUS_ADDRESS": daemon.address}
            plain = await asyncio.to_thread(run_remote, "status", env=remote_env)
            assert plain.returncode == 3, plain.stderr
            (owned,) = await bus_daemon(bus, "NameHasOwner", "s", [BUS_NAME])
            assert owned is False

            # a plain method call (no NO_AUTO_START): the bus starts Chinwag, which answers
            reply = await asyncio.wait_for(
                bus.call(
                    Message(
                        destination=BUS_NAME,
                        path=MESSENGER_PATH,
                        interface=PROPERTIES,
                        member="Get",
                        signature="ss",
                        body=[MESSENGER, "MyStatus"],
                    )
                ),
                TIMEOUT,
            )
            assert reply.message_type == MessageType.METHOD_RETURN, reply.body
            assert reply.body[0].value == 1  # MISTATUS_OFFLINE: no account, nothing on
            # started as the service file says: in the background (app.py then shows no
            # window and no first-run dialog), on this checkout, with its own profile
            (pid,) = await bus_daemon(bus, "GetConnectionUnixProcessID", "s", [BUS_NAME])
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            assert [arg.decode() for arg in argv] == [*shlex.split(COMMAND), "--background"]
            assert (profile / "state" / "chinwag" / "chinwag.log").exists()
            await quit_and_wait(bus)

            # chinwag-remote --start: activated again, then the command runs
            started = await asyncio.to_thread(run_remote, "--start", "-v", "status", env=remote_env)
            assert started.returncode == 0, started.stderr
            assert started.stdout.strip() == "offline"
            assert "started Chinwag" in started.stderr
            await quit_and_wait(bus)
        finally:
            await close_message_bus(bus)


@pytest.mark.dbus
def test_remote_start_says_when_the_bus_cannot_start_chinwag(tmp_path: Path) -> None:
    """No service file: exit 3 naming the missing file; a program that does not come up
    on the bus: exit 3 too, after the bus did run it."""
    marker = tmp_path / "ran"
    script = tmp_path / "not-chinwag.sh"
    script.write_text(f'#!/bin/sh\necho ran > "{marker}"\nexit 1\n')
    script.chmod(0o755)
    services = tmp_path / "services"
    services.mkdir()
    with PrivateSessionBus(service_dirs=[services]) as daemon:
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": daemon.address}
        result = run_remote("status", "--start", env=env)
        assert result.returncode == 3
        assert "no D-Bus service file for im.chinwag.Chinwag" in result.stderr

    (services / f"{APP_ID}.service").write_text(
        f"[D-BUS Service]\nName={BUS_NAME}\nExec={script}\n"
    )
    with PrivateSessionBus(service_dirs=[services]) as daemon:
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": daemon.address}
        result = run_remote("status", "--start", env=env)
        assert result.returncode == 3
        assert "the bus could not start Chinwag" in result.stderr
        assert "Traceback" not in result.stderr
        assert marker.exists()
