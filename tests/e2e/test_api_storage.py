"""End to end: a full disk, told to scripts. ``Messages1.StorageProblem`` (s) and the
``StorageChanged(s)`` signal are additions beyond the spec: while the history cannot be
written, received messages are held unacknowledged, and scripts learn why; once there is
room again the problem is "" and every held message is reported, once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rig.app import start_app, wait_signed_in, write_profile
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer
from rig.small_disk import small_disk

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]

ROOT = "/im/chinwag/Chinwag"
MESSAGES = "im.chinwag.Messages1"


#: Long enough that what arrives cannot fit in space the database already has.
PADDING = " " + "x" * 1000


def body_of(message: list[dict]) -> str:
    return next(part["content"].value for part in message[1:] if "content" in part).split()[0]


async def test_a_full_disk_is_told_to_scripts_and_nothing_received_is_lost(
    prosody: ProsodyServer, dbus_bus: object, tmp_path: Path
) -> None:
    jid, password = prosody.make_user("app")
    env = write_profile(tmp_path, jid, password, prosody)
    with small_disk(tmp_path / "small") as disk:
        # Only the history (the data folder) is on the small disk.
        data = disk.root / "data"
        shutil.copytree(tmp_path / "data", data)
        env["XDG_DATA_HOME"] = str(data)
        assert json.loads((data / "chinwag" / "passwords.json").read_text())[jid] == password
        app = await start_app(tmp_path, env, jid, password, prosody)
        try:
            client = await app.client()
            signals = await client.watch()
            await wait_signed_in(app, client)
            assert await client.get(ROOT, MESSAGES, "StorageProblem") == ""
            count = 300
            async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
                disk.fill()
                for n in range(count):
                    bob.send_chat(jid, f"m{n:03d}{PADDING}")
                problem = await signals.wait_for("StorageChanged", lambda b: b[0] != "")
                assert "disk is full" in problem[0]
                assert await client.get(ROOT, MESSAGES, "StorageProblem") == problem[0]

                disk.free()
                await signals.wait_for("StorageChanged", lambda b: b[0] == "", timeout=60)
                assert await client.get(ROOT, MESSAGES, "StorageProblem") == ""
                await signals.wait_for(
                    "MessageReceived", lambda b: body_of(b[0]) == f"m{count - 1:03d}", timeout=60
                )
            bodies = [body_of(b[0]) for b in signals.named("MessageReceived")]
            assert sorted(bodies) == [f"m{n:03d}" for n in range(count)]
        finally:
            await app.close_clients()
            await app.terminate()
