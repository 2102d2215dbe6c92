"""The Conversations API from the shell (issue 13's "gdbus and dbus-send calls"): the
stock tools call the running app (on its private bus, by address) and print the reply a
shell script reads: the Me property, CreateConversation, GetConversation,
Conversation1.SendMessage and property reads; a refused call prints the spec's error
name, ``im.chinwag.Error.Messaging.<Name>``, and its ``<code>: ...`` message
(conversations-api.md section 2). Skipped, with the reason, where gdbus or dbus-send is
not installed (tests/run.sh installs both: libglib2.0-bin, dbus)."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid as uuids
from typing import Any

import pytest

from rig.conversations import plain, room_uuid

pytestmark = [pytest.mark.prosody, pytest.mark.dbus, pytest.mark.shared_app]

DEST = "im.chinwag.Chinwag"
ROOT = "/im/chinwag/Chinwag"
CONVERSATIONS = "im.chinwag.Conversations1"
CONVERSATION = "im.chinwag.Conversation1"
PROPERTIES = "org.freedesktop.DBus.Properties"
PATH = re.compile(r"/im/chinwag/Chinwag/conversation/\d+")
TIMEOUT = 30.0


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian: {PACKAGES[name]})")
    return found


PACKAGES = {"gdbus": "libglib2.0-bin", "dbus-send": "dbus"}


async def run(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def gdbus(app: Any, path: str, method: str, *args: str) -> tuple[int, str, str]:
    return await run(
        tool("gdbus"),
        "call",
        "--address",
        app.bus_address,
        "--dest",
        DEST,
        "--object-path",
        path,
        "--method",
        method,
        *args,
    )


async def dbus_send(app: Any, path: str, method: str, *args: str) -> tuple[int, str, str]:
    return await run(
        tool("dbus-send"),
        f"--bus={app.bus_address}",
        "--print-reply",
        f"--dest={DEST}",
        path,
        method,
        *args,
    )


async def test_gdbus_reads_creates_sends_and_shows_refusals(chinwag_app: Any) -> None:
    tool("gdbus")
    client = await chinwag_app.client()  # holds what the shell creates, so it stays
    signals = await client.watch()
    me = chinwag_app.jid

    code, out, err = await gdbus(chinwag_app, ROOT, f"{PROPERTIES}.Get", CONVERSATIONS, "Me")
    assert code == 0, err
    assert out == f"(<'{me}'>,)\n"

    seen = len(signals.items)
    code, out, err = await gdbus(
        chinwag_app, ROOT, f"{CONVERSATIONS}.CreateConversation", "{'title': <'From a shell'>}"
    )
    assert code == 0, err
    match = re.fullmatch(rf"\(objectpath '({PATH.pattern})',\)\n", out)
    assert match, out
    path = match.group(1)
    created = await signals.wait_for("OnCreateConversation", after=seen)
    assert created[0] == path

    # gdbus has left the bus, and with it its hold on the object (section 4); a client
    # that stays gets it again, at the same path, from ListConversations.
    (listed,) = await client.call(ROOT, CONVERSATIONS, "ListConversations")
    assert path in listed
    uuid = room_uuid(await client.get(path, CONVERSATION, "Address"))
    code, out, err = await gdbus(chinwag_app, ROOT, f"{CONVERSATIONS}.GetConversation", uuid)
    assert code == 0, err
    assert out == f"(objectpath '{path}',)\n"
    code, out, err = await gdbus(chinwag_app, path, f"{PROPERTIES}.Get", CONVERSATION, "Title")
    assert code == 0, err
    assert out == "(<'From a shell'>,)\n"

    seen = len(signals.items)
    code, out, err = await gdbus(
        chinwag_app, path, f"{CONVERSATION}.SendMessage", "from gdbus", '[{"k": 1}]'
    )
    assert code == 0, err
    said = plain(
        (
            await signals.wait_for(
                "OnSendMessage",
                lambda b: plain(b[1])["message"]["text"] == "from gdbus",
                after=seen,
            )
        )[1]
    )
    assert out.startswith("({")
    assert "'action': <'sendMessage'>" in out
    assert f"'user': <'{me}'>" in out
    assert f"'uuid': <'{said['message']['uuid']}'>" in out
    assert f"'conversation': <'{uuid}'>" in out
    assert "'text': <'from gdbus'>" in out
    assert f"'sequence': <int64 {said['sequence']}>" in out

    # Refused: the spec's name and "<code>: ..." (gdbus exits 1 and says so on stderr).
    code, out, err = await gdbus(
        chinwag_app, ROOT, f"{CONVERSATIONS}.GetConversation", str(uuids.uuid4())
    )
    assert code != 0
    assert out == ""
    assert "GDBus.Error:im.chinwag.Error.Messaging.ConversationDoesNotExist: 8: " in err
    code, out, err = await gdbus(chinwag_app, path, f"{CONVERSATION}.SendMessage", "x" * 5001, "")
    assert code != 0
    assert "GDBus.Error:im.chinwag.Error.Messaging.MessageSizeExceedsLimit: 23: " in err
    code, out, err = await gdbus(chinwag_app, path, f"{CONVERSATION}.RetransmitEvents", "2", "1")
    assert code != 0
    assert "GDBus.Error:im.chinwag.Error.Messaging.FromGreaterThanTo: 28: " in err
    assert chinwag_app.running()


async def test_dbus_send_reads_sends_and_shows_refusals(chinwag_app: Any) -> None:
    tool("dbus-send")
    client = await chinwag_app.client()
    signals = await client.watch()
    me = chinwag_app.jid

    code, out, err = await dbus_send(
        chinwag_app, ROOT, f"{PROPERTIES}.Get", f"string:{CONVERSATIONS}", "string:Me"
    )
    assert code == 0, err
    assert out.startswith("method return ")
    assert out.splitlines()[1].split() == ["variant", "string", f'"{me}"']

    # A conversation the test's client holds; the shell finds it by uuid.
    (path,) = await client.call(ROOT, CONVERSATIONS, "CreateConversation", "a{sv}", [{}])
    uuid = await client.get(path, CONVERSATION, "Uuid")
    code, out, err = await dbus_send(
        chinwag_app, ROOT, f"{CONVERSATIONS}.GetConversation", f"string:{uuid}"
    )
    assert code == 0, err
    assert out.splitlines()[1].split() == ["object", "path", f'"{path}"']
    code, out, err = await dbus_send(
        chinwag_app, path, f"{PROPERTIES}.Get", f"string:{CONVERSATION}", "string:Direct"
    )
    assert code == 0, err
    assert out.splitlines()[1].split() == ["variant", "boolean", "false"]
    code, out, err = await dbus_send(
        chinwag_app, path, f"{PROPERTIES}.Get", f"string:{CONVERSATION}", "string:Uuid"
    )
    assert code == 0, err
    assert out.splitlines()[1].split() == ["variant", "string", f'"{uuid}"']

    seen = len(signals.items)
    code, out, err = await dbus_send(
        chinwag_app, path, f"{CONVERSATION}.SendMessage", "string:from dbus-send", "string:"
    )
    assert code == 0, err
    said = plain(
        (
            await signals.wait_for(
                "OnSendMessage",
                lambda b: plain(b[1])["message"]["text"] == "from dbus-send",
                after=seen,
            )
        )[1]
    )
    assert out.startswith("method return ")
    assert 'string "sendMessage"' in out
    assert f'string "{said["message"]["uuid"]}"' in out
    assert 'string "from dbus-send"' in out
    assert f"int64 {said['sequence']}" in out

    # Refused: "Error <name>: <code>: ..." on stderr.
    code, out, err = await dbus_send(
        chinwag_app, ROOT, f"{CONVERSATIONS}.GetConversation", f"string:{uuids.uuid4()}"
    )
    assert code != 0
    assert err.startswith("Error im.chinwag.Error.Messaging.ConversationDoesNotExist: 8: ")
    code, out, err = await dbus_send(
        chinwag_app, path, f"{CONVERSATION}.MarkAsRead", f"int64:{said['sequence'] + 1}"
    )
    assert code != 0
    assert err.startswith("Error im.chinwag.Error.Messaging.WrongSequenceArgument: 24: ")
    code, out, err = await dbus_send(
        chinwag_app, ROOT, f"{CONVERSATIONS}.GetUserByIMId", "int64:987654321"
    )
    assert code != 0
    assert err.startswith("Error im.chinwag.Error.Messaging.UserNotFound: 25: ")
    # A wrong type from the shell (int32 for x): the spec's 10001, and the app goes on.
    code, out, err = await dbus_send(chinwag_app, path, f"{CONVERSATION}.MarkAsRead", "int32:1")
    assert code != 0
    assert err.startswith("Error im.chinwag.Error.Messaging.InvalidArguments: 10001: ")
    assert await client.get(path, CONVERSATION, "LastSequence") >= said["sequence"]
    assert chinwag_app.running()
