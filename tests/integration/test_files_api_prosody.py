"""Files through the API layer (under D-Bus and the gateways): ``Messages1.SendMessage``
attaches a file with the ``chinwag-file-path`` part key, ``Conversation1.SendMessage``
with a ``{"chinwag-file-path": ...}`` payload object; the contact gets the link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chinwag.api.conversation_ops import ConversationOps, file_of
from chinwag.api.errors import ApiError
from chinwag.api.messages import FILE_PART_KEY, parse_file_part, parse_message_parts
from chinwag.api.messaging_errors import MessagingError
from chinwag.api.service import Api
from chinwag.core.models import ConversationKey, MessageState
from conftest import CoreMaker
from rig.fakes import FakeWindowHost
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


async def test_send_message_attaches_a_file_by_path(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    api = Api(alice.core, FakeWindowHost(alice.core))
    (tmp_path / "notes.txt").write_text("the notes")
    async with XmppPeer(prosody_files, *prosody_files.make_user("bob")) as bob:
        token = await api.messages.send_parts(
            None,
            bob.jid,
            [
                {},
                {"content-type": "text/plain", "content": "here are the notes"},
                {"content-type": "text/plain", FILE_PART_KEY: str(tmp_path / "notes.txt")},
            ],
            0,
        )
        first = await bob.next_message(timeout=20)
        assert first["body"] == "here are the notes"
        link = await bob.next_message(timeout=20)
        assert link["body"].endswith("/notes.txt")
        assert link["id"] == token  # the token names the file's message


async def test_a_conversation_payload_carries_a_file(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"))
    ops = ConversationOps(Api(alice.core, FakeWindowHost(alice.core)))
    (tmp_path / "cat.png").write_bytes(b"\x89PNG not really")
    async with XmppPeer(prosody_files, *prosody_files.make_user("bob")) as bob:
        payload = json.dumps([{"chinwag-file-path": str(tmp_path / "cat.png")}])
        message = await ops.send_message(ConversationKey(alice.jid, bob.jid), "", payload)
        assert message.body == "cat.png"
        assert message.state is MessageState.HELD  # until uploaded
        got = await bob.next_message(timeout=20)
        assert got["body"].endswith("/cat.png")
        assert got.xml.find("{jabber:x:oob}x") is not None


def test_file_parts_are_checked() -> None:
    assert parse_file_part([{}, {"content-type": "text/plain", "content": "x"}]) is None
    assert parse_message_parts([{}, {"content-type": "image/png", FILE_PART_KEY: "/a.png"}]) == (
        "",
        parse_message_parts([{}, {"content-type": "text/plain", "content": ""}])[1],
    )
    for bad in ("relative.png", 5, ""):
        with pytest.raises(ApiError):
            parse_file_part([{}, {"content-type": "image/png", FILE_PART_KEY: bad}])
    with pytest.raises(ApiError, match="one file per message"):
        parse_file_part(
            [
                {},
                {"content-type": "a/b", FILE_PART_KEY: "/a"},
                {"content-type": "a/b", FILE_PART_KEY: "/b"},
            ]
        )
    assert file_of('[{"a":1},{"chinwag-file-path":"/x"}]') == ('[{"a":1}]', "/x")
    assert file_of('[{"a":1}]') == ('[{"a":1}]', None)
    for bad_payload in ('[{"chinwag-file-path":"x"}]', '[{"chinwag-file-path":"/x","b":1}]'):
        with pytest.raises(MessagingError):
            file_of(bad_payload)


async def test_a_file_for_an_account_not_signed_in_waits_for_the_sign_in(
    prosody_files, cores: CoreMaker, tmp_path: Path
) -> None:
    alice = await cores(prosody_files, *prosody_files.make_user("alice"), sign_in=False)
    api = Api(alice.core, FakeWindowHost(alice.core))
    (tmp_path / "later.txt").write_text("later")
    async with XmppPeer(prosody_files, *prosody_files.make_user("bob")) as bob:
        await api.messages.send_parts(
            alice.jid,
            bob.jid,
            [{}, {"content-type": "text/plain", FILE_PART_KEY: str(tmp_path / "later.txt")}],
            0,
        )
        got = await bob.next_message(timeout=30)
        assert got["body"].endswith("/later.txt")
