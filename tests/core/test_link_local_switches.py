"""Serverless chat (a link-local account) is turned on and off by the user or a script,
never by itself: at start-up an enabled link-local account signs in with the others only
when the run was started as a user starts it (``core.link_local_resumes``, set by the
app: not ``--background``, which D-Bus activation uses, nor under the test rig), and it
is never the primary account while a server account exists.

A real core and storage; the connections are stand-ins that record who connected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chinwag.app import _resumes_link_local, parse_args
from chinwag.core import link_local
from chinwag.core.errors import ChinwagError
from chinwag.core.events import ConnectionStateChanged
from chinwag.core.models import AccountConfig, AccountKind, ConnectionState
from chinwag.core.ports import ConnectionListener
from chinwag.core.service import ChinwagCore
from chinwag.core.session import Backoff, SessionTiming
from chinwag.storage import SqliteMessageStore
from rig.fakes import FakeConfig, FakeConnection, FakeSecrets

ME = "me@localhost"
LAN = "me-ab12@host"


class Cores:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.connected: list[str] = []
        self.made: list[ChinwagCore] = []

    def make(self, *accounts: AccountConfig) -> ChinwagCore:
        def connect(
            config: AccountConfig,
            password: str,
            listener: ConnectionListener,
            *,
            register: bool = False,
        ) -> FakeConnection:
            self.connected.append(config.jid)
            return FakeConnection(listener)

        core = ChinwagCore(
            SqliteMessageStore.open(self.tmp_path / f"h{len(self.made)}.sqlite3"),
            FakeSecrets({ME: "secret"}),
            FakeConfig(list(accounts)),
            connect,
            timing=SessionTiming(backoff=Backoff(initial=0.01, cap=0.05), connect_timeout=5),
        )
        core.link_local_profile = "ab12"
        self.made.append(core)
        return core


@pytest.fixture
async def cores(tmp_path: Path) -> AsyncIterator[Cores]:
    made = Cores(tmp_path)
    try:
        yield made
    finally:
        for core in made.made:
            await core.shutdown()


def lan(enabled: bool = True) -> AccountConfig:
    return AccountConfig(jid=LAN, kind=AccountKind.LINK_LOCAL, enabled=enabled)


async def online(core: ChinwagCore, account: str) -> None:
    """Wait until ``account`` is signed in (each state change looked at)."""
    changed = asyncio.Event()
    unsubscribe = core.bus.subscribe(ConnectionStateChanged, lambda _e: changed.set())
    try:
        async with asyncio.timeout(10):
            while core.state(account) is not ConnectionState.ONLINE:
                await changed.wait()
                changed.clear()
    finally:
        unsubscribe()


async def test_an_enabled_link_local_account_of_an_earlier_run_does_not_start_by_itself(
    cores: Cores,
) -> None:
    core = cores.make(AccountConfig(jid=ME), lan())
    assert [a.jid for a in core.auto_signed_in()] == [ME]
    assert core.auto_sign_in() == 1
    await online(core, ME)
    assert cores.connected == [ME]
    assert not core.session(LAN).wanted
    assert core.state(LAN) is ConnectionState.OFFLINE


async def test_it_resumes_when_the_run_was_started_as_a_user_starts_it(cores: Cores) -> None:
    core = cores.make(AccountConfig(jid=ME), lan())
    core.link_local_resumes = True  # (what the app sets for a start with no --background)
    assert core.auto_sign_in() == 2
    await online(core, LAN)
    assert sorted(cores.connected) == sorted([ME, LAN])


async def test_turned_on_in_this_run_it_signs_in_again_with_the_others(cores: Cores) -> None:
    core = cores.make(AccountConfig(jid=ME), lan(enabled=False))
    core.auto_sign_in()
    await online(core, ME)
    session = await link_local.enable_link_local(core)
    assert session.account == LAN
    assert core.accounts.get(LAN).enabled
    assert link_local.link_local_on(core)
    await online(core, LAN)
    await core.sign_out()  # Offline picked, then a status again
    core.auto_sign_in()
    await online(core, LAN)

    assert await link_local.disable_link_local(core)
    assert not core.accounts.get(LAN).enabled
    assert core.state(LAN) is ConnectionState.OFFLINE
    assert not link_local.link_local_on(core)
    assert not await link_local.disable_link_local(core)


async def test_never_primary_while_a_server_account_exists(cores: Cores) -> None:
    core = cores.make()
    session = await link_local.enable_link_local(core, user="me", host="host")
    assert session.account == LAN  # (the profile id of the core: ab12)
    assert core.primary == LAN  # the only account
    core.add_account(AccountConfig(jid=ME), "secret")
    assert core.primary == ME  # a server account goes first
    with pytest.raises(ChinwagError, match="never the primary"):
        core.accounts.make_primary(LAN)
    assert core.primary == ME


def test_the_app_resumes_it_only_when_started_without_background_or_no_local() -> None:
    assert _resumes_link_local(parse_args([]))
    assert not _resumes_link_local(parse_args(["--background"]))  # D-Bus activation, scripts
    assert not _resumes_link_local(parse_args(["--no-local"]))  # asked not to (the test rig)


def test_no_local_is_documented_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    assert "--no-local" in capsys.readouterr().out
