"""Environment isolation: HOME, XDG base directories, runtime dir, unreachable D-Bus.

:func:`isolation_environ` computes (and creates) the variables; ``tests/conftest.py``
applies them once for the whole session (in ``pytest_configure``, before pytest-qt creates
the QApplication) and again per test with ``monkeypatch`` (autouse ``isolated_env``
fixture, which yields an :class:`IsolatedEnv`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

XDG_VARS: tuple[str, ...] = (
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
)
ISOLATED_VARS: tuple[str, ...] = (
    "HOME",
    *XDG_VARS,
    "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SYSTEM_BUS_ADDRESS",
)


@dataclass(frozen=True)
class IsolatedEnv:
    """Where a test's HOME / XDG directories are."""

    home: Path
    config_home: Path
    data_home: Path
    state_home: Path
    cache_home: Path
    runtime_dir: Path


def isolation_environ(home: Path, runtime_dir: Path) -> dict[str, str]:
    """Variables for an isolated HOME under ``home``; creates the XDG directories.

    The D-Bus addresses name sockets that do not exist in ``runtime_dir``, so connecting
    fails at once instead of reaching a real bus (or autolaunching one).
    """
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime_dir / 'no-session-bus'}",
        "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={runtime_dir / 'no-system-bus'}",
    }
    for var in XDG_VARS:
        Path(env[var]).mkdir(parents=True, exist_ok=True)
    return env


def isolated_env_from(env: dict[str, str]) -> IsolatedEnv:
    return IsolatedEnv(
        home=Path(env["HOME"]),
        config_home=Path(env["XDG_CONFIG_HOME"]),
        data_home=Path(env["XDG_DATA_HOME"]),
        state_home=Path(env["XDG_STATE_HOME"]),
        cache_home=Path(env["XDG_CACHE_HOME"]),
        runtime_dir=Path(env["XDG_RUNTIME_DIR"]),
    )
