"""The privacy preferences reach every connection: the core hands the switches to the
connection signed in now when they change, and to each connection as it comes online
(a sign-in after a change), before anything of ours is sent on it."""

from __future__ import annotations

from core_rig import ME, Core


async def test_the_switches_reach_the_connection_now_and_after_a_new_sign_in(rig: Core) -> None:
    messaging = rig.core.messaging
    assert rig.conn.privacy == (True, True)
    messaging.send_chat_states = False
    assert rig.conn.privacy == (False, True)
    messaging.send_read_markers = False
    assert rig.conn.privacy == (False, False)
    messaging.send_chat_states = True
    assert rig.conn.privacy == (True, False)

    messaging.send_chat_states = False
    await rig.core.sign_out(ME)
    await rig.core.sign_in(ME)
    assert len(rig.connections) == 2  # a new connection, set before it sent anything
    assert rig.conn.privacy == (False, False)
