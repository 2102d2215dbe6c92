"""A one-to-one conversation going on as a group conversation: a new room on the
account's group chat service, members-only and not listed, with the people asked for
made members and invited (XEP-0249). The automation API's ``AddContact`` on a
one-to-one window and the window's "Add people" both come here."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, RoomRefused
from chinwag.core.invitations import InvitationService
from chinwag.core.models import Affiliation
from chinwag.core.rooms import RoomService

log = logging.getLogger(__name__)

#: The longest room name made from the people's names.
MAX_TITLE_CHARS = 200


async def start_group(
    rooms: RoomService,
    invitations: InvitationService,
    account: str,
    people: Sequence[str],
    *,
    title: str = "",
    reason: str = "",
) -> str:
    """Make a private room for ``account`` and ``people``, enter it and invite them;
    returns its address. Raises :class:`RoomRefused` (``service-unavailable``: the
    server has no group chat service; else the room's refusal), :class:`NotConnected`."""
    service = await rooms.conference_service(account)
    if service is None:
        raise RoomRefused("the server has no group chat service", "service-unavailable")
    room = f"chat-{secrets.token_hex(6)}@{service}"
    config = {"muc#roomconfig_membersonly": "1", "muc#roomconfig_publicroom": "0"}
    if title:
        config["muc#roomconfig_roomname"] = title[:MAX_TITLE_CHARS]
    await rooms.join(account, room, rooms.default_nick(account), config=config)
    await invite(rooms, invitations, account, room, people, reason)
    return room


async def invite(
    rooms: RoomService,
    invitations: InvitationService,
    account: str,
    room: str,
    people: Sequence[str],
    reason: str = "",
) -> None:
    """Invite ``people`` to ``room``, made members first where we may (a members-only
    room lets only members in)."""
    found = rooms.room(account, room)
    me = found.me if found is not None else None
    staff = me is not None and me.affiliation in (Affiliation.OWNER, Affiliation.ADMIN)
    for person in people:
        address = jids.bare(person)
        if staff:
            try:
                await rooms.set_affiliation(account, room, address, Affiliation.MEMBER)
            except ChinwagError as exc:
                log.info("%s not made a member of %s: %s", address, room, exc)
        invitations.invite(account, room, address, reason)
        log.info("%s: %s invited to %s", account, address, room)
