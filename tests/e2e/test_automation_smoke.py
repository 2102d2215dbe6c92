"""Smoke: the API comes up and answers."""

from __future__ import annotations

import pytest
from dbus_next import Variant

from chinwag.automation import names

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]


async def test_instant_message_opens_a_window(chinwag_app) -> None:  # type: ignore[no-untyped-def]
    client = await chinwag_app.client()
    signals = await client.watch()
    hr, path = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert hr == 0
    assert path.startswith(names.ROOT + "/window/")
    await signals.wait_for("OnIMWindowCreated", lambda b: b[0] == path)
    again = await client.messenger("InstantMessage", "v", Variant("s", "bob@localhost"))
    assert again == [0, path]
    assert await client.call(path, names.WINDOW, "Close") == [0]
    await signals.wait_for("OnIMWindowDestroyed", lambda b: b[0] == path)
    assert await client.call(path, names.WINDOW, "Close") == [1]
    assert await client.get(path, names.WINDOW, "IsClosed") is True
