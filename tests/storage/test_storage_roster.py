"""Roster cache and per-account sync state."""

from __future__ import annotations

from storage_helpers import ME

from chinwag.core.models import Contact, Subscription
from chinwag.storage import SqliteMessageStore

ALT = "alt@example.org"


def contact(jid: str, account: str = ME, **fields: object) -> Contact:
    return Contact(account=account, jid=jid, **fields)  # type: ignore[arg-type]


async def test_empty_roster(store: SqliteMessageStore) -> None:
    assert store.load_roster(ME) == ([], "")


async def test_save_and_load_roster(store: SqliteMessageStore) -> None:
    contacts = [
        contact("b@x", name="Bea", groups=("Friends", "Café ☕"), subscription=Subscription.BOTH),
        contact("a@x", subscription=Subscription.TO, ask=True),
        contact("c@x", subscription=Subscription.FROM, approved=True, groups=()),
    ]
    await store.save_roster(ME, contacts, "ver-7")

    loaded, version = store.load_roster(ME)
    assert version == "ver-7"
    assert loaded == sorted(contacts, key=lambda c: c.jid)
    assert store.load_roster(ALT) == ([], "")


async def test_save_roster_replaces_the_accounts_roster_only(store: SqliteMessageStore) -> None:
    await store.save_roster(ME, [contact("a@x"), contact("b@x")], "1")
    await store.save_roster(ALT, [contact("a@x", account=ALT)], "alt-1")
    await store.save_roster(ME, [contact("c@x", name="new")], "2")

    assert store.load_roster(ME) == ([contact("c@x", name="new")], "2")
    assert store.load_roster(ALT) == ([contact("a@x", account=ALT)], "alt-1")


async def test_save_roster_skips_removed_items_and_keeps_an_empty_version(
    store: SqliteMessageStore,
) -> None:
    await store.save_roster(
        ME, [contact("a@x"), contact("gone@x", subscription=Subscription.REMOVE)], ""
    )
    assert store.load_roster(ME) == ([contact("a@x")], "")


async def test_upsert_and_remove_contact(store: SqliteMessageStore) -> None:
    await store.save_roster(ME, [contact("a@x")], "5")

    await store.upsert_contact(contact("b@x", name="Bee"))
    await store.upsert_contact(
        contact("a@x", name="Ay", groups=("Work",), subscription=Subscription.BOTH)
    )
    assert store.load_roster(ME) == (
        [
            contact("a@x", name="Ay", groups=("Work",), subscription=Subscription.BOTH),
            contact("b@x", name="Bee"),
        ],
        "5",  # a push without a version keeps the cached one (the server resends if stale)
    )

    await store.remove_contact(ME, "a@x")
    await store.remove_contact(ME, "never@x")
    await store.upsert_contact(contact("b@x", subscription=Subscription.REMOVE))  # a removal push
    assert store.load_roster(ME) == ([], "5")


async def test_sync_state(store: SqliteMessageStore) -> None:
    assert store.get_sync_state(ME, "mam-last") is None

    await store.set_sync_state(ME, "mam-last", "A")
    await store.set_sync_state(ME, "mam-last", "B")
    await store.set_sync_state(ALT, "mam-last", "other")
    await store.set_sync_state(ME, "empty", "")

    assert store.get_sync_state(ME, "mam-last") == "B"
    assert store.get_sync_state(ALT, "mam-last") == "other"
    assert store.get_sync_state(ME, "empty") == ""
    assert store.get_sync_state(ME, "unknown") is None
