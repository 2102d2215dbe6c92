"""Review of issue 11 (second round): orphan corrections folded into their target, and
what may still name the folded correction afterwards."""

from __future__ import annotations

from storage_helpers import MessageFactory

from chinwag.core.models import ConversationKey
from chinwag.storage import SqliteMessageStore
from chinwag.storage import message_store as ms


async def _fold(store: SqliteMessageStore, make: MessageFactory) -> None:
    # c1 corrects m1 before m1 reaches us (kept as a message), then m1 comes: folded.
    await store.add_received([make.incoming("second", uid="c1", replaces="m1")])
    target = make.incoming("first", uid="m1", timestamp=make.clock - 10)
    await store.add_received([target])


async def test_a_chained_correction_naming_a_folded_correction_edits_the_target(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    """Some clients name the previous correction of a chain (the store follows them on
    the normal path). After folding, c2 naming c1 must edit m1, not be refused because
    the folded row of c1 reads back as removed."""
    await _fold(store, make)
    assert store.get(key.account, key.peer, "m1").body == "second"  # type: ignore[union-attr]
    (outcome,) = await store.apply_actions([make.incoming("third", uid="c2", replaces="c1")])
    assert outcome.refused == ""
    assert outcome.target is not None
    assert outcome.target.uid == "m1"
    assert store.get(key.account, key.peer, "m1").body == "third"  # type: ignore[union-attr]


async def test_a_retraction_naming_a_folded_correction_removes_the_target(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    """As unfolded (a retraction naming the correction's id finds the message it
    corrected), so folded."""
    await _fold(store, make)
    (outcome,) = await store.apply_actions([make.incoming("", uid="r1", retracts="c1")])
    assert outcome.refused == ""
    assert outcome.target is not None
    assert outcome.target.uid == "m1"
    assert store.get(key.account, key.peer, "m1").removed  # type: ignore[union-attr]


async def test_the_same_chain_unfolded_is_followed(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    """Control: m1 first, then c1 and c2 (naming c1): m1 ends with c2's text."""
    await store.add_received([make.incoming("first", uid="m1")])
    await store.apply_actions([make.incoming("second", uid="c1", replaces="m1")])
    (outcome,) = await store.apply_actions([make.incoming("third", uid="c2", replaces="c1")])
    assert outcome.refused == ""
    assert store.get(key.account, key.peer, "m1").body == "third"  # type: ignore[union-attr]
    assert ms.FOLDED == 2


async def test_reactions_on_an_orphan_follow_it_into_its_target(
    store: SqliteMessageStore, make: MessageFactory, key: ConversationKey
) -> None:
    await store.add_received([make.incoming("second", uid="c1", replaces="m1")])
    (reacted,) = await store.apply_actions(
        [make.outgoing("", uid="r1", reacts_to="c1", reactions=("👍",))]
    )
    assert reacted.refused == ""
    await store.add_received([make.incoming("first", uid="m1", timestamp=make.clock - 10)])
    target = store.get(key.account, key.peer, "m1")
    assert target is not None
    assert target.id is not None
    assert store.reactions([target.id]) == {target.id: [(key.account, ("👍",))]}
