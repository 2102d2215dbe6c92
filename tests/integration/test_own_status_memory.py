"""The own status kept between runs (issue 9, the windows, item 7) on a real core and a
real file; the end-to-end restart is ``tests/e2e/test_own_status_restart.py``. No server:
a kept status is set before signing in."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import make_core

from chinwag.core.models import AccountConfig, Show
from chinwag.core.status import Status, StatusMemory
from chinwag.system.config import JsonStatusStore


async def test_kept_per_account_and_restored_before_signing_in(tmp_path: Path) -> None:
    path = tmp_path / "config" / "status.json"
    core = make_core(tmp_path / "profile")
    try:
        core.add_account(AccountConfig("alice@example.org"), "pw")
        core.add_account(AccountConfig("bob@example.org"), "pw")
        memory = StatusMemory(core, JsonStatusStore(path))
        core.session("alice@example.org").set_status(Status.BE_RIGHT_BACK, "five minutes")
        core.session("bob@example.org").set_status(Status.INVISIBLE, "")
        core.session("bob@example.org").set_status(Status.OFFLINE, "")  # not a status to keep
        assert memory.saved("bob@example.org") == (Status.INVISIBLE, "")
    finally:
        await core.shutdown()
    assert json.loads(path.read_text())["accounts"] == {
        "alice@example.org": {"status": "be_right_back", "message": "five minutes"},
        "bob@example.org": {"status": "invisible", "message": ""},
    }

    again = make_core(tmp_path / "profile")
    try:
        StatusMemory(again, JsonStatusStore(path)).restore()
        alice = again.session("alice@example.org")
        assert (alice.picked, alice.show, alice.status) == (
            Status.BE_RIGHT_BACK,
            Show.AWAY,
            "five minutes",
        )
        assert again.session("bob@example.org").picked is Status.INVISIBLE

        again.accounts.remove("bob@example.org")  # forgotten with the account
        assert set(json.loads(path.read_text())["accounts"]) == {"alice@example.org"}
    finally:
        await again.shutdown()


async def test_a_damaged_file_is_set_aside_and_nothing_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "config" / "status.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    core = make_core(tmp_path / "profile")
    try:
        core.add_account(AccountConfig("alice@example.org"), "pw")
        store = JsonStatusStore(path)
        StatusMemory(core, store).restore()
        assert store.problem is not None
        assert "moved to" in store.problem
        assert core.session("alice@example.org").picked is Status.ONLINE
        assert not path.exists()
        assert list(path.parent.glob("status.json.broken-*"))

        # an entry that names no status is skipped, the others are kept
        path.write_text(
            json.dumps(
                {
                    "version": 1,
                    "accounts": {
                        "alice@example.org": {"status": "asleep", "message": "zzz"},
                        "carol@example.org": {"status": "busy", "message": 5},
                        "dave@example.org": {"status": "busy", "message": "on a call"},
                    },
                }
            )
        )
        memory = StatusMemory(core, JsonStatusStore(path))
        assert memory.saved("alice@example.org") is None
        assert memory.saved("carol@example.org") is None
        assert memory.saved("dave@example.org") == (Status.BUSY, "on a call")
    finally:
        await core.shutdown()
