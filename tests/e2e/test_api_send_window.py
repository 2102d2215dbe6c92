"""End to end: ``Messages1.SendMessage`` while the contact's conversation window is open
(spec section 6: "the same as sending from that window (the message shows there)"), the
app as a process on a private bus and a real Prosody.

The message goes to the core, not through the window; the window shows it because it
observes the core's events. A burst of calls in flight must reach the contact once each,
in order, and every message must show in the window, in the same order."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from dbus_next import Variant

from rig.app import APP_TIMEOUT, AppProcess
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSENGER = "im.chinwag.Messenger1"
MESSAGES = "im.chinwag.Messages1"
CONVERSATION = "im.chinwag.ConversationWindow1"
BURST = 100
IN_FLIGHT = 32
LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] [^:]+: (.*)$")


async def send(client: Any, target: str, text: str) -> str:
    parts = [{}, {"content-type": Variant("s", "text/plain"), "content": Variant("s", text)}]
    (token,) = await client.call(
        ROOT, MESSAGES, "SendMessage", "osaa{sv}u", ["/", target, parts, 0]
    )
    assert isinstance(token, str)
    return token


async def test_a_burst_to_an_open_window_arrives_once_in_order_and_shows_there(
    chinwag_app: AppProcess, prosody: ProsodyServer
) -> None:
    client = await chinwag_app.client()
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        hr, window = await client.messenger("InstantMessage", "v", Variant("s", bob.jid))
        assert hr == 0
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one(n: int) -> str:
            async with slots:
                return await send(client, bob.jid, f"burst {n}")

        tokens = await asyncio.gather(*(one(n) for n in range(BURST)))
        assert len(set(tokens)) == BURST

        got = [str((await bob.next_message(APP_TIMEOUT))["body"]) for _ in range(BURST)]
        assert sorted(got) == sorted(f"burst {n}" for n in range(BURST))  # each once
        await send(client, bob.jid, "sentinel")  # nothing else is on its way
        assert (await bob.next_message(APP_TIMEOUT))["body"] == "sentinel"

        history = await client.get(window, CONVERSATION, "History")
        shown = [m.group(1) for line in history.splitlines() if (m := LINE.match(line))]
        assert shown[-1] == "sentinel"
        assert shown[:-1] == got  # every message in the window, in the order sent
        assert await client.get(ROOT, MESSENGER, "ConversationWindows") == [window]
