"""A desktop's keyring for tests: an X screen (Xvfb) and a private session bus that
carries its ``DISPLAY``, on which ``org.freedesktop.secrets`` is D-Bus-activated as the
real ``gnome-keyring-daemon`` (Debian's ``gnome-keyring``), whose prompts are put up by
the real ``gcr-prompter`` (Debian's ``gcr``) on that screen.

In a fresh ``HOME`` there is no login keyring, so the first Secret Service call that
needs one (reading or saving a password) makes gnome-keyring ask, in a window, whether to
create it -- and nobody answers: what a desktop whose keyring is locked or missing does to
a program that asks it synchronously. Usage (async, inside a test)::

    desktop = KeyringDesktop(tmp_path / "home")
    await desktop.start()
    env.update(desktop.env())     # DISPLAY and DBUS_SESSION_BUS_ADDRESS for the app
    ...
    await desktop.prompt_up()     # True while gcr-prompter is running on the bus
    await desktop.stop()

The bus is a :class:`rig.dbus.PrivateSessionBus` with a service directory holding only
the keyring's services; the activation environment (``DISPLAY``, ``HOME``, XDG
directories) is set with ``UpdateActivationEnvironment``, as a desktop session does. The
activated daemons run in the bus's process group and die with it.
"""

from __future__ import annotations

import os
import select
import shutil
import time
from pathlib import Path
from typing import Any

from dbus_next import Message, MessageType
from dbus_next.aio import MessageBus

from rig.dbus import PrivateSessionBus, close_message_bus
from rig.procs import kill_group, make_temp_dir, spawn

XVFB = "Xvfb"
GNOME_KEYRING = "/usr/bin/gnome-keyring-daemon"
GCR_PROMPTER = "/usr/libexec/gcr-prompter"
PROMPTER = "org.gnome.keyring.SystemPrompter"
STARTUP_TIMEOUT = 15.0

#: The keyring's D-Bus services, as Debian's gnome-keyring and gcr packages install them.
SERVICES = {
    "org.freedesktop.secrets": f"{GNOME_KEYRING} --start --foreground --components=secrets",
    "org.gnome.keyring": f"{GNOME_KEYRING} --start --foreground --components=secrets",
    "org.gnome.keyring.SystemPrompter": GCR_PROMPTER,
    "org.gnome.keyring.PrivatePrompter": GCR_PROMPTER,
}


def missing() -> str | None:
    """Why the keyring desktop cannot run here, or None."""
    if shutil.which(XVFB) is None:
        return "Xvfb is not installed (Debian package 'xvfb')"
    if not os.access(GNOME_KEYRING, os.X_OK):
        return f"{GNOME_KEYRING} is not installed (Debian package 'gnome-keyring')"
    if not os.access(GCR_PROMPTER, os.X_OK):
        return f"{GCR_PROMPTER} is not installed (Debian package 'gcr')"
    return None


class KeyringDesktop:
    """Xvfb plus a session bus with the real gnome-keyring (see the module docstring)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.display = ""
        self._dir: Path | None = None
        self._xvfb: Any = None
        self._bus: PrivateSessionBus | None = None

    @property
    def bus_address(self) -> str:
        assert self._bus is not None, "not started"
        return self._bus.address

    def env(self) -> dict[str, str]:
        """What a program on this desktop has in its environment."""
        return {"DISPLAY": self.display, "DBUS_SESSION_BUS_ADDRESS": self.bus_address}

    async def start(self) -> None:
        try:
            self._dir = make_temp_dir("keyring")
            self.display = self._start_xvfb(self._dir)
            services = self._dir / "services"
            services.mkdir()
            for name, command in SERVICES.items():
                (services / f"{name}.service").write_text(
                    f"[D-BUS Service]\nName={name}\nExec={command}\n"
                )
            self._bus = PrivateSessionBus(service_dirs=[services])
            self._bus.start()
            await self._set_activation_environment()
        except BaseException:
            await self.stop()
            raise

    def _start_xvfb(self, directory: Path) -> str:
        """Start Xvfb on a display it picks itself (``-displayfd``); return ``:n``."""
        read_fd, write_fd = os.pipe()
        try:
            self._xvfb = spawn(
                [
                    XVFB,
                    "-displayfd",
                    str(write_fd),
                    "-nolisten",
                    "tcp",
                    "-screen",
                    "0",
                    "1024x768x24",
                ],
                cwd=directory,
                output=directory / "xvfb.out",
                pass_fds=(write_fd,),
            )
            os.close(write_fd)
            write_fd = -1
            deadline = time.monotonic() + STARTUP_TIMEOUT
            data = b""
            while not data.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                ready, _, _ = select.select([read_fd], [], [], max(remaining, 0))
                if not ready:
                    raise RuntimeError(f"Xvfb named no display in time: {self._xvfb_output()}")
                chunk = os.read(read_fd, 64)
                if not chunk:
                    raise RuntimeError(f"Xvfb exited: {self._xvfb_output()}")
                data += chunk
            return f":{int(data)}"
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)

    def _xvfb_output(self) -> str:
        assert self._dir is not None
        path = self._dir / "xvfb.out"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no output)"

    async def _set_activation_environment(self) -> None:
        home = self.home
        variables = {
            "DISPLAY": self.display,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(self._runtime_dir()),
            "NO_AT_BRIDGE": "1",  # no accessibility bus on this test desktop
            "GSETTINGS_BACKEND": "memory",  # nor a dconf service
        }
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            Path(variables[var]).mkdir(parents=True, exist_ok=True)
        await self._call(
            "UpdateActivationEnvironment", "a{ss}", [variables], destination="org.freedesktop.DBus"
        )

    def _runtime_dir(self) -> Path:
        assert self._dir is not None
        runtime = self._dir / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        return runtime

    async def _call(self, member: str, signature: str, body: list[Any], destination: str) -> Any:
        bus = await MessageBus(bus_address=self.bus_address).connect()
        try:
            reply = await bus.call(
                Message(
                    destination=destination,
                    path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus",
                    member=member,
                    signature=signature,
                    body=body,
                )
            )
        finally:
            await close_message_bus(bus)
        assert reply is not None
        if reply.message_type is MessageType.ERROR:
            raise RuntimeError(f"{member}: {reply.error_name}: {reply.body}")
        return reply.body[0] if reply.body else None

    async def prompt_up(self) -> bool:
        """True while the keyring's prompter is running on the bus (it is started for a
        prompt, and put up the window; in this test desktop nobody answers it)."""
        return bool(await self._call("NameHasOwner", "s", [PROMPTER], "org.freedesktop.DBus"))

    async def stop(self) -> None:
        """Stop the bus (and the keyring daemons with it) and the X server."""
        if self._bus is not None:
            self._bus.stop()
            self._bus = None
        if self._xvfb is not None:
            kill_group(self._xvfb, grace=5.0)
            self._xvfb = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
