"""RosterModel and RosterFilterModel on a real core (real SQLite storage, no network):
the roster and presence come in through the roster service's listener methods, as the
XMPP layer delivers them, and every change must reach the model as the right rows
inserted, removed, moved or changed, never as a reset. Both models are run under
pytest-qt's ``qtmodeltester`` (Qt's QAbstractItemModelTester, which keeps checking every
signal after it is attached)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from chinwag.core.models import (
    AccountConfig,
    Contact,
    ConversationKey,
    Direction,
    Message,
    MessageState,
    Origin,
    Presence,
    Show,
    Subscription,
)
from chinwag.core.service import ChinwagCore
from chinwag.core.status import Status
from chinwag.core.users import NICK
from chinwag.storage import SqliteMessageStore
from chinwag.system.config import JsonConfigStore
from chinwag.system.secrets import FileSecretStore
from chinwag.ui.bridge import EventBridge
from chinwag.ui.roster_model import (
    DEFAULT_GROUP,
    RESET_THRESHOLD,
    RosterFilterModel,
    RosterModel,
    RosterRole,
    SortMode,
)

ME = "me@example.org"
OTHER = "other@example.net"


def _no_network(*args: object, **kwargs: object) -> object:
    raise AssertionError("these tests never sign in")


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[ChinwagCore]:
    """A core on real storage with the account ``ME``; never connected."""
    core = ChinwagCore(
        SqliteMessageStore.open(tmp_path / "h.db"),
        FileSecretStore(tmp_path / "secrets.json"),
        JsonConfigStore(tmp_path / "accounts.json"),
        _no_network,  # type: ignore[arg-type]
    )
    core.add_account(AccountConfig(jid=ME, nickname="Me"), "pw")
    try:
        yield core
    finally:
        await core.shutdown()


@pytest.fixture
def bridge(core: ChinwagCore) -> Iterator[EventBridge]:
    bridge = EventBridge(core.bus)
    yield bridge
    bridge.close()


@pytest.fixture
def make_model(
    core: ChinwagCore, bridge: EventBridge
) -> Callable[[], tuple[RosterModel, RosterFilterModel]]:
    def make() -> tuple[RosterModel, RosterFilterModel]:
        model = RosterModel(core, bridge)
        return model, RosterFilterModel(model)

    return make


def contact(jid: str, name: str = "", *groups: str, account: str = ME, **kw: Any) -> Contact:
    return Contact(account, jid, name, tuple(groups), **kw)


def set_roster(core: ChinwagCore, *contacts: Contact, account: str = ME) -> None:
    core.roster.on_roster(account, list(contacts), "v", True)


def push(core: ChinwagCore, *contacts: Contact, account: str = ME) -> None:
    """A roster push (changed items only)."""
    core.roster.on_roster(account, list(contacts), "", False)


def presence(
    core: ChinwagCore, jid: str, show: Show = Show.ONLINE, status: str = "", account: str = ME
) -> None:
    core.roster.on_presence(account, jid, Presence(show, status, resource="pc"))


def tree(model: QAbstractItemModel) -> list[tuple[str, list[str]]]:
    """What a model shows: [(group, [contact names in order])]."""
    out = []
    for row in range(model.rowCount()):
        group = model.index(row, 0)
        names = [str(model.index(r, 0, group).data()) for r in range(model.rowCount(group))]
        out.append((str(group.data()), names))
    return out


def find(model: QAbstractItemModel, jid: str, group: str | None = None) -> QModelIndex:
    for row in range(model.rowCount()):
        parent = model.index(row, 0)
        if group is not None and parent.data() != group:
            continue
        for r in range(model.rowCount(parent)):
            index = model.index(r, 0, parent)
            if index.data(RosterRole.JID) == jid:
                return index
    raise AssertionError(f"{jid} is not listed{f' under {group}' if group else ''}")


class Signals:
    """Records a model's change signals."""

    NAMES = (
        "modelReset",
        "rowsInserted",
        "rowsRemoved",
        "rowsMoved",
        "dataChanged",
        "layoutChanged",
    )

    def __init__(self, model: QAbstractItemModel) -> None:
        self.seen: dict[str, list[tuple[Any, ...]]] = {n: [] for n in self.NAMES}
        for name in self.NAMES:
            getattr(model, name).connect(lambda *a, n=name: self.seen[n].append(a))

    def count(self, name: str) -> int:
        return len(self.seen[name])

    def clear(self) -> None:
        for calls in self.seen.values():
            calls.clear()


async def until(check: Callable[[], Any], timeout: float = 3.0) -> Any:
    """Let the event loop run (the model's coalescing timers) until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await asyncio.sleep(0.01)
    return value


# -- the tree -----------------------------------------------------------------------------


async def test_groups_then_contacts_and_a_contact_in_two_groups_is_listed_twice(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core,
        contact("bob@x.org", "Bob", "Friends", "Work"),
        contact("alice@x.org", "Alice", "Friends"),
        contact("carol@x.org"),  # no name, no group
    )
    model, proxy = make_model()

    assert tree(proxy) == [
        (DEFAULT_GROUP, ["carol@x.org"]),
        ("Friends", ["Alice", "Bob"]),
        ("Work", ["Bob"]),
    ]
    assert tree(model) == tree(proxy)  # the order is kept by the model itself
    assert [i.data(RosterRole.GROUP) for i in model.index_of(ME, "bob@x.org")] == [
        "Friends",
        "Work",
    ]


async def test_roles_of_contacts_and_groups(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core, contact("alice@x.org", "Alice", "Friends"), contact("bob@x.org", "", "Friends")
    )
    presence(core, "alice@x.org", Show.DND, "In a meeting")
    _, proxy = make_model()

    alice = find(proxy, "alice@x.org")
    assert alice.data() == alice.data(RosterRole.NAME) == "Alice"
    assert alice.data(RosterRole.JID) == "alice@x.org"
    assert alice.data(RosterRole.ACCOUNT) == ME
    assert Status(alice.data(RosterRole.STATUS)) is Status.BUSY
    assert alice.data(RosterRole.STATUS_MESSAGE) == "In a meeting"
    assert alice.data(RosterRole.UNREAD) == 0
    assert alice.data(RosterRole.GROUP) == "Friends"
    assert alice.data(RosterRole.IS_GROUP) is False
    assert "In a meeting" in alice.data(Qt.ItemDataRole.ToolTipRole)
    bob = find(proxy, "bob@x.org")
    assert bob.data() == "bob@x.org"  # no name: the address
    assert Status(bob.data(RosterRole.STATUS)) is Status.OFFLINE

    group = alice.parent()
    assert group.data() == "Friends"
    assert group.data(RosterRole.IS_GROUP) is True
    assert (group.data(RosterRole.ONLINE_COUNT), group.data(RosterRole.TOTAL_COUNT)) == (1, 2)


async def test_only_enabled_accounts_primary_first(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    core.add_account(AccountConfig(jid=OTHER, enabled=False), "pw")
    set_roster(core, contact("sam@x.org", "Sam"))
    set_roster(
        core,
        contact("sam@y.org", "Sam", account=OTHER),
        contact("zed@y.org", "Zed", account=OTHER),
        account=OTHER,
    )
    model, proxy = make_model()
    assert tree(proxy) == [(DEFAULT_GROUP, ["Sam"])]

    signals = Signals(model)
    await core.set_enabled(OTHER, True)  # AccountChanged: its contacts come in, no reset
    assert signals.count("modelReset") == 0
    names = [(i.data(), i.data(RosterRole.ACCOUNT)) for i in _children(proxy, DEFAULT_GROUP)]
    assert names == [("Sam", ME), ("Sam", OTHER), ("Zed", OTHER)]  # same name: primary first

    await core.set_enabled(OTHER, False)
    assert tree(proxy) == [(DEFAULT_GROUP, ["Sam"])]
    assert signals.count("modelReset") == 0


def _children(model: QAbstractItemModel, group: str) -> list[QModelIndex]:
    for row in range(model.rowCount()):
        parent = model.index(row, 0)
        if parent.data() == group:
            return [model.index(r, 0, parent) for r in range(model.rowCount(parent))]
    return []


# -- incremental updates ------------------------------------------------------------------


async def test_roster_pushes_insert_move_and_remove_rows_without_a_reset(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(core, contact("alice@x.org", "Alice", "Friends"))
    model, proxy = make_model()
    signals = Signals(model)

    push(core, contact("bob@x.org", "Bob", "Friends"))
    await until(lambda: signals.count("rowsInserted"))
    assert tree(proxy) == [("Friends", ["Alice", "Bob"])]

    selected = QPersistentModelIndex(model.index_of(ME, "bob@x.org")[0])
    push(core, contact("bob@x.org", "Bob", "Work"))  # moved to another group
    assert signals.count("rowsMoved") == 1
    assert tree(proxy) == [("Friends", ["Alice"]), ("Work", ["Bob"])]
    assert selected.isValid()
    assert selected.data(RosterRole.GROUP) == "Work"  # it followed the move

    push(core, contact("alice@x.org", "Alicia", "Friends"))  # renamed
    await until(lambda: signals.count("dataChanged"))
    assert tree(proxy) == [("Friends", ["Alicia"]), ("Work", ["Bob"])]

    push(core, Contact(ME, "alice@x.org", subscription=Subscription.REMOVE))
    assert tree(proxy) == [("Work", ["Bob"])]  # and the emptied group went with her
    assert signals.count("rowsRemoved") == 2  # the row, then its group
    assert signals.count("modelReset") == 0


async def test_a_presence_change_repaints_only_that_contact_and_its_groups(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core,
        *(contact(f"c{n}@x.org", f"Contact {n:02d}", "Friends") for n in range(20)),
        contact("bob@x.org", "Bob", "Friends", "Work"),
    )
    model, _ = make_model()
    signals = Signals(model)

    presence(core, "bob@x.org", Show.AWAY, "lunch")
    model.flush()

    changed = set()
    for top_left, bottom_right, _roles in signals.seen["dataChanged"]:
        for row in range(top_left.row(), bottom_right.row() + 1):
            index = top_left.siblingAtRow(row)
            changed.add((index.data(RosterRole.GROUP), index.data()))
    assert changed == {
        ("Friends", "Bob"),
        ("Work", "Bob"),
        ("Friends", "Friends"),
        ("Work", "Work"),
    }
    bob = model.index_of(ME, "bob@x.org")[0]
    assert Status(bob.data(RosterRole.STATUS)) is Status.AWAY
    assert bob.data(RosterRole.STATUS_MESSAGE) == "lunch"
    assert signals.count("modelReset") == signals.count("layoutChanged") == 0


async def test_a_burst_of_presence_is_reported_in_few_signals(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    jids = [f"c{n:04d}@x.org" for n in range(2000)]
    set_roster(core, *(contact(j, "", f"Group {n % 10}") for n, j in enumerate(jids)))
    model, _ = make_model()
    signals = Signals(model)

    for jid in jids:
        presence(core, jid, Show.ONLINE)
    assert signals.count("dataChanged") == 0  # nothing yet: coalesced per loop iteration
    # Every row and group shows the burst once its batches (rows, then the groups' counts
    # and the rows they may show or hide) have gone out.
    await until(
        lambda: (
            all(model.index_of(ME, j)[0].data(RosterRole.STATUS) == Status.ONLINE for j in jids)
            and model.index(0, 0).data(RosterRole.ONLINE_COUNT) == 200
        )
    )

    # Neighbouring rows go in one range: far fewer signals than updates.
    assert signals.count("dataChanged") <= 50


async def test_unread_counts_follow_incoming_messages_and_reading(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(core, contact("alice@x.org", "Alice", "Friends"))
    model, _ = make_model()
    alice = QPersistentModelIndex(model.index_of(ME, "alice@x.org")[0])
    group = QPersistentModelIndex(model.group_index("Friends"))

    core.messaging.on_incoming(ME, [_incoming("hi"), _incoming("there")], ["", ""])
    await until(lambda: alice.data(RosterRole.UNREAD) == 2)
    assert group.data(RosterRole.UNREAD) == 2

    await core.messaging.mark_displayed(ConversationKey(ME, "alice@x.org"))
    await until(lambda: alice.data(RosterRole.UNREAD) == 0)

    # A second model reads the count stored in the history, not only from events.
    core.messaging.on_incoming(ME, [_incoming("again")], [""])
    await until(lambda: alice.data(RosterRole.UNREAD) == 1)
    fresh, _ = make_model()
    assert fresh.index_of(ME, "alice@x.org")[0].data(RosterRole.UNREAD) == 1


_UID = [0]


def _incoming(body: str, peer: str = "alice@x.org") -> Message:
    _UID[0] += 1
    return Message(
        ME,
        peer,
        Direction.INCOMING,
        body,
        1_700_000_000.0 + _UID[0],
        uid=f"m{_UID[0]}",
        sender=peer,
        state=MessageState.RECEIVED,
        origin=Origin.LIVE,
    )


async def test_a_whole_roster_arriving_is_one_insert_per_group_not_a_reset(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    roster = [contact(f"c{n}@x.org", f"C {n}", "Friends") for n in range(3)]
    set_roster(core, *roster)
    model, proxy = make_model()
    signals = Signals(model)

    core.roster.on_roster(ME, None, "v", True)  # "your cached roster is current"
    set_roster(core, *roster)  # the same roster again
    model.flush()
    assert signals.count("modelReset") == signals.count("rowsInserted") == 0

    # A first sign-in: hundreds of ContactUpdated, then RosterReceived, in one callback.
    big = [contact(f"n{n:04d}@x.org", "", "Big") for n in range(RESET_THRESHOLD + 10)]
    set_roster(core, *roster, *big)
    assert signals.count("rowsInserted") == 0  # not within the stanza's own callback
    await until(lambda: signals.count("rowsInserted"))
    assert signals.count("modelReset") == 0
    assert signals.count("rowsInserted") == 2  # the group, then all its rows at once
    assert tree(proxy) == [
        ("Big", [c.jid for c in big]),
        ("Friends", ["C 0", "C 1", "C 2"]),
    ]


async def test_a_roster_changed_behind_the_models_back_is_resynced_on_roster_received(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(core, contact("a@x.org", "A"), contact("b@x.org", "B"))
    model, proxy = make_model()
    signals = Signals(model)

    # The roster service reloads its cache without a per-contact event; only the
    # RosterReceived that follows tells the list.
    await core.roster.drain()
    await core.store.save_roster(ME, [contact("b@x.org", "Bea"), contact("c@x.org", "C")], "2")
    core.roster.load_cached(ME)
    core.roster.on_roster(ME, None, "2", True)
    model.flush()
    assert tree(proxy) == [(DEFAULT_GROUP, ["Bea", "C"])]
    assert signals.count("modelReset") == 0  # a small difference is patched

    many = [contact(f"n{n:04d}@x.org") for n in range(RESET_THRESHOLD + 1)]
    await core.store.save_roster(ME, many, "3")
    core.roster.load_cached(ME)
    core.roster.on_roster(ME, None, "3", True)
    model.flush()
    assert signals.count("modelReset") == 1  # a big one is cheaper as one reset
    assert tree(proxy) == [(DEFAULT_GROUP, [c.jid for c in many])]


async def test_index_of_finds_every_row_of_a_contact(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(core, *(contact(f"c{n:03d}@x.org", "", "A", "B") for n in range(300)))
    model, _ = make_model()
    indexes = model.index_of(ME, "c123@x.org")
    assert [(i.data(RosterRole.GROUP), i.row()) for i in indexes] == [("A", 123), ("B", 123)]
    assert model.index_of(ME, "nobody@x.org") == []
    assert model.contact(indexes[0]) == core.roster.contact(ME, "c123@x.org")
    assert model.contact(model.group_index("A")) is None


# -- the filter model ---------------------------------------------------------------------


async def test_filter_text_matches_name_or_address_and_keeps_matching_groups(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core,
        contact("alice@wonderland.lit", "Alice Liddell", "Friends"),
        contact("hatter@wonderland.lit", "Mad Hatter", "Friends", "Tea"),
        contact("bob@builder.example", "Bob", "Work"),
    )
    _, proxy = make_model()

    proxy.set_filter_text("ALICE")
    assert tree(proxy) == [("Friends", ["Alice Liddell"])]
    proxy.set_filter_text("wonderland")  # the address
    assert tree(proxy) == [("Friends", ["Alice Liddell", "Mad Hatter"]), ("Tea", ["Mad Hatter"])]
    proxy.set_filter_text("  hat ")
    assert tree(proxy) == [("Friends", ["Mad Hatter"]), ("Tea", ["Mad Hatter"])]
    proxy.set_filter_text("nobody")
    assert tree(proxy) == []
    proxy.set_filter_text("")
    assert len(tree(proxy)) == 3


async def test_offline_contacts_hidden_or_shown_and_unread_ones_stay(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core,
        contact("alice@x.org", "Alice", "Friends"),
        contact("bob@x.org", "Bob", "Friends"),
        contact("carol@x.org", "Carol", "Work"),
    )
    presence(core, "alice@x.org")
    _, proxy = make_model()

    proxy.set_show_offline(False)
    assert tree(proxy) == [("Friends", ["Alice"])]  # Work has nobody online: gone

    presence(core, "carol@x.org", Show.AWAY)
    await until(lambda: len(tree(proxy)) == 2)
    assert tree(proxy) == [("Friends", ["Alice"]), ("Work", ["Carol"])]

    presence(core, "alice@x.org", Show.OFFLINE)
    await until(lambda: tree(proxy) == [("Work", ["Carol"])])

    core.messaging.on_incoming(ME, [_incoming("psst", peer="bob@x.org")], [""])
    await until(lambda: ("Friends", ["Bob"]) in tree(proxy))  # offline but wrote to us

    proxy.set_show_offline(True)
    assert tree(proxy) == [("Friends", ["Alice", "Bob"]), ("Work", ["Carol"])]
    assert proxy.show_offline


async def test_sort_by_name_or_by_status(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core,
        contact("a@x.org", "Anna"),
        contact("b@x.org", "bert"),
        contact("c@x.org", "Carl"),
        contact("d@x.org", "Dora"),
    )
    presence(core, "c@x.org", Show.ONLINE)
    presence(core, "d@x.org", Show.DND)
    presence(core, "b@x.org", Show.AWAY)
    _, proxy = make_model()
    assert tree(proxy) == [(DEFAULT_GROUP, ["Anna", "bert", "Carl", "Dora"])]  # case-blind

    proxy.set_sort_mode(SortMode.STATUS)
    assert proxy.sort_mode is SortMode.STATUS
    assert tree(proxy) == [(DEFAULT_GROUP, ["Carl", "bert", "Dora", "Anna"])]

    presence(core, "a@x.org", Show.CHAT)  # free for chat: the most available
    await until(lambda: tree(proxy)[0][1][0] == "Anna")
    assert tree(proxy) == [(DEFAULT_GROUP, ["Anna", "Carl", "bert", "Dora"])]

    proxy.set_sort_mode(SortMode.NAME)
    assert tree(proxy) == [(DEFAULT_GROUP, ["Anna", "bert", "Carl", "Dora"])]


# -- both models under Qt's model tester ----------------------------------------------------


async def test_both_models_pass_the_model_tester_through_a_sequence_of_updates(
    core: ChinwagCore,
    make_model: Callable[[], tuple[RosterModel, RosterFilterModel]],
    qtmodeltester: Any,
) -> None:
    core.add_account(AccountConfig(jid=OTHER), "pw")
    set_roster(
        core,
        *(contact(f"c{n:02d}@x.org", f"Contact {n:02d}", f"G{n % 3}") for n in range(12)),
        contact("multi@x.org", "Multi", "G0", "G1"),
    )
    set_roster(core, contact("far@y.org", "Far", "G2", account=OTHER), account=OTHER)
    model, proxy = make_model()
    # The tester stays attached and checks every later signal as well.
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)

    proxy.set_show_offline(False)
    presence(core, "c01@x.org")
    presence(core, "multi@x.org", Show.AWAY, "brb")
    model.flush()
    proxy.set_sort_mode(SortMode.STATUS)
    push(core, contact("new@x.org", "New", "G3"), contact("c02@x.org", "Moved", "G0"))
    presence(core, "c02@x.org", Show.DND)
    model.flush()
    proxy.set_filter_text("c0")
    push(core, Contact(ME, "c01@x.org", subscription=Subscription.REMOVE))
    push(core, contact("multi@x.org", "Multi", "G2", "G4", "G0"))
    core.messaging.on_incoming(ME, [_incoming("x", peer="c05@x.org")], [""])
    await until(lambda: model.index_of(ME, "c05@x.org")[0].data(RosterRole.UNREAD) == 1)
    model.flush()
    proxy.set_filter_text("")
    proxy.set_show_offline(True)
    proxy.set_sort_mode(SortMode.NAME)
    await core.set_enabled(OTHER, False)
    set_roster(core, *(contact(f"r{n}@x.org", "", "R") for n in range(RESET_THRESHOLD + 1)))
    model.flush()

    qtmodeltester.check(model)
    qtmodeltester.check(proxy)
    assert tree(proxy)[0] == ("R", sorted(f"r{n}@x.org" for n in range(RESET_THRESHOLD + 1)))


async def test_tooltip_tells_address_resources_clients_subscription_and_status(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(
        core,
        contact("alice@x.org", "Alice", subscription=Subscription.BOTH),
        contact("bob@x.org", "", subscription=Subscription.NONE, ask=True),
    )
    roster = core.roster
    roster.on_presence(
        ME,
        "alice@x.org",
        Presence(Show.DND, "In a meeting", 5, "laptop", "https://gajim.org#abc="),
    )
    roster.on_presence(
        ME, "alice@x.org", Presence(Show.AWAY, "", 0, "phone", "http://conversations.im#x")
    )
    _, proxy = make_model()

    assert find(proxy, "alice@x.org").data(Qt.ItemDataRole.ToolTipRole) == "\n".join(
        [
            "Alice",
            "alice@x.org",
            "Busy: In a meeting",
            "  laptop: Busy, gajim.org",
            "  phone: Away, conversations.im",
            "Subscription: both ways",
        ]
    )
    assert find(proxy, "bob@x.org").data(Qt.ItemDataRole.ToolTipRole) == "\n".join(
        ["bob@x.org", "Offline", "Subscription: none (your request is pending)"]
    )
    roster.on_presence(ME, "alice@x.org", Presence(Show.OFFLINE, resource="phone"))
    assert "phone" not in find(proxy, "alice@x.org").data(Qt.ItemDataRole.ToolTipRole)


async def test_a_published_nickname_names_a_contact_the_user_did_not_name(
    core: ChinwagCore, make_model: Callable[[], tuple[RosterModel, RosterFilterModel]]
) -> None:
    set_roster(core, contact("alice@x.org", "Ally"), contact("bob@x.org"))
    # A XEP-0172 push, as the XMPP layer hands it to the account's session.
    core.users.on_push(ME, "bob@x.org", NICK, "Bobby")
    assert core.roster.display_name(ME, "bob@x.org") == "Bobby"
    assert core.conversations.title(ConversationKey(ME, "bob@x.org")) == "Bobby"
    model, proxy = make_model()
    assert find(proxy, "bob@x.org").data() == "Bobby"

    core.users.on_push(ME, "alice@x.org", NICK, "Alice Liddell")
    core.users.on_push(ME, "bob@x.org", NICK, "Robert")
    model.flush()
    alice = find(proxy, "alice@x.org")
    assert alice.data() == "Ally"  # the name the user gave wins
    assert "Calls themselves: Alice Liddell" in alice.data(Qt.ItemDataRole.ToolTipRole)
    assert find(proxy, "bob@x.org").data() == "Robert"
    assert tree(proxy) == [(DEFAULT_GROUP, ["Ally", "Robert"])]

    core.users.on_push(ME, "bob@x.org", NICK, None)  # retracted
    model.flush()
    assert find(proxy, "bob@x.org").data() == "bob@x.org"
    core.users.on_push(ME, ME, NICK, "Me myself")  # our own: names no contact
    assert core.roster.nickname(ME, ME) == ""
