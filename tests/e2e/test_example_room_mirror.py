"""End to end: ``examples/room_mirror.py`` against the app (a process on a private bus)
and a real Prosody, with a slixmpp occupant: it prints the room's history from the log
(RetransmitEventsFrom), then its messages, edits and removals as they happen, and answers
a message that mentions the account."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbus_next import Variant
from slixmpp import JID

from rig.app import APP_TIMEOUT
from rig.conversations import plain
from rig.peer import XmppPeer

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "room_mirror.py"
ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
PROCESS_TIMEOUT = 60.0


async def line(reader: asyncio.StreamReader | None) -> str:
    assert reader is not None
    try:
        raw = await asyncio.wait_for(reader.readline(), APP_TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"no line within {APP_TIMEOUT}s") from None
    assert raw.endswith(b"\n"), f"the stream ended: {raw!r}"
    return raw.decode().rstrip("\n")


async def body_in_room(peer: XmppPeer, text: str) -> None:
    while True:
        stanza = await peer.next_message(timeout=APP_TIMEOUT)
        if stanza["type"] == "groupchat" and str(stanza["body"]) == text:
            return


async def test_the_room_mirror_catches_up_follows_and_answers_a_mention(chinwag_app: Any) -> None:
    client = await chinwag_app.client()
    signals = await client.watch()
    prosody = chinwag_app.prosody
    me = chinwag_app.jid
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        path = (
            await client.call(
                ROOT,
                CONVERSATIONS,
                "CreateConversation",
                "a{sv}",
                [{"participants": Variant("aa{sv}", [{"user": Variant("s", bob.jid)}])}],
            )
        )[0]
        room = await client.get(path, CONVERSATION, "Address")
        client_ = bob.client
        client_.register_plugin("xep_0045")
        await client_.plugin["xep_0045"].join_muc_wait(JID(room), "bob", maxstanzas=0, timeout=15)
        seen = len(signals.items)
        client_.send_message(mto=JID(room), mbody="before the mirror", mtype="groupchat")
        before = plain(
            (
                await signals.wait_for(
                    "OnSendMessage",
                    lambda b: plain(b[1])["message"]["text"] == "before the mirror",
                    after=seen,
                )
            )[1]
        )

        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            room,
            "--reply",
            "back soon",
            env=chinwag_app.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert await line(proc.stderr) == f"room_mirror: mirroring {path}; Ctrl-C to stop"
            # The history, from the log.
            assert await line(proc.stdout) == f"#{before['sequence']} {bob.jid}: before the mirror"
            # Live: a mention is answered in the room.
            nick = me.partition("@")[0]
            client_.send_message(mto=JID(room), mbody=f"hey {nick}, there?", mtype="groupchat")
            said = await line(proc.stdout)
            assert said.endswith(f" {bob.jid}: hey {nick}, there?")
            sequence = int(said.split()[0][1:])
            assert await line(proc.stdout) == f"replied to {bob.jid} (#{sequence})"
            await body_in_room(bob, f"{bob.jid}: back soon")
            ours = await line(proc.stdout)
            assert ours.endswith(f" {me}: {bob.jid}: back soon")
            # Our edit and removal, mirrored (with the uuid everyone knows).
            sent = plain(
                (await client.call(path, CONVERSATION, "SendMessage", "ss", ["typo", ""]))[0]
            )
            uuid = sent["message"]["uuid"]
            assert await line(proc.stdout) == f"#{sent['sequence']} {me}: typo"
            await client.call(
                path, CONVERSATION, "EditMessage", "sa{sv}", [uuid, {"text": Variant("s", "fixed")}]
            )
            assert (await line(proc.stdout)).endswith(f" {me} edited {uuid}: fixed")
            await client.call(path, CONVERSATION, "RemoveMessage", "s", [uuid])
            assert (await line(proc.stdout)).endswith(f" {me} removed {uuid}")
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), PROCESS_TIMEOUT)
        assert code == 0
