"""Issue 16, avatars over the rig's real Prosody: one account publishes its avatar
(XEP-0084) and a contact's core fetches it by hash and keeps it on disk; a stock client's
vCard avatar (XEP-0153) reaches us; what a contact announces but we refuse (a 50 MB
picture, a text that is not a picture) is never fetched whole nor kept; the contact
details (vCard4, client version, server certificate) are read from the server."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from helpers import eventually
from slixmpp.xmlstream import ET

from chinwag import __version__
from chinwag.core.events import AvatarChanged, ContactPresenceChanged, SubscriptionRequested
from chinwag.core.models import Subscription
from chinwag.xmpp.avatars import NS_DATA, NS_METADATA, NS_PUBSUB
from conftest import Client, CoreMaker
from rig.images import png
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = pytest.mark.prosody


async def befriend(alice: Client, bob: Client) -> None:
    """Both ways: PEP notifies whom the server hears presence (and so capabilities with
    ``+notify``) from, so alice sees bob's presence too."""
    await bob.core.roster.subscribe(bob.jid, alice.jid)
    await alice.events.wait(SubscriptionRequested, lambda e: e.jid == bob.jid)
    alice.core.roster.approve(alice.jid, bob.jid)  # (and asks back)
    await bob.events.wait(SubscriptionRequested, lambda e: e.jid == alice.jid)
    bob.core.roster.approve(bob.jid, alice.jid)
    await bob.events.wait(
        ContactPresenceChanged, lambda e: e.jid == alice.jid and e.presence.available
    )
    await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == bob.jid and e.presence.available
    )


async def watch_peer(alice: Client, peer: XmppPeer) -> None:
    """Alice subscribes to a stock client, which approves and asks back by itself
    (slixmpp's defaults); alice approves, so the peer's server hears her capabilities."""
    await alice.core.roster.subscribe(alice.jid, peer.jid)
    await alice.events.wait(SubscriptionRequested, lambda e: e.jid == peer.jid)
    alice.core.roster.approve(alice.jid, peer.jid)
    await alice.events.wait(
        ContactPresenceChanged, lambda e: e.jid == peer.jid and e.presence.available
    )


async def peer_publish(peer: XmppPeer, node: str, item_id: str, payload: Any) -> None:
    iq = peer.client.make_iq_set()
    pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
    publish = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish", {"node": node})
    ET.SubElement(publish, f"{{{NS_PUBSUB}}}item", {"id": item_id}).append(payload)
    await iq.send(timeout=10)


def metadata(item_id: str, size: int, mime: str = "image/png") -> Any:
    element = ET.Element(f"{{{NS_METADATA}}}metadata")
    ET.SubElement(
        element,
        f"{{{NS_METADATA}}}info",
        {"id": item_id, "bytes": str(size), "type": mime, "width": "8", "height": "8"},
    )
    return element


async def test_an_avatar_published_reaches_a_contact_and_is_cached_by_hash(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    bob = await cores(prosody, *prosody.make_user("bob"))
    await befriend(alice, bob)
    picture = png(16, 16, (10, 120, 200))
    sha1 = await alice.core.avatars.set_own(alice.jid, picture)
    assert sha1 == hashlib.sha1(picture).hexdigest()

    seen = await bob.events.wait(AvatarChanged, lambda e: e.jid == alice.jid and e.path != "")
    assert Path(seen.path).name == sha1
    assert Path(seen.path).read_bytes() == picture
    assert bob.core.avatars.path(bob.jid, alice.jid) == Path(seen.path)
    own = await alice.events.wait(AvatarChanged, lambda e: e.jid == alice.jid and e.path != "")
    assert Path(own.path).read_bytes() == picture

    # the details of alice as bob's dialog shows them: her client, the server's certificate
    (resource,) = await bob.core.details.resources(bob.jid, alice.jid)
    assert (resource.client, resource.version) == ("Chinwag", __version__)
    assert resource.error == ""
    assert len(bob.core.details.server_fingerprint(bob.jid)) == 64
    assert bob.core.details.details(bob.jid, alice.jid).subscription is Subscription.BOTH

    # cleared: bob is told there is none (a letter avatar is drawn instead)
    seen_before = {id(e) for e in bob.events.of(AvatarChanged)}
    await alice.core.avatars.clear_own(alice.jid)
    await bob.events.wait(
        AvatarChanged, lambda e: id(e) not in seen_before and e.jid == alice.jid and e.path == ""
    )
    assert bob.core.avatars.path(bob.jid, alice.jid) is None


async def test_a_stock_clients_avatars_pep_and_vcard_reach_us(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("carol")) as carol:
        await watch_peer(alice, carol)
        picture = png(32, 32, (0, 200, 0))
        sha1 = hashlib.sha1(picture).hexdigest()
        data = ET.Element(f"{{{NS_DATA}}}data")
        data.text = base64.b64encode(picture).decode()
        await peer_publish(carol, NS_DATA, sha1, data)
        await peer_publish(carol, NS_METADATA, sha1, metadata(sha1, len(picture)))
        seen = await alice.events.wait(AvatarChanged, lambda e: e.jid == carol.jid and e.path != "")
        assert Path(seen.path).read_bytes() == picture

    async with XmppPeer(prosody, *prosody.make_user("dave")) as dave:
        # XEP-0153 as an old client does it: the vCard's PHOTO, its hash in presence
        picture = png(24, 24, (90, 0, 90))
        sha1 = hashlib.sha1(picture).hexdigest()
        iq = dave.client.make_iq_set()
        vcard = ET.SubElement(iq.xml, "{vcard-temp}vCard")
        ET.SubElement(vcard, "{vcard-temp}FN").text = "Dave Example"
        photo = ET.SubElement(vcard, "{vcard-temp}PHOTO")
        ET.SubElement(photo, "{vcard-temp}TYPE").text = "image/png"
        ET.SubElement(photo, "{vcard-temp}BINVAL").text = base64.b64encode(picture).decode()
        await iq.send(timeout=10)
        await watch_peer(alice, dave)
        presence = dave.client.make_presence()
        x = ET.SubElement(presence.xml, "{vcard-temp:x:update}x")
        ET.SubElement(x, "{vcard-temp:x:update}photo").text = sha1
        presence.send()
        seen = await alice.events.wait(AvatarChanged, lambda e: e.jid == dave.jid and e.path != "")
        assert Path(seen.path).read_bytes() == picture
        card = await alice.core.details.vcard(alice.jid, dave.jid)
        assert card.first("fn") == "Dave Example"


async def test_a_50_mb_avatar_or_one_that_is_no_picture_is_refused(
    prosody: ProsodyServer, cores: CoreMaker
) -> None:
    alice = await cores(prosody, *prosody.make_user("alice"))
    async with XmppPeer(prosody, *prosody.make_user("mallory")) as mallory:
        await watch_peer(alice, mallory)
        huge = hashlib.sha1(b"huge").hexdigest()
        await peer_publish(mallory, NS_METADATA, huge, metadata(huge, 50_000_000))
        reason = await eventually(lambda: alice.core.avatars.refused.get(huge), what="refusal")
        assert "50,000,000" in reason
        assert alice.core.avatars.path(alice.jid, mallory.jid) is None

        # a text announced as a PNG: fetched (it is small), refused, not kept
        text = b"this is not a picture at all" * 10
        sha1 = hashlib.sha1(text).hexdigest()
        data = ET.Element(f"{{{NS_DATA}}}data")
        data.text = base64.b64encode(text).decode()
        await peer_publish(mallory, NS_DATA, sha1, data)
        await peer_publish(mallory, NS_METADATA, sha1, metadata(sha1, len(text)))
        reason = await eventually(lambda: alice.core.avatars.refused.get(sha1), what="refusal")
        assert "not a PNG, JPEG, GIF or WebP" in reason
        assert alice.core.avatars.path(alice.jid, mallory.jid) is None
        assert alice.core.avatars.cached(sha1) is None
