"""Start-up of the desktop client: from running ``chinwag`` to its first window painted,
and the resident memory once signed in with one account (against a local Prosody).

    .venv/bin/python bench/bench_startup.py [--runs 5]

Uses a virtual X screen (Xvfb) when installed, like a desktop, else offscreen. The client
reports its own figures when started with ``--debug-startup-report`` (first paint is
timed from the process start, as the kernel records it). Figures only."""

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
from _server import bench_server


def xvfb() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    if not shutil.which("Xvfb"):
        return None, None
    display = ":97"
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, display


def one_run(server, jid: str, password: str, display: str | None) -> dict[str, float]:  # type: ignore[no-untyped-def]
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
        env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"  # no keyring: the file
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
    try:
        with bench_server() as server:
            jid, password = server.make_user("startup")
            runs = [one_run(server, jid, password, display) for _ in range(args.runs)]
    finally:
        if xproc:
            xproc.terminate()
    paint = [r["first_paint_ms"] for r in runs]
    rss = [r["signed_in_rss_mb"] for r in runs]
    print(f"screen: {'Xvfb (xcb)' if display else 'offscreen'}, runs: {args.runs}")
    print(
        f"first window painted: median {statistics.median(paint):.0f} ms "
        f"(min {min(paint):.0f}, max {max(paint):.0f}); goal under 600 ms"
    )
    print(
        f"resident memory signed in: median {statistics.median(rss):.0f} MB "
        f"(max {max(rss):.0f}); goal under 100 MB"
    )


if __name__ == "__main__":
    main()
