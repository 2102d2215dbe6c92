"""Child-process plumbing shared by the rig's servers (Prosody, dbus-daemon).

Every rig child is started in its own session (hence its own process group, whose id is
the child's pid) and carries the environment marker ``CHINWAG_RIG_OWNER=<pytest pid>``.
That gives two guarantees:

* :func:`kill_group` ends the child and anything it spawned, and nothing else;
* :func:`reap_orphans` (called once per test session) ends rig children left behind by a
  pytest process that no longer exists (for example one killed with SIGKILL), identified by
  that marker and by pid -- never by process name -- and removes the short temporary
  directories such a process left in /tmp (:func:`make_temp_dir` puts its pid in their
  names).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

OWNER_ENV = "CHINWAG_RIG_OWNER"
_TEMP_DIR_NAME = re.compile(r"^cw-[a-z]+-(\d+)-")


def make_temp_dir(kind: str) -> Path:
    """A fresh mode-0700 directory ``/tmp/cw-<kind>-<pid>-XXXXXXXX``.

    Short on purpose: unix socket paths are limited to 108 bytes. Removed by its user;
    if this process dies first, :func:`reap_orphans` in a later session removes it.
    """
    return Path(tempfile.mkdtemp(prefix=f"cw-{kind}-{os.getpid()}-"))


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for a rig child: PATH, C.UTF-8 locale, the owner marker."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LANG": "C.UTF-8",
        OWNER_ENV: str(os.getpid()),
    }
    if extra:
        env.update(extra)
    return env


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    output: Path,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, stdout+stderr appended to ``output``."""
    with output.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(env),
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the process group of ``proc`` (its own, see :func:`spawn`)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def kill_group(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> int:
    """SIGTERM the group (and SIGCONT it, in case it is stopped), SIGKILL after ``grace``.

    Returns the exit status. Also SIGKILLs whatever is left in the group after the leader
    exited, so no grandchild survives.
    """
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        signal_group(proc, signal.SIGCONT)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (PID 1 here may not reap promptly)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may itself contain ")".
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _rig_owner_of(pid: int) -> int | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    prefix = f"{OWNER_ENV}=".encode()
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            try:
                return int(entry[len(prefix) :])
            except ValueError:
                return None
    return None


def reap_orphans(*, timeout: float = 5.0) -> list[int]:
    """Kill rig children whose owning process is gone, remove its temp dirs.

    Returns the killed pids.
    """
    reaped: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        owner = _rig_owner_of(pid)
        if owner is None or owner == os.getpid() or _pid_alive(owner):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            reaped.append(pid)
    for entry in Path(tempfile.gettempdir()).glob("cw-*-*-*"):
        match = _TEMP_DIR_NAME.match(entry.name)
        if match and entry.is_dir() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
    deadline = time.monotonic() + timeout
    while reaped and time.monotonic() < deadline and any(_pid_alive(p) for p in reaped):
        time.sleep(0.05)
    return reaped
