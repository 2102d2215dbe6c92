"""500 conversation windows opened and closed over D-Bus, then ``Quit``: the process exits
with status 0 and no "Fatal Python error" (the PySide6 crash at exit noted in
DEVELOPERS.md came after a few hundred windows made from D-Bus calls under qasync)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from dbus_next import Variant

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.slow]

ROOT = "/im/chinwag/Chinwag"
WINDOW_PATH = re.compile(rf"^{ROOT}/window/([1-9][0-9]*)$")
MESSENGER = "im.chinwag.Messenger1"
WINDOW = "im.chinwag.Window1"
S_OK, S_FALSE = 0, 1
CYCLES = 500
TIMEOUT = 60.0


async def wait_count(signals: Any, member: str, count: int, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(signals.named(member)) < count:
        if asyncio.get_running_loop().time() > deadline:
            got = len(signals.named(member))
            raise AssertionError(f"{got} {member} signals of {count} within {timeout}s")
        await asyncio.sleep(0.05)


async def test_500_window_cycles_then_quit_exits_0(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    paths = []
    for i in range(CYCLES):
        peer = f"peer{i % 50:02d}@localhost"
        hr, path = await client.messenger("InstantMessage", "v", Variant("s", peer))
        assert hr == S_OK, (i, hr)
        assert WINDOW_PATH.match(path), path
        paths.append(path)
        (closed,) = await client.call(path, WINDOW, "Close")
        assert closed == S_OK, (i, closed)
        if i % 100 == 99:
            assert await client.call(path, WINDOW, "Release") == [S_OK]
    assert len(set(paths)) == CYCLES, "a window path was given out twice"
    assert chinwag_app.running(), chinwag_app.diagnostics()
    assert await client.get(ROOT, MESSENGER, "ConversationWindows") == []
    await wait_count(signals, "OnIMWindowCreated", CYCLES)
    await wait_count(signals, "OnIMWindowDestroyed", CYCLES)
    assert sorted(b[0] for b in signals.named("OnIMWindowDestroyed")) == sorted(paths)

    assert await client.messenger("Quit") == S_OK
    code = await chinwag_app.wait_exit(TIMEOUT)
    stderr = chinwag_app.stderr_path.read_text(errors="replace")
    assert "Fatal Python error" not in stderr, stderr[-4000:]
    assert code == 0, chinwag_app.diagnostics()
    await signals.wait_for("OnAppShutdown")
