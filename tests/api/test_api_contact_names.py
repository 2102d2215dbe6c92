"""The automation API names a contact as the contact list does (one rule,
:func:`chinwag.core.roster.contact_name` through ``RosterService.display_name``): the
user's name for it, else the nickname it publishes (XEP-0172), else its address; in the
contact's friendly name, the users' ``display_name``, and the friendly-name change
signal."""

from __future__ import annotations

from api_rig import BOB, ME, ApiLayerRig

from chinwag.api.codes import S_OK
from chinwag.api.users import UsersApi
from chinwag.core.models import Contact, Subscription
from chinwag.core.users import NICK


def push(rig: ApiLayerRig, *contacts: Contact) -> None:
    rig.connection.listener.on_roster(list(contacts), "", full=False)


async def test_the_friendly_name_and_display_name_follow_the_contact_lists_rule(
    rig: ApiLayerRig,
) -> None:
    users = UsersApi(rig.api)
    push(rig, Contact(ME, BOB, subscription=Subscription.BOTH))
    rig.core.users.on_push(ME, BOB, NICK, "Bobby")  # known from a push, not asked for
    shown = rig.core.roster.display_name(ME, BOB)
    assert shown == "Bobby"
    assert rig.api.contacts.friendly_name((ME, BOB)) == shown
    assert (await users.get_user_by_name(BOB))["display_name"] == shown

    push(rig, Contact(ME, BOB, name="Robert", subscription=Subscription.BOTH))
    assert rig.api.contacts.friendly_name((ME, BOB)) == "Robert"  # the user's name wins
    assert (await users.get_user_by_name(BOB))["display_name"] == "Robert"
    # Told with the name shown before: the nickname, not the address.
    assert await rig.sink.wait_for("contact_friendly_name_change") == (S_OK, (ME, BOB), "Bobby")

    rig.core.users.on_push(ME, BOB, NICK, None)
    push(rig, Contact(ME, BOB, subscription=Subscription.BOTH))
    assert rig.api.contacts.friendly_name((ME, BOB)) == BOB
    assert (await users.get_user_by_name(BOB))["display_name"] == BOB
