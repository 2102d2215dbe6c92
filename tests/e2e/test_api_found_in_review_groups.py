"""Review reproductions: group signals during a rename of a group with several members."""

from __future__ import annotations

import pytest
from dbus_next import Variant
from test_api_messenger import GROUP, S_OK, my, signal_after

from rig.app import AppProcess

pytestmark = [pytest.mark.prosody, pytest.mark.dbus]


async def test_review_rename_group_with_two_members_no_spurious_group_signals(
    chinwag_app: AppProcess,
) -> None:
    app = chinwag_app
    client = await app.client()
    signals = await client.watch()
    friends = await client.messenger("CreateGroup", "s", "Friends")
    members = []
    for jid in ("carol-rv@localhost", "dave-rv@localhost"):
        path = await client.messenger("GetContact", "ss", jid, "")
        members.append(path)
        assert await client.messenger("AddContact", "s", jid) == S_OK
        await signals.wait_for("OnContactListAdd", lambda b, p=path: b == [S_OK, p])
        mark = len(signals.items)
        await client.call(friends, GROUP, "AddContact", "v", [Variant("o", path)])
        await signal_after(signals, mark, "OnContactAddedToGroup")

    mark = len(signals.items)
    await client.set(friends, GROUP, "Name", Variant("s", "Close friends"))
    assert await signal_after(signals, mark, "OnGroupNameChanged") == [S_OK, friends]
    # The rename's roster pushes came before the reply to its last roster set; a roster
    # change made now is pushed after them: once it is in, every member's push is too.
    sentinel = await client.messenger("GetContact", "ss", "sentinel-rv@localhost", "")
    assert await client.messenger("AddContact", "s", "sentinel-rv@localhost") == S_OK
    await signal_after(signals, mark, "OnContactListAdd", lambda b: b == [S_OK, sentinel])
    after = [(m, b) for m, b in signals.items[mark:] if "Group" in m]
    groups = await my(client, "MyGroups")
    print("signals after rename:", after, "MyGroups:", groups)
    # Expected: only OnGroupNameChanged(friends); MyGroups == [friends].
    assert after == [("OnGroupNameChanged", [S_OK, friends])], after
    assert groups == [friends]
