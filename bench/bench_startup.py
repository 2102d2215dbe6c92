"""Start-up of the desktop client: from running ``chinwag`` to its first window painted and
to its automation API answering on a (private) session bus, and the resident memory once
signed in with one account (against a local Prosody).

    .venv/bin/python bench/bench_startup.py [--runs 5]

Uses a virtual X screen (Xvfb) when installed, like a desktop, else offscreen. The client
reports its own figures when started with ``--debug-startup-report`` (times from the
process start, as the kernel records it). Python runs with its bytecode cache as an
installed app has it (into a throwaway PYTHONPYCACHEPREFIX, filled by one unmeasured
run first), even where PYTHONDONTWRITEBYTECODE is set. Figures only."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _server import bench_server

from rig.dbus import PrivateSessionBus

SCREEN = ("-screen", "0", "1280x800x24")
PYCACHE = Path(tempfile.mkdtemp(prefix="chinwag-bench-pyc-"))


def xvfb() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    if not shutil.which("Xvfb"):
        return None, None
    read, write = os.pipe()  # Xvfb picks a free display and writes its number here
    proc = subprocess.Popen(
        # (-noreset: at a reset Xvfb writes its number again, and dies as the pipe is closed)
        ["Xvfb", "-displayfd", str(write), "-noreset", "-nolisten", "tcp", *SCREEN],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write,),
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        proc.terminate()
        return None, None
    time.sleep(0.2)
    return proc, f":{number}"


def one_run(server, jid: str, password: str, display: str | None, bus: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        for var, sub in (
            ("XDG_CONFIG_HOME", "c"),
            ("XDG_DATA_HOME", "d"),
            ("XDG_STATE_HOME", "s"),
            ("XDG_CACHE_HOME", "k"),
        ):
            env[var] = str(Path(home) / sub)
        (Path(home) / "c" / "chinwag").mkdir(parents=True)
        (Path(home) / "d" / "chinwag").mkdir(parents=True)
        accounts = {
            "version": 1,
            "accounts": [{"jid": jid, "host": server.host, "port": server.port, "enabled": True}],
        }
        (Path(home) / "c" / "chinwag" / "accounts.json").write_text(json.dumps(accounts))
        secrets = Path(home) / "d" / "chinwag" / "passwords.json"
        secrets.write_text(json.dumps({jid: password}))
        secrets.chmod(0o600)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus  # (no keyring there: the password file)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        if display:
            env["DISPLAY"] = display
            env["QT_QPA_PLATFORM"] = "xcb"
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        out = subprocess.run(
            [sys.executable, "-m", "chinwag", "--debug-startup-report"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        figures = {}
        for line in out.stdout.splitlines():
            if line.startswith("startup-report "):
                figures.update(json.loads(line.split(" ", 1)[1]))
        if "first_paint_ms" not in figures:
            raise SystemExit(f"no report from chinwag:\n{out.stdout}\n{out.stderr}")
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    xproc, display = xvfb()
    bus = PrivateSessionBus()
    try:
        address = bus.start()
        with bench_server() as server:
            jid, password = server.make_user("startup")
            one_run(server, jid, password, display, address)  # fills the bytecode cache
            runs = [one_run(server, jid, password, display, address) for _ in range(args.runs)]
    finally:
        bus.stop()
        if xproc:
            xproc.terminate()
        shutil.rmtree(PYCACHE, ignore_errors=True)
    print(f"screen: {'Xvfb (xcb)' if display else 'offscreen'}, runs: {args.runs}")
    for key, what in (("first_paint_ms", "first window painted"), ("api_ms", "API answering")):
        values = [r[key] for r in runs]
        print(
            f"{what}: median {statistics.median(values):.0f} ms "
            f"(min {min(values):.0f}, max {max(values):.0f}); goal under 500 ms"
        )
    rss = [r["signed_in_rss_mb"] for r in runs]
    print(
        f"resident memory signed in: median {statistics.median(rss):.0f} MB "
        f"(min {min(rss):.0f}, max {max(rss):.0f}); goal under 90 MB"
    )
    for key, what in (
        ("signed_in_rss_anon_mb", "its own (heap, Python objects)"),
        ("signed_in_rss_file_mb", "shared libraries and files"),
    ):
        values = [r[key] for r in runs if key in r]
        if values:
            print(f"  of which {what}: median {statistics.median(values):.0f} MB")


if __name__ == "__main__":
    main()
