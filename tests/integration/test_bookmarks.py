"""Issue 12, bookmarks: XEP-0402 through the rig's real Prosody (PEP), with a Chinwag core
as the user and a slixmpp client signed in to the same account with another resource as
the user's other device, writing raw pubsub and private-storage stanzas the way other
clients do. Added bookmarks are private to the account and read back after a reconnect;
another device's changes arrive as pushes; old XEP-0048 data is read (XEP-0402 winning)
and a removed room does not come back from it; malformed items and forged pushes are left
out without losing the rest; a thousand bookmarks are read at sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from helpers import eventually
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from chinwag.core.events import BookmarksChanged, BookmarksSynced, MessageAdded
from chinwag.core.models import Bookmark
from conftest import Client, CoreMaker
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer

pytestmark = pytest.mark.prosody

NS = "urn:xmpp:bookmarks:1"
PUBSUB = "http://jabber.org/protocol/pubsub"
EXT = f'<extensions xmlns="{NS}"><state xmlns="urn:example:client">pinned</state></extensions>'
OPTIONS = f"""<publish-options><x xmlns="jabber:x:data" type="submit">
<field var="FORM_TYPE" type="hidden"><value>{PUBSUB}#publish-options</value></field>
<field var="pubsub#persist_items"><value>true</value></field>
<field var="pubsub#max_items"><value>max</value></field>
<field var="pubsub#send_last_published_item"><value>never</value></field>
<field var="pubsub#access_model"><value>whitelist</value></field>
</x></publish-options>"""


def conference(name: str = "", autojoin: bool = False, nick: str = "", extra: str = "") -> str:
    nick_el = f"<nick>{nick}</nick>" if nick else ""
    return (
        f'<conference xmlns="{NS}" name="{name}" autojoin="{str(autojoin).lower()}">'
        f"{nick_el}{extra}</conference>"
    )


class Device(XmppPeer):
    """Another device of the account: publishes, retracts and reads bookmarks, and
    writes old XEP-0048 storage, with raw stanzas."""

    async def iq(self, kind: str, payload: str, to: str | None = None) -> Any:
        iq = self.client.make_iq_set() if kind == "set" else self.client.make_iq_get()
        if to:
            iq["to"] = to
        iq.xml.append(ET.fromstring(payload))
        return await iq.send(timeout=30)

    async def publish(self, item_id: str, payload: str, node: str = NS) -> None:
        await self.iq(
            "set",
            f'<pubsub xmlns="{PUBSUB}"><publish node="{node}"><item id="{item_id}">{payload}'
            f"</item></publish>{OPTIONS}</pubsub>",
        )

    async def retract(self, item_id: str) -> None:
        await self.iq(
            "set",
            f'<pubsub xmlns="{PUBSUB}"><retract node="{NS}" notify="true">'
            f'<item id="{item_id}"/></retract></pubsub>',
        )

    async def items(self, node: str = NS, of: str | None = None) -> dict[str, Any]:
        """The node's items by id (their payload element); {} when there is no node."""
        try:
            result = await self.iq(
                "get", f'<pubsub xmlns="{PUBSUB}"><items node="{node}"/></pubsub>', of
            )
        except IqError as exc:
            if exc.iq["error"]["condition"] == "item-not-found":
                return {}
            raise
        found = result.xml.findall(f"{{{PUBSUB}}}pubsub/{{{PUBSUB}}}items/{{{PUBSUB}}}item")
        return {item.get("id"): item[0] for item in found}

    async def set_private(self, storage: str) -> None:
        await self.iq("set", f'<query xmlns="jabber:iq:private">{storage}</query>')

    async def private(self) -> Any:
        result = await self.iq(
            "get", '<query xmlns="jabber:iq:private"><storage xmlns="storage:bookmarks"/></query>'
        )
        return result.xml.find("{jabber:iq:private}query/{storage:bookmarks}storage")


@pytest.fixture
async def devices() -> AsyncIterator[Callable[[ProsodyServer, str, str], Any]]:
    made: list[Device] = []

    async def make(server: ProsodyServer, jid: str, password: str) -> Device:
        device = Device(server, jid, password)
        await device.login()
        made.append(device)
        return device

    yield make
    for device in made:
        await device.logout()


async def signed_in(cores: CoreMaker, server: ProsodyServer, jid: str, pw: str) -> Client:
    client = await cores(server, jid, pw)
    await client.events.wait(BookmarksSynced)
    return client


async def sign_in_again(client: Client) -> BookmarksSynced:
    """Sign out and in; the list read after that."""
    before = client.events.of(BookmarksSynced)
    await client.core.sign_out(client.jid)
    await client.core.sign_in(client.jid)
    return await client.events.wait(BookmarksSynced, lambda e: e not in before)


def rooms(client: Client) -> dict[str, Bookmark]:
    return {b.room: b for b in client.core.bookmarks.list(client.jid)}


async def test_an_added_bookmark_is_private_on_the_server_and_read_back_after_reconnect(
    prosody: ProsodyServer, cores: CoreMaker, devices: Any
) -> None:
    jid, pw = prosody.make_user("alice")
    alice = await signed_in(cores, prosody, jid, pw)
    room = f"lounge@{prosody.muc_domain}"

    added = await alice.core.bookmarks.add(
        jid, room, name="The Lounge", nick="Al", password="s3cret", autojoin=True
    )

    device = await devices(prosody, f"{jid}/phone", pw)
    item = (await device.items())[room]
    assert (item.get("name"), item.get("autojoin")) == ("The Lounge", "true")
    assert item.findtext(f"{{{NS}}}nick") == "Al"
    assert item.findtext(f"{{{NS}}}password") == "s3cret"
    # Private to the account (access model whitelist): a contact cannot read it.
    bob_jid, bob_pw = prosody.make_user("bob")
    bob = await devices(prosody, bob_jid, bob_pw)
    with pytest.raises(IqError):
        await bob.items(of=jid)

    await alice.core.sign_out(jid)
    assert rooms(alice) == {room: added}  # kept for the contact list while offline
    synced = await sign_in_again(alice)
    assert synced.autojoin == (added,)
    assert rooms(alice) == {room: added}


async def test_another_devices_changes_arrive_as_pushes_and_its_extensions_are_kept(
    prosody: ProsodyServer, cores: CoreMaker, devices: Any
) -> None:
    jid, pw = prosody.make_user("alice")
    alice = await signed_in(cores, prosody, jid, pw)
    device = await devices(prosody, f"{jid}/phone", pw)
    room = f"team@{prosody.muc_domain}"

    await device.publish(room, conference("Team", True, "al", EXT))
    await eventually(lambda: room in rooms(alice), what="the pushed bookmark")
    pushed = rooms(alice)[room]
    assert (pushed.name, pushed.nick, pushed.autojoin) == ("Team", "al", True)

    # Renamed here: what the other client put in its extensions goes back untouched.
    await alice.core.bookmarks.add(jid, room, name="Team (renamed)", autojoin=True)
    item = (await device.items())[room]
    assert item.get("name") == "Team (renamed)"
    assert item.findtext(f"{{{NS}}}extensions/{{urn:example:client}}state") == "pinned"

    await device.retract(room)
    await eventually(lambda: room not in rooms(alice), what="the retraction")

    # Removed here: gone from the server.
    await alice.core.bookmarks.add(jid, f"other@{prosody.muc_domain}")
    await alice.core.bookmarks.remove(jid, f"other@{prosody.muc_domain}")
    assert await device.items() == {}
    assert rooms(alice) == {}


async def test_old_xep_0048_bookmarks_are_read_and_a_removed_one_stays_removed(
    prosody: ProsodyServer, cores: CoreMaker, devices: Any
) -> None:
    jid, pw = prosody.make_user("alice")
    muc = prosody.muc_domain
    device = await devices(prosody, f"{jid}/old-client", pw)
    await device.set_private(
        '<storage xmlns="storage:bookmarks">'
        f'<conference jid="old@{muc}" name="Old" autojoin="1"><nick>al</nick></conference>'
        f'<conference jid="both@{muc}" name="both, old"/>'
        '<conference jid="@@not a room" name="broken"/>'
        '<url name="kept" url="https://example.org/"/>'
        "</storage>"
    )
    await device.publish(
        "current",
        f'<storage xmlns="storage:bookmarks"><conference jid="pep@{muc}" name="From PEP"'
        ' autojoin="true"><password>pw</password></conference></storage>',
        node="storage:bookmarks",
    )
    await device.publish(f"both@{muc}", conference("both, native"))

    alice = await signed_in(cores, prosody, jid, pw)

    found = rooms(alice)
    assert set(found) == {f"old@{muc}", f"both@{muc}", f"pep@{muc}"}
    assert (found[f"old@{muc}"].name, found[f"old@{muc}"].nick) == ("Old", "al")
    assert found[f"both@{muc}"].name == "both, native"  # XEP-0402 wins
    assert found[f"pep@{muc}"].password == "pw"
    assert {b.room for b in alice.core.bookmarks.autojoin(jid)} == {f"old@{muc}", f"pep@{muc}"}

    await alice.core.bookmarks.remove(jid, f"old@{muc}")
    await alice.core.bookmarks.remove(jid, f"pep@{muc}")
    storage = await device.private()
    assert [c.get("jid") for c in storage] == [f"both@{muc}", "@@not a room", None]
    assert storage[2].get("name") == "kept"
    await sign_in_again(alice)
    assert set(rooms(alice)) == {f"both@{muc}"}


async def test_malformed_items_and_forged_pushes_are_left_out_without_losing_the_rest(
    prosody: ProsodyServer, cores: CoreMaker, devices: Any
) -> None:
    jid, pw = prosody.make_user("alice")
    muc = prosody.muc_domain
    device = await devices(prosody, f"{jid}/phone", pw)
    await device.publish(f"good@{muc}", conference("Good"))
    await device.publish("@@ not a room", conference("bad id"))
    await device.publish(f"nopayload@{muc}", '<something xmlns="urn:example:other"/>')
    await device.publish(muc, conference("a service, not a room"))

    alice = await signed_in(cores, prosody, jid, pw)
    assert set(rooms(alice)) == {f"good@{muc}"}

    # As pushes: the malformed one is left out, the next one arrives.
    await device.publish(f"bad@{muc}", '<conference xmlns="urn:example:not-bookmarks"/>')
    await device.publish(f"next@{muc}", conference("Next", True))
    await eventually(lambda: f"next@{muc}" in rooms(alice), what="the push after a bad one")
    assert set(rooms(alice)) == {f"good@{muc}", f"next@{muc}"}

    # A contact forging a push of our node is refused (it is not from our account).
    bob_jid, bob_pw = prosody.make_user("bob")
    bob = await devices(prosody, bob_jid, bob_pw)
    forged = bob.client.make_message(mto=jid, mtype="headline")
    forged.xml.append(
        ET.fromstring(
            f'<event xmlns="{PUBSUB}#event"><items node="{NS}"><item id="evil@{muc}">'
            f'{conference("Evil", True)}</item><retract id="good@{muc}"/></items></event>'
        )
    )
    forged.send()
    bob.send_chat(jid, "after the forgery")
    await alice.events.wait(MessageAdded, lambda e: e.message.body == "after the forgery")
    assert set(rooms(alice)) == {f"good@{muc}", f"next@{muc}"}


async def test_a_thousand_bookmarks_are_read_at_sign_in(
    prosody_factory: Callable[..., ProsodyServer], cores: CoreMaker, devices: Any
) -> None:
    # Prosody keeps 256 items per PEP node unless told otherwise.
    server = prosody_factory(extra_global_config="pep_max_items = 5000")
    jid, pw = server.make_user("alice")
    muc = server.muc_domain
    device = await devices(server, f"{jid}/phone", pw)
    for start in range(0, 1000, 100):
        await asyncio.gather(
            *(
                device.publish(f"room{n:04d}@{muc}", conference(f"Room {n}", n % 10 == 0))
                for n in range(start, start + 100)
            )
        )

    alice = await signed_in(cores, server, jid, pw)

    found = rooms(alice)
    assert len(found) == 1000
    assert found[f"room0999@{muc}"].name == "Room 999"
    assert len(alice.core.bookmarks.autojoin(jid)) == 100
    synced = alice.events.of(BookmarksSynced)[0]
    assert len(synced.autojoin) == 100
    await alice.core.bookmarks.drain()
    assert len(alice.core.store.load_bookmarks(jid)) == 1000
    assert len(alice.events.of(BookmarksChanged)) == 1


async def test_a_node_another_client_made_public_is_made_private_before_we_publish(
    prosody: ProsodyServer, cores: CoreMaker, devices: Any
) -> None:
    jid, pw = prosody.make_user("alice")
    muc = prosody.muc_domain
    device = await devices(prosody, f"{jid}/careless", pw)
    # Published without options: the node gets Prosody's defaults (one item, readable
    # by contacts), which our publish options do not match.
    await device.iq(
        "set",
        f'<pubsub xmlns="{PUBSUB}"><publish node="{NS}"><item id="first@{muc}">'
        f"{conference('First')}</item></publish></pubsub>",
    )
    alice = await signed_in(cores, prosody, jid, pw)
    assert set(rooms(alice)) == {f"first@{muc}"}

    await alice.core.bookmarks.add(jid, f"second@{muc}", name="Second")

    assert set(await device.items()) == {f"first@{muc}", f"second@{muc}"}
    bob_jid, bob_pw = prosody.make_user("bob")
    bob = await devices(prosody, bob_jid, bob_pw)
    with pytest.raises(IqError):
        await bob.items(of=jid)
