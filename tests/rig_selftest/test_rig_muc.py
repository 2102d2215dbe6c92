"""Self-test of the rig's MUC service: a room made on it (``rig.muc``) answers disco#info
with XEP-0425 message moderation, so ``muc_moderation`` from Debian's prosody-modules is
installed (``tests/run.sh``) and loaded (its folder on ``plugin_paths``)."""

from __future__ import annotations

from rig.muc import make_room, room_features, room_name
from rig.peer import XmppPeer
from rig.prosody import ProsodyServer, community_module_dir

MODERATION = {"urn:xmpp:message-moderate:0", "urn:xmpp:message-moderate:1"}


def test_moderation_module_is_installed_and_configured(prosody: ProsodyServer) -> None:
    folder = community_module_dir("muc_moderation")
    assert folder is not None, "install Debian's prosody-modules (tests/run.sh does)"
    assert "muc_moderation" in prosody.muc_modules
    assert str(folder) in prosody.plugin_paths
    config = prosody.config_text()
    assert f'plugin_paths = {{ "{folder}" }}' in config
    assert '"muc_mam", "muc_moderation"' in config


async def test_a_room_advertises_message_moderation(prosody: ProsodyServer) -> None:
    owner_jid, owner_pw = prosody.make_user("owner")
    room = room_name(prosody, "moderated")
    async with XmppPeer(prosody, owner_jid, owner_pw) as owner:
        await make_room(owner, room)
        features = await room_features(owner, room)
    assert "http://jabber.org/protocol/muc" in features
    assert features & MODERATION, sorted(features)
