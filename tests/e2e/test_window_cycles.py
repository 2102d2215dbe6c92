"""Regression guard for the PySide6 crash at exit noted in DEVELOPERS.md: hundreds of
conversation windows opened and closed from asyncio callbacks, then a clean exit.

Checked when written: with PySide6-Essentials 6.12.0 in a separate venv, window_cycles.py
with 300 cycles aborts at exit ("Fatal Python error: bool_dealloc", status 134); with the
pinned 6.11.3 it exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).parent


def test_pyside6_is_the_pinned_working_release() -> None:
    # 6.12.0 aborts at exit after a few hundred windows made from D-Bus calls under qasync
    assert version("PySide6-Essentials") == "6.11.3"


def test_hundreds_of_window_cycles_then_a_clean_exit(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, str(HERE / "window_cycles.py"), str(tmp_path), "300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert "Fatal Python error" not in result.stderr
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cycles done: 300" in result.stdout
