"""A private D-Bus session bus (its own ``dbus-daemon``) for tests.

Usage (the ``dbus_bus`` fixture in ``tests/conftest.py`` does this and also points
``DBUS_SESSION_BUS_ADDRESS`` at it for the duration of the test)::

    bus = PrivateSessionBus()
    address = bus.start()          # "unix:path=/tmp/cw-dbus-XXXX/bus,guid=..."
    ...                            # dbus_next.aio.MessageBus(bus_address=address)
    bus.stop()

The daemon runs with a generated config instead of ``--session``'s system one: it listens
on a socket in a fresh short temporary directory (unix socket paths are limited to 108
bytes) and has **no service directories**, so nothing is ever D-Bus-activated on it -- in
particular no real Secret Service (gnome-keyring, KWallet) can appear. Tests that need a
service own its name on this bus themselves; ``service_dirs`` can add activation
directories for a test that wants activation.

The daemon is started in its own process group and killed with it (see :mod:`rig.procs`).

dbus-next 0.2.3 never closes its socket: ``MessageBus.disconnect()`` only shuts it down,
and a failed ``connect()`` leaves it open. The leaked socket surfaces at garbage collection
as ``ResourceWarning: unclosed <socket.socket ...>``, which pytest turns into a
``PytestUnraisableExceptionWarning`` error (warnings are errors here), often at session end
and attributed to no test. :func:`close_message_bus` closes a bus completely; code under
test that uses dbus-next needs the same care.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from xml.sax.saxutils import escape

from rig.procs import kill_group, make_temp_dir, spawn

DBUS_DAEMON_BIN = "/usr/bin/dbus-daemon"
STARTUP_TIMEOUT = 10.0


_live_buses: weakref.WeakSet[PrivateSessionBus] = weakref.WeakSet()


class DBusError(RuntimeError):
    """dbus-daemon did not start; the message has its output."""


class PrivateSessionBus:
    """A throwaway ``dbus-daemon`` acting as a session bus."""

    def __init__(self, *, service_dirs: Iterable[Path] = ()) -> None:
        self.service_dirs = tuple(service_dirs)
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._address: str | None = None

    @property
    def address(self) -> str:
        """The bus address, e.g. ``unix:path=/tmp/cw-dbus-x/bus,guid=...``."""
        if self._address is None:
            raise DBusError("the private bus is not running")
        return self._address

    @property
    def socket_path(self) -> Path:
        if self._dir is None:
            raise DBusError("the private bus is not running")
        return self._dir / "bus"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _config(self, directory: Path) -> str:
        dirs = "\n".join(f"  <servicedir>{escape(str(d))}</servicedir>" for d in self.service_dirs)
        return f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path={escape(str(directory / "bus"))}</listen>
  <auth>EXTERNAL</auth>
{dirs}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <!-- the limits of Debian's stock session.conf: without them dbus-daemon's built-in ones
       apply (128 calls in flight per client), far below what a real session bus allows -->
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="max_replies_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
</busconfig>
"""

    def start(self) -> str:
        """Start the daemon; return its address once it accepts connections."""
        if self.running:
            raise DBusError("the private bus is already running")
        self._dir = make_temp_dir("dbus")
        config = self._dir / "session.conf"
        config.write_text(self._config(self._dir))
        output = self._dir / "dbus-daemon.out"
        read_fd, write_fd = os.pipe()
        try:
            self._proc = spawn(
                [
                    DBUS_DAEMON_BIN,
                    f"--config-file={config}",
                    "--nofork",
                    "--nopidfile",
                    f"--print-address={write_fd}",
                ],
                cwd=self._dir,
                output=output,
                pass_fds=(write_fd,),
            )
            _live_buses.add(self)
            os.close(write_fd)
            write_fd = -1
            self._address = self._read_address(read_fd, output)
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        return self._address

    def _read_address(self, read_fd: int, output: Path) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        data = b""
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DBusError(f"dbus-daemon gave no address in time:\n{_tail(output)}")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 4096)
            if not chunk:
                raise DBusError(f"dbus-daemon exited before giving an address:\n{_tail(output)}")
            data += chunk
        address = data.split(b"\n", 1)[0].decode().strip()
        if not address.startswith("unix:"):
            raise DBusError(f"unexpected dbus-daemon address {address!r}")
        return address

    def stop(self) -> None:
        """Kill the daemon (and its process group) and remove its directory."""
        if self._proc is not None:
            kill_group(self._proc, grace=5.0)
            self._proc = None
        _live_buses.discard(self)
        self._address = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PrivateSessionBus {self._address or 'stopped'}>"


def stop_all_buses() -> None:
    """Stop every private bus still running in this process (session end, atexit)."""
    for bus in list(_live_buses):
        bus.stop()


async def close_message_bus(bus: Any, timeout: float = 5.0) -> None:
    """Disconnect a ``dbus_next.aio.MessageBus`` (if connected) and close its socket.

    Safe after a failed ``connect()`` too. See the module docstring for why.
    """
    import asyncio

    if getattr(bus, "connected", False):
        bus.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bus.wait_for_disconnect(), timeout)
    for name in ("_stream", "_sock"):
        resource = getattr(bus, name, None)
        if resource is not None:
            with contextlib.suppress(OSError):
                resource.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"
