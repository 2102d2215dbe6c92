"""tests/run.sh stops Debian's system-wide Prosody by its service or its pidfile, never by
name: the tests' own servers (and anyone else's) are prosody processes too.

The script's ``stop_system_prosody`` function is run on its own, with ``systemctl`` and
``service`` shadowed so nothing on this machine is touched, against stand-in processes
named ``prosody`` that block SIGTERM: a signal sent to them stays pending, so whether one
was sent is read from ``/proc`` at once, with no waiting."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_SH = ROOT / "tests" / "run.sh"

STAND_IN = f"""#!{sys.executable}
import signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}})
print("ready", flush=True)
sys.stdin.read()
"""


def stop_function() -> str:
    match = re.search(r"^stop_system_prosody\(\) \{\n.*?^\}\n", RUN_SH.read_text(), re.M | re.S)
    assert match is not None, "tests/run.sh has no stop_system_prosody function"
    return match.group(0)


def term_pending(pid: int) -> bool:
    """SIGTERM is pending (it is blocked by the stand-in, so it stays pending)."""
    status = Path(f"/proc/{pid}/status").read_text()
    masks = re.findall(r"^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$", status, re.M)
    return any(int(mask, 16) & (1 << (signal.SIGTERM - 1)) for mask in masks)


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Start stand-ins with ``start(folder)``; each is a process called ``prosody``."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.communicate()


def start(stand_ins: list[subprocess.Popen[str]], folder: Path) -> subprocess.Popen[str]:
    folder.mkdir()
    script = folder / "prosody"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    proc = subprocess.Popen([str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    stand_ins.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "prosody"
    return proc


def run_stop(pidfile: Path) -> subprocess.CompletedProcess[str]:
    script = "systemctl() { return 1; }\nservice() { return 1; }\n"
    script += stop_function() + 'stop_system_prosody "$1"\n'
    return subprocess.run(
        ["bash", "-c", script, "bash", str(pidfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_sh_kills_nothing_by_name() -> None:
    text = RUN_SH.read_text()
    assert not re.search(r"\b(pkill|killall|pidof)\b", text)


def test_the_pidfile_s_prosody_is_stopped_and_no_other(
    tmp_path: Path, stand_ins: list[subprocess.Popen[str]]
) -> None:
    system = start(stand_ins, tmp_path / "system")
    other = start(stand_ins, tmp_path / "other")  # a test's own server, say
    pidfile = tmp_path / "prosody.pid"
    pidfile.write_text(f"{system.pid}\n")

    result = run_stop(pidfile)

    assert (result.returncode, result.stderr) == (0, "")
    assert term_pending(system.pid)
    assert not term_pending(other.pid)


@pytest.mark.parametrize("content", ["", "garbage\n", "-1\n", "0\n", "999999999\n", None])
def test_no_usable_pidfile_stops_nothing(
    tmp_path: Path, stand_ins: list[subprocess.Popen[str]], content: str | None
) -> None:
    bystander = start(stand_ins, tmp_path / "bystander")
    pidfile = tmp_path / "prosody.pid"
    if content is not None:
        pidfile.write_text(content)

    result = run_stop(pidfile)

    assert (result.returncode, result.stderr) == (0, "")
    assert not term_pending(bystander.pid)


def test_a_stale_pidfile_naming_another_program_stops_nothing(tmp_path: Path) -> None:
    # The pid was reused by something that is not Prosody.
    with subprocess.Popen(
        [sys.executable, "-c", STAND_IN.partition("\n")[2]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as unrelated:
        try:
            assert unrelated.stdout is not None
            assert unrelated.stdout.readline() == "ready\n"
            pidfile = tmp_path / "prosody.pid"
            pidfile.write_text(f"{unrelated.pid}\n")

            result = run_stop(pidfile)

            assert (result.returncode, result.stderr) == (0, "")
            assert not term_pending(unrelated.pid)
        finally:
            unrelated.kill()
