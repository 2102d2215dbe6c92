"""Two network namespaces joined by a veth pair, and Chinwag cores with a link-local
account running inside them (:mod:`rig.link_local_peer`), for the XEP-0174 tests and
the benchmark. Never the host's network: parallel runs there would find each other.

:func:`link` makes the namespaces (root and iproute2's ``ip`` needed: otherwise
:class:`Unavailable` says why) and removes them afterwards, also on failure."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig.procs import child_env, kill_group

TESTS = Path(__file__).resolve().parent.parent
GUI = TESTS.parent / "gui"
PEER = Path(__file__).resolve().parent / "link_local_peer.py"


class Unavailable(Exception):
    """Network namespaces cannot be made here (the reason)."""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=False, capture_output=True, text=True, timeout=20)


def _must(*args: str) -> None:
    done = _ip(*args)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass(frozen=True)
class Link:
    """Namespaces ``names[i]`` with address ``addresses[i]`` on one link."""

    names: tuple[str, str]
    addresses: tuple[str, str]


@contextlib.contextmanager
def link(tag: str = "") -> Iterator[Link]:
    """Two fresh namespaces on one veth link (10.204.N.1 and .2), lo up, a multicast
    route; removed on exit."""
    if os.geteuid() != 0:
        raise Unavailable("network namespaces need root")
    if shutil.which("ip") is None:
        raise Unavailable("no ip command (install iproute2)")
    n = (os.getpid() * 7 + int.from_bytes(tag.encode() or b"\0", "little")) % 100_000
    names = (f"cw-ll-{n}-a", f"cw-ll-{n}-b")
    veths = (f"cwll{n}a", f"cwll{n}b")
    subnet = f"10.204.{n % 250}"
    addresses = (f"{subnet}.1", f"{subnet}.2")
    made: list[str] = []
    try:
        for name in names:
            done = _ip("netns", "add", name)
            if done.returncode != 0:
                raise Unavailable(f"cannot make a network namespace: {done.stderr.strip()}")
            made.append(name)
        _must(
            "link",
            "add",
            veths[0],
            "netns",
            names[0],
            "type",
            "veth",
            "peer",
            "name",
            veths[1],
            "netns",
            names[1],
        )
        for name, veth, address in zip(names, veths, addresses, strict=True):
            _must("-n", name, "link", "set", "lo", "up")
            _must("-n", name, "addr", "add", f"{address}/24", "dev", veth)
            _must("-n", name, "link", "set", veth, "up")
            _must("-n", name, "route", "add", "224.0.0.0/4", "dev", veth)
        yield Link(names, addresses)
    finally:
        for name in made:  # (the veth pair goes with its namespaces)
            _ip("netns", "del", name)


class Peer:
    """One :mod:`rig.link_local_peer` process in a namespace: commands in, events out.

    Every line it prints is kept (:attr:`events`); :meth:`wait` blocks on the queue of
    lines until one matches (no polling, no sleeps), failing after ``timeout``."""

    def __init__(self, namespace: str, root: Path, log: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        env = child_env({"PYTHONPATH": f"{GUI}{os.pathsep}{TESTS}", "HOME": str(root)})
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, str(PEER), str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            start_new_session=True,
        )
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.account = ""
        self.wait(lambda e: e.get("ev") == "ready", 30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self._lines.put(json.loads(raw))
        self._lines.put(None)

    def wait(
        self,
        match: Callable[[dict[str, Any]], bool],
        timeout: float = 20.0,
        *,
        again: bool = False,
    ) -> dict[str, Any]:
        """The first line not waited for yet (``again``: or already waited for) that
        ``match``es, or the first such line to come."""
        for event in self.events:
            if (again or not event.get("_seen")) and match(event):
                event["_seen"] = True
                return event
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching line within {timeout} s; got {self.events[-8:]}")
            try:
                event = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if event is None:
                raise EOFError(f"the peer exited; last lines {self.events[-8:]}")
            self.events.append(event)
            if match(event):
                event["_seen"] = True
                return event

    def call(self, op: str, timeout: float = 20.0, **args: Any) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"id": ident, "op": op, **args}) + "\n").encode())
        self.proc.stdin.flush()
        reply = self.wait(lambda e: e.get("re") == ident, timeout)
        if "error" in reply:
            raise AssertionError(f"{op}: {reply['error']}")
        return reply

    def start(self, user: str, **args: Any) -> str:
        self.account = self.call("start", 30, user=user, **args)["account"]
        return self.account

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.call("quit", 15)
                self.proc.wait(timeout=10)
        kill_group(self.proc, grace=5)  # type: ignore[arg-type]
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._reader.join(timeout=10)
        self._log.close()
