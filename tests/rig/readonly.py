"""A folder nobody may change, for tests of how Chinwag copes with one: a read-only bind
mount of the folder onto itself when we are root (root ignores mode bits, so ``chmod``
would not stop it), else ``chmod a-w``. The test is skipped, with the reason, when
neither works. Mounts are undone on exit (lazily if something still holds them)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)


def _is_read_only(path: Path) -> bool:
    probe = path / f".probe-{uuid.uuid4().hex}"
    try:
        probe.mkdir()
    except OSError:
        return True
    probe.rmdir()
    return False


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` (an existing folder) read-only inside the ``with``."""
    if os.geteuid() != 0:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o222)
        try:
            if not _is_read_only(path):
                pytest.skip(f"chmod a-w does not make {path} read-only here")
            yield path
        finally:
            path.chmod(mode)
        return
    bind = _run("mount", "--bind", str(path), str(path))
    if bind.returncode != 0:
        pytest.skip(f"cannot make a read-only folder as root: mount --bind: {bind.stderr.strip()}")
    try:
        remount = _run("mount", "-o", "remount,ro,bind", str(path))
        if remount.returncode != 0 or not _is_read_only(path):
            pytest.skip(f"cannot remount {path} read-only: {remount.stderr.strip()}")
        yield path
    finally:
        if _run("umount", str(path)).returncode != 0:
            _run("umount", "-l", str(path))
