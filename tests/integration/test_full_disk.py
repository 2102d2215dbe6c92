"""A full disk, with the real Prosody and a real file system that runs out of space (a
small tmpfs, filled up): nothing received is acknowledged before it is stored (no
receipt, no stream-management count, no archive position), the user is told, and once
there is room again every message is stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import eventually, history
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chinwag.core.events import MessageAdded, StorageFailed, StorageRecovered
from conftest import CoreMaker
from rig.peer import XmppPeer
from rig.small_disk import SmallDisk
from rig.small_disk import small_disk as mounted

pytestmark = pytest.mark.prosody


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with mounted(tmp_path / "small") as disk:
        yield disk


#: Long enough that what arrives cannot fit in space the database already has.
PADDING = " " + "x" * 1000


class ReceiptCounter:
    """Counts the delivery receipts (XEP-0184) a peer gets, by message id."""

    def __init__(self, peer: XmppPeer) -> None:
        self.ids: list[str] = []
        peer.client.register_handler(
            Callback(
                "receipts",
                MatchXPath("{jabber:client}message/{urn:xmpp:receipts}received"),
                self._on_receipt,
            )
        )

    def _on_receipt(self, stanza: Any) -> None:
        self.ids.append(stanza.xml.find("{urn:xmpp:receipts}received").get("id"))


def send_asking_receipt(peer: XmppPeer, to: str, body: str, uid: str) -> None:
    msg = peer.client.make_message(mto=to, mbody=body, mtype="chat")
    msg["id"] = uid
    ET.SubElement(msg.xml, "{urn:xmpp:receipts}request")
    msg.send()


def acks_sent(client: Any) -> list[int]:
    """Record the ``h`` of every stream-management ack the client sends from now on."""
    values: list[int] = []
    real = client.send_raw

    def recording(data: Any) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        if text.startswith("<a ") and "urn:xmpp:sm:3" in text:
            values.append(int(ET.fromstring(text).get("h")))
        real(data)

    client.send_raw = recording
    return values


async def test_nothing_is_acknowledged_before_it_is_stored_and_all_arrives_once_there_is_room(
    prosody, cores: CoreMaker, small_disk: SmallDisk
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"), root=small_disk.root / "profile")
    conn = alice.core.sessions[alice.jid]._conn
    assert conn is not None
    sm = conn.client.plugin["xep_0198"]
    acks = acks_sent(conn.client)
    count = 600
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        receipts = ReceiptCounter(bob)
        small_disk.fill()
        handled_before = sm.handled
        for n in range(count):
            send_asking_receipt(bob, alice.jid, f"m{n:04d}{PADDING}", f"id{n:04d}")
        await alice.events.wait(StorageFailed, timeout=30)
        # Everything has reached alice ...
        await eventually(
            lambda: (
                len(history(alice.core, alice.jid, bob.jid)) + alice.core.messaging.held_incoming
                >= count
            ),
            what="every message read off the stream",
            timeout=60,
        )
        stored = {m.uid for m in history(alice.core, alice.jid, bob.jid)}
        # ... but only what was stored is acknowledged, to the sender and to the server.
        assert set(receipts.ids) <= stored
        assert len(stored) < count, "the disk never filled up"
        # The server asks for acks as it sends; held messages delay the answer, not for ever.
        await eventually(lambda: acks, what="an answer to the server's ack request")
        assert max(acks) < handled_before + count
        assert alice.core.store.get_sync_state(alice.jid, "mam_last_id") in (
            None,
            *(m.stanza_id for m in history(alice.core, alice.jid, bob.jid)),
        )

        small_disk.free()
        await alice.events.wait(StorageRecovered, timeout=60)
        await eventually(lambda: len(receipts.ids) >= count, what="every receipt", timeout=60)
        await alice.core.messaging.drain()
        await eventually(
            lambda: acks and max(acks) >= handled_before + count, what="the server's count"
        )
    bodies = [m.body.split()[0] for m in history(alice.core, alice.jid, bob.jid)]
    assert sorted(bodies) == [f"m{n:04d}" for n in range(count)]
    assert sorted(set(receipts.ids)) == [f"id{n:04d}" for n in range(count)]
    added = alice.events.of(MessageAdded, lambda e: e.message.peer == bob.jid)
    assert len(added) == count
