"""Issue 11 end to end: a slixmpp contact's correction (XEP-0308) reaches Chinwag before
the message it corrects, which Chinwag gets only later from its server archive (MAM):
the history ends with one message, the corrected one, whatever order the offline
delivery and the archive catch-up hand them over in."""

from __future__ import annotations

from typing import Any

import pytest
from actions_rig import Peer
from helpers import history

from conftest import CoreMaker

pytestmark = pytest.mark.prosody

PRIVATE = "<private xmlns='urn:xmpp:carbons:2'/>"
NO_COPY = "<no-copy xmlns='urn:xmpp:hints'/>"


async def test_a_correction_before_its_original_from_the_archive(
    prosody: Any, cores: CoreMaker
) -> None:
    alice_jid, alice_pw = prosody.make_user("alice")
    alice = await cores(prosody, alice_jid, alice_pw)
    await alice.core.sign_out()
    phone = Peer(prosody, f"{alice_jid}/phone", alice_pw)  # alice's other device
    bob = Peer(prosody, *prosody.make_user("bob"))
    await phone.login()
    await bob.login()
    try:
        # The original goes to the phone alone (no carbon): Chinwag misses it live,
        # the archive keeps it.
        original = bob.stanza(f"{alice_jid}/phone", "helo", PRIVATE, NO_COPY)
        original.send()
        uid = str(original["id"])
        assert (await phone.receive())["body"] == "helo"
        await phone.logout()
        # The correction waits in offline storage (and the archive) for Chinwag.
        bob.client.plugin["xep_0308"].build_correction(uid, alice_jid, mbody="hello").send()
    finally:
        await bob.logout()

    await alice.core.sign_in(alice_jid)
    await alice.core.messaging.wait_archive_synced(alice_jid)
    await alice.core.messaging.drain()
    shown = history(alice.core, alice_jid, bob.jid)
    assert [(m.uid, m.body) for m in shown] == [(uid, "hello")]
    assert shown[0].edited_at > 0
    assert shown[0].id is not None
    assert [text for _at, text in alice.core.store.versions(shown[0].id)] == ["helo"]
