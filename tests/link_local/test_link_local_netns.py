"""Serverless chat (XEP-0174) between two Chinwag cores, each in a network namespace of
its own, joined by a veth pair (made by the test as root, removed afterwards; skipped,
with the reason, where that cannot be done; never on the host's network): discovery both
ways, presence and status messages, chat both ways with receipts and chat states,
history and search, a peer going away (a message to it fails after the wait, the next
is delivered when it comes back), and bad input (oversize stanzas, a DTD, a stream
claiming to be someone else, a flood of announcements) that must not stop the chat.

The peers run :mod:`rig.link_local_peer`; waits are on the lines they print."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rig.link_local_net import Link, Peer, Unavailable, link
from rig.procs import child_env

BAD_PEER = Path(__file__).resolve().parent.parent / "rig" / "link_local_bad_peer.py"
#: The wait for an absent peer that alice runs with (production: 600 s).
WAIT = 8.0
#: How long a peer that left stays in alice's list (production: 300 s).
FORGET = 3.0
MAX_PEERS = 20

pytestmark = pytest.mark.slow


@dataclass
class Pair:
    net: Link
    alice: Peer
    bob: Peer
    tmp: Path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("ll")
    try:
        context = link("tests")
        net = context.__enter__()
    except Unavailable as exc:
        pytest.skip(f"no network namespaces here: {exc}")
    peers: list[Peer] = []
    try:
        alice = Peer(net.names[0], tmp / "alice", tmp / "alice.log")
        peers.append(alice)
        bob = Peer(net.names[1], tmp / "bob", tmp / "bob.log")
        peers.append(bob)
        alice.start("alice", peer_wait=WAIT, max_peers=MAX_PEERS, peer_forget=FORGET)
        bob.start("bob")
        yield Pair(net, alice, bob, tmp)
    finally:
        for peer in peers:
            peer.close()
        context.__exit__(None, None, None)


def presence_of(jid: str, show: str = "online", status: str | None = None) -> Any:
    return lambda e: (
        e.get("ev") == "presence"
        and e["jid"] == jid
        and e["show"] == show
        and (status is None or e["status"] == status)
    )


def message(body: str, direction: str = "incoming") -> Any:
    return lambda e: e.get("ev") == "message" and e["body"] == body and e["direction"] == direction


def state(uid: str, name: str) -> Any:
    return lambda e: e.get("ev") == "state" and e["uid"] == uid and e["state"] == name


def in_namespace(namespace: str, *args: str, stdin: Any = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, str(BAD_PEER), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def test_each_sees_the_other_in_the_network_group(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    # both profiles run on the same host name: the profile id tells them apart
    assert alice.account != bob.account
    assert alice.account.split("@")[1] == bob.account.split("@")[1]
    alice.wait(presence_of(bob.account))
    bob.wait(presence_of(alice.account))
    contact = alice.wait(lambda e: e.get("ev") == "contact" and e["jid"] == bob.account)
    assert contact["groups"] == ["On this network"]
    assert contact["name"] == "bob"
    assert bob.account in alice.call("roster")["contacts"]


def test_a_status_change_is_seen_by_the_peer(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    bob.wait(presence_of(alice.account), again=True)
    alice.call("status", show="away", msg="at lunch")
    bob.wait(presence_of(alice.account, "away", "at lunch"))
    alice.call("status", show="dnd", msg="busy <b>& co")
    bob.wait(presence_of(alice.account, "dnd", "busy <b>& co"))
    alice.call("status", show="online", msg="")
    bob.wait(presence_of(alice.account, "online", ""))


def test_chat_both_ways_with_receipts_history_and_search(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    bob.wait(presence_of(alice.account), again=True)
    uid = alice.call("send", to=bob.account, body="hello bob, tea?")["uid"]
    got = bob.wait(message("hello bob, tea?"))
    assert got["peer"] == alice.account
    alice.wait(state(uid, "sent"))
    alice.wait(state(uid, "delivered"))  # bob's receipt: he stored it

    alice.call("chat_state", to=bob.account, state="composing")
    bob.wait(lambda e: e.get("ev") == "chat_state" and e["peer"] == alice.account)

    uid = bob.call("send", to=alice.account, body="yes please <3 & biscuits")["uid"]
    alice.wait(message("yes please <3 & biscuits"))
    bob.wait(state(uid, "delivered"))

    history = alice.call("history", peer=bob.account)["messages"]
    assert [(m["direction"], m["body"]) for m in history][-2:] == [
        ("outgoing", "hello bob, tea?"),
        ("incoming", "yes please <3 & biscuits"),
    ]
    assert "yes please <3 & biscuits" in alice.call("search", text="biscuits")["hits"]
    assert "hello bob, tea?" in bob.call("search", text="tea")["hits"]


def test_a_peer_that_goes_away_gets_what_waited_when_it_comes_back(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    bob.call("sign_out")
    alice.wait(presence_of(bob.account, "offline"))

    # nobody to take it: it fails after the wait, saying why
    lost = alice.call("send", to=bob.account, body="are you there?")["uid"]
    failed = alice.wait(state(lost, "failed"), WAIT + 20)
    assert f"{WAIT:g} seconds" in failed["error"]
    assert "not on the network" in failed["error"]

    # one that waits less than that is delivered when bob is back
    kept = alice.call("send", to=bob.account, body="see you later")["uid"]
    bob.call("sign_in")
    bob.wait(message("see you later"), 20)
    alice.wait(state(kept, "delivered"))
    assert not [e for e in bob.events if e.get("ev") == "message" and e["body"] == "are you there?"]


def test_a_peer_that_left_is_offline_at_once_and_leaves_the_list_later(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    before = len(alice.events)
    for event in alice.events:  # (bob may have been away that long in an earlier test)
        event["_seen"] = True
    bob.call("sign_out")  # (its goodbye: the service withdrawn)
    alice.wait(presence_of(bob.account, "offline"))
    assert bob.account in alice.call("roster")["contacts"]  # offline, still listed
    alice.wait(lambda e: e.get("ev") == "contact_removed" and e["jid"] == bob.account, 30)
    assert bob.account not in alice.call("roster")["contacts"]
    # back: in the list again, online
    bob.call("sign_in")
    alice.wait(lambda e: e.get("ev") == "contact" and e["jid"] == bob.account, 30)
    alice.wait(presence_of(bob.account))
    assert bob.account in alice.call("roster")["contacts"]
    # one back before the time is up stays where it was
    bob.call("sign_out")
    alice.wait(presence_of(bob.account, "offline"))
    bob.call("sign_in")
    alice.wait(presence_of(bob.account))
    left = [e for e in alice.events[before:] if e.get("ev") == "contact_removed"]
    assert len(left) == 1


def bad_stream(pair: Pair, frm: str, kind: str) -> dict[str, Any]:
    port = pair.alice.call("port")["port"]
    assert port
    probe = in_namespace(
        pair.net.names[1], "stream", pair.net.addresses[0], str(port), frm, pair.alice.account, kind
    )
    out, _ = probe.communicate(timeout=60)
    assert probe.stdout is not None
    probe.stdout.close()
    return dict(json.loads(out))


def still_chatting(pair: Pair, body: str) -> None:
    alice, bob = pair.alice, pair.bob
    bob.call("send", to=alice.account, body=body)
    alice.wait(message(body))


def test_bad_streams_are_refused_and_the_chat_goes_on(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    # an oversize stanza from a known peer's address: a stream error, the connection gone
    result = bad_stream(pair, bob.account, "oversize")
    assert "policy-violation" in result["got"]
    assert result["closed"]
    # a DTD (entity expansion) before the stream
    result = bad_stream(pair, bob.account, "dtd")
    assert "restricted-xml" in result["got"]
    assert result["closed"]
    # someone claiming a name no peer on the network has (or not from its address)
    result = bad_stream(pair, "mallory@nowhere", "hello")
    assert "invalid-from" in result["got"]
    assert result["closed"]
    assert not [e for e in alice.events if e.get("ev") == "message" and "mallory" in e["body"]]
    still_chatting(pair, "still here after the bad streams")


def test_a_flood_of_announcements_is_bounded_and_cleaned(pair: Pair) -> None:
    alice = pair.alice
    flood = in_namespace(pair.net.names[1], "flood", str(MAX_PEERS * 2), stdin=subprocess.PIPE)
    try:
        assert flood.stdout is not None
        assert json.loads(flood.stdout.readline())["published"] == MAX_PEERS * 2
        # the chat goes on meanwhile, and the list stops growing at the cap
        still_chatting(pair, "still here during the flood")
        alice.wait(lambda e: e.get("ev") == "contact" and e["jid"].endswith("@evil"), 30)
        still_chatting(pair, "and after it")
        contacts = alice.call("roster")["contacts"]
        assert len(contacts) <= MAX_PEERS
        names = [e["name"] for e in alice.events if e.get("ev") == "contact"]
        assert all(len(n) <= 64 for n in names)
        assert not any(ch in n for n in names for ch in "\x1b\x07\u202e")
        assert not any("\x07" in jid or "\u202e" in jid for jid in contacts)
    finally:
        if flood.stdin is not None:
            flood.stdin.close()
        flood.wait(timeout=30)
        if flood.stdout is not None:
            flood.stdout.close()


def open_files(peer: Peer) -> int:
    return len(list(Path(f"/proc/{peer.proc.pid}/fd").iterdir()))


def test_a_peer_that_connects_thousands_of_times_does_not_use_up_our_files(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    before = open_files(alice)
    port = alice.call("port")["port"]
    hold = in_namespace(
        pair.net.names[1],
        "hold",
        pair.net.addresses[0],
        str(port),
        "3000",
        stdin=subprocess.PIPE,
    )
    try:
        assert hold.stdout is not None
        assert json.loads(hold.stdout.readline())["opened"] == 3000
        alice.call("roster")  # (alice's loop has taken every connection by now)
        # connections that never speak are not kept by the thousand (a desktop session's
        # limit is 1024 files: alice could open no database, no socket, no picture)
        assert open_files(alice) - before < 200
        still_chatting(pair, "still here with thousands of silent connections")
    finally:
        if hold.stdin is not None:
            hold.stdin.close()
        hold.wait(timeout=30)
        if hold.stdout is not None:
            hold.stdout.close()


def test_a_message_queued_for_an_absent_peer_survives_our_sign_out(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    bob.call("sign_out")
    alice.wait(presence_of(bob.account, "offline"))
    uid = alice.call("send", to=bob.account, body="kept across a sign-out")["uid"]
    alice.call("sign_out")
    alice.call("sign_in")
    bob.call("sign_in")
    bob.wait(message("kept across a sign-out"), 30)
    alice.wait(state(uid, "delivered"))


def test_a_second_service_naming_a_present_peer_does_not_take_its_place(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.wait(presence_of(bob.account), again=True)
    # mallory (bob's namespace, another port) announces bob's address with a resource
    mallory = in_namespace(
        pair.net.names[1], "announce", f"{bob.account}/evil", stdin=subprocess.PIPE
    )
    try:
        assert mallory.stdout is not None
        json.loads(mallory.stdout.readline())
        alice.call("roster")
        alice.call("send", to=bob.account, body="to the real bob")
        bob.wait(message("to the real bob"), 20)
    finally:
        if mallory.stdin is not None:
            mallory.stdin.close()
        mallory.wait(timeout=30)
        if mallory.stdout is not None:
            mallory.stdout.close()
    # mallory's goodbye is not bob's
    alice.call("send", to=bob.account, body="bob is still here")
    bob.wait(message("bob is still here"), 20)
