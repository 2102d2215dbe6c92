"""Serverless chat (XEP-0174) between two Chinwag cores in two network namespaces on
one veth link (root needed; see tests/rig/link_local_net.py):

- discovery: from asking each core to turn link-local on until each sees the other
  (goal: under 2 s);
- round trip: from handing a message to alice's core until alice's core has stored
  bob's receipt for it ("delivered"): alice's store, her stream, bob's store, his
  receipt, alice's store again; p50 and p90 over sequential messages (goal: p50 under
  5 ms). Measured from the bench process, so the JSON-lines pipes to the two runner
  processes are included.

    python bench/bench_link_local.py [messages]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rig.link_local_net import Peer, Unavailable, link  # noqa: E402


def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-ll-") as tmp:
        try:
            net_context = link("bench")
            net = net_context.__enter__()
        except Unavailable as exc:
            print(f"skipped: {exc}")
            return
        peers: list[Peer] = []
        try:
            alice = Peer(net.names[0], Path(tmp) / "a", Path(tmp) / "a.log")
            peers.append(alice)
            bob = Peer(net.names[1], Path(tmp) / "b", Path(tmp) / "b.log")
            peers.append(bob)
            start = time.perf_counter()
            alice.start("alice")
            bob.start("bob")
            alice.wait(lambda e: e.get("ev") == "presence" and e["jid"] == bob.account)
            seen_a = time.perf_counter() - start
            bob.wait(lambda e: e.get("ev") == "presence" and e["jid"] == alice.account)
            seen_b = time.perf_counter() - start
            print(
                f"discovery: alice sees bob after {seen_a * 1000:.0f} ms, "
                f"bob sees alice after {seen_b * 1000:.0f} ms (goal < 2000 ms)"
            )
            # one to open the streams both ways
            uid = alice.call("send", to=bob.account, body="warm-up")["uid"]
            alice.wait(lambda e: e.get("uid") == uid and e.get("state") == "delivered")
            trips: list[float] = []
            for i in range(count):
                t0 = time.perf_counter()
                uid = alice.call("send", to=bob.account, body=f"message {i}")["uid"]
                alice.wait(lambda e, u=uid: e.get("uid") == u and e.get("state") == "delivered")
                trips.append((time.perf_counter() - t0) * 1000)
            trips.sort()
            p90 = trips[int(len(trips) * 0.9) - 1]
            print(
                f"round trip (send -> delivered), {count} messages: "
                f"p50 {statistics.median(trips):.2f} ms, p90 {p90:.2f} ms, "
                f"min {trips[0]:.2f} ms (goal p50 < 5 ms)"
            )
        finally:
            for peer in peers:
                peer.close()
            net_context.__exit__(None, None, None)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
