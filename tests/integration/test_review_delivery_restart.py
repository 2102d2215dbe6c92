"""Review of resuming the last run's stream after a restart (XEP-0198 state kept in
storage): what the previous process received and acknowledged is not sent again by the
server, so the new process must not depend on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import eventually

from conftest import CoreMaker
from rig.peer import XmppPeer

pytestmark = pytest.mark.prosody


async def test_contacts_online_before_a_crash_are_shown_online_after_the_restart(
    prosody, cores: CoreMaker, tmp_path: Path
) -> None:
    alice_jid, alice_password = prosody.make_user("alice")
    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        root = tmp_path / "alice-profile"
        first = await cores(prosody, alice_jid, alice_password, root=root)
        await first.core.roster.add_contact(alice_jid, bob.jid, "Bob", [])  # bob approves
        await eventually(
            lambda: first.core.roster.presence(alice_jid, bob.jid).available,
            what="bob online in the first run",
        )
        # The first run dies (the process is killed): its stream, whose count covers
        # bob's presence (saved, and told the server), is left for the next run.
        session = first.core.sessions[alice_jid]
        conn = session._conn
        assert conn is not None
        sm = conn._sm  # type: ignore[attr-defined]
        plugin = conn.client.plugin["xep_0198"]
        plugin.request_ack()  # the server asks back (<r/> piggybacked): the count is saved
        await eventually(
            lambda: sm.saved._saved_h == plugin.handled and not sm.inbound.held,
            what="the count saved",
        )
        assert session._task is not None
        session._task.cancel()  # no reconnect: this "process" is gone
        conn.client.abort()

        second = await cores(prosody, alice_jid, alice_password, root=root)
        conn2 = second.core.sessions[alice_jid]._conn
        assert conn2 is not None
        assert conn2.took_over_stream, "the second run did not resume the first run's stream"
        await eventually(
            lambda: second.core.roster.presence(alice_jid, bob.jid).available,
            what="bob online after the restart",
        )
