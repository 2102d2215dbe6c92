"""SetGeometry within bounds (issue 9, the windows, item 2): a script asking for a
30,000 x 30,000 window got one, backed by 3.5 GB of memory. The frame is now clamped to
the screens' available geometry (offscreen: a 4K desktop) and the call is S_OK, as the
spec's "Moves/resizes" promises; the process's memory stays where it was.

Names, paths and result codes are spelled as the spec writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MAIN_WINDOW = f"{ROOT}/window/main"
WINDOW = "im.chinwag.Window1"
S_OK = 0
#: A window bigger than any desktop the app could be on (8K) was not clamped.
LARGEST_DESKTOP = (7680, 4320)
#: How much the peak resident memory may grow over all the calls of a test.
MEMORY_GROWTH_LIMIT_KB = 200 * 1024


def peak_rss_kb(pid: int) -> int:
    """VmHWM: the largest resident set the process ever had (a freed 3.5 GB image
    still counts)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


async def set_geometry(client: Any, path: str, *frame: int) -> int:
    (hr,) = await client.call(path, WINDOW, "SetGeometry", "iiii", frame)
    return int(hr)


async def geometry(client: Any, path: str) -> tuple[int, int, int, int]:
    props = await client.get_all(path, WINDOW)
    return (props["Left"], props["Top"], props["Width"], props["Height"])


def within_a_desktop(frame: tuple[int, int, int, int]) -> bool:
    _left, _top, width, height = frame
    return 0 < width <= LARGEST_DESKTOP[0] and 0 < height <= LARGEST_DESKTOP[1]


async def test_huge_geometry_is_clamped_and_costs_no_memory(chinwag_app: Any) -> None:
    app = chinwag_app
    client = await app.client()
    assert await client.call(MAIN_WINDOW, WINDOW, "Show") == [S_OK]
    hr, conversation = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert hr == S_OK
    # Both windows painted at an ordinary size first: what is measured is the growth.
    for path in (MAIN_WINDOW, conversation):
        assert await set_geometry(client, path, 10, 20, 500, 400) == S_OK
        assert await geometry(client, path) == (10, 20, 500, 400)
    before = peak_rss_kb(app.proc.pid)

    for path in (MAIN_WINDOW, conversation):
        assert await set_geometry(client, path, 0, 0, 30_000, 30_000) == S_OK
        clamped = await geometry(client, path)
        assert within_a_desktop(clamped), clamped
        assert clamped[2] < 30_000
        assert clamped[3] < 30_000

        # the far ends of the argument's range: clamped too, and the window stays usable
        assert await set_geometry(client, path, 2**31 - 1, 2**31 - 1, 2**31 - 1, 2**31 - 1) == S_OK
        assert within_a_desktop(await geometry(client, path))
        assert await set_geometry(client, path, -(2**31), -(2**31), 2**31 - 1, 1) == S_OK
        left, top, width, height = await geometry(client, path)
        assert within_a_desktop((left, top, width, height))
        assert left > -(2**31)
        assert top > -(2**31)

        # an ordinary frame is still done exactly
        assert await set_geometry(client, path, 40, 50, 640, 480) == S_OK
        assert await geometry(client, path) == (40, 50, 640, 480)

    # The windows were repainted at each size (answered calls came after each resize).
    assert await client.call(MAIN_WINDOW, WINDOW, "Show") == [S_OK]
    grown = peak_rss_kb(app.proc.pid) - before
    assert grown < MEMORY_GROWTH_LIMIT_KB, f"peak memory grew by {grown // 1024} MB"
    assert app.running()
