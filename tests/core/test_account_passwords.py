"""Passwords in the core: a password given is used at once while the store saves it in the
background, in order; reading one waits only as long as the store does; a store that cannot
tell in time makes the session try again instead of giving up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from chinwag.core.accounts import AccountService
from chinwag.core.errors import AuthenticationFailed, PasswordUnavailable
from chinwag.core.events import ConnectionStateChanged, EventBus
from chinwag.core.models import AccountConfig, ConnectionState, Show
from chinwag.core.ports import ConnectionListener, SecretStore
from chinwag.core.session import AccountSession, Backoff, SessionTiming

ME = "alice@example.org"


class SlowStore:
    """A password store whose keyring answers only when the test says so (``answer``),
    or never can (``unavailable``): a keyring with its prompt up."""

    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}
        self.writes: list[tuple[str, str | None]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.unavailable = False

    async def get_password(self, account: str) -> str | None:
        if self.unavailable:
            raise PasswordUnavailable("the keyring did not answer")
        await self.gate.wait()
        return self.passwords.get(account)

    async def set_password(self, account: str, password: str) -> None:
        await self.gate.wait()
        self.passwords[account] = password
        self.writes.append((account, password))

    async def delete_password(self, account: str) -> None:
        await self.gate.wait()
        self.passwords.pop(account, None)
        self.writes.append((account, None))


class Config:
    def __init__(self) -> None:
        self.accounts: list[AccountConfig] = [AccountConfig(jid=ME)]

    def load_accounts(self) -> list[AccountConfig]:
        return list(self.accounts)

    def save_accounts(self, accounts: Sequence[AccountConfig]) -> None:
        self.accounts = list(accounts)


def accounts_with(store: SecretStore) -> AccountService:
    return AccountService(Config(), store, EventBus())


async def test_a_password_given_is_used_at_once_and_saved_in_order() -> None:
    store = SlowStore()
    store.gate.clear()  # the keyring is asking the user something
    accounts = accounts_with(store)
    accounts.set_password(ME, "first")
    accounts.set_password(ME, "second")
    accounts.set_password(ME, "third", remember=False)
    assert accounts.password(ME) == "third"
    assert await accounts.load_password(ME) == "third"  # without asking the store
    assert store.writes == []
    store.gate.set()
    await accounts.drain()
    assert store.writes == [(ME, "first"), (ME, "second"), (ME, None)]
    assert store.passwords == {}


async def test_a_stored_password_is_read_once_and_kept() -> None:
    store = SlowStore()
    store.passwords[ME] = "stored"
    accounts = accounts_with(store)
    assert accounts.password(ME) is None  # not read yet
    assert await accounts.load_password(ME) == "stored"
    store.unavailable = True
    assert await accounts.load_password(ME) == "stored"
    assert accounts.password(ME) == "stored"


async def test_a_store_that_cannot_tell_says_so() -> None:
    store = SlowStore()
    store.unavailable = True
    with pytest.raises(PasswordUnavailable):
        await accounts_with(store).load_password(ME)


async def test_not_remembering_any_more_keeps_the_password_for_this_run() -> None:
    store = SlowStore()
    store.passwords[ME] = "stored"
    accounts = accounts_with(store)
    accounts.set_remember(ME, False)
    await accounts.drain()
    assert store.passwords == {}
    assert accounts.password(ME) == "stored"  # read before it was removed
    accounts.set_remember(ME, True)
    await accounts.drain()
    assert store.passwords == {ME: "stored"}


async def test_removing_an_account_removes_its_password() -> None:
    store = SlowStore()
    store.passwords[ME] = "stored"
    accounts = accounts_with(store)
    accounts.remove(ME)
    await accounts.drain()
    assert store.passwords == {}


# -- the session ----------------------------------------------------------------------------


class Connection:
    """Signs in at once; records the password it was made with."""

    def __init__(self, listener: ConnectionListener) -> None:
        self.listener = listener

    async def connect(self) -> None:
        await asyncio.sleep(0)
        self.listener.on_session_started(False)

    async def disconnect(self) -> None:
        self.listener.on_disconnected(None)

    def abort(self) -> None: ...

    def send_presence(self, show: Show, status: str, priority: int) -> None: ...


class Downstream:
    def on_online(self, account: str, conn: object, resumed: bool) -> None: ...

    def on_offline(self, account: str) -> None: ...

    def share_privacy(self, conn: object = None) -> None: ...


def session_for(accounts: AccountService) -> tuple[AccountSession, list[str], asyncio.Event]:
    """The session, the passwords its connections were made with, and an event set once
    it is online."""
    bus = EventBus()
    online = asyncio.Event()
    bus.subscribe(
        ConnectionStateChanged,
        lambda e: online.set() if e.state is ConnectionState.ONLINE else None,
    )
    used: list[str] = []

    def factory(config: AccountConfig, password: str, listener: Any, **_: Any) -> Any:
        used.append(password)
        return Connection(listener)

    session = AccountSession(
        AccountConfig(jid=ME),
        lambda: accounts.load_password(ME),
        factory,
        bus,
        Downstream(),  # type: ignore[arg-type]
        Downstream(),  # type: ignore[arg-type]
        SessionTiming(backoff=Backoff(initial=0.01, cap=0.02)),
    )
    return session, used, online


async def test_a_store_that_cannot_tell_makes_the_session_try_again() -> None:
    store = SlowStore()
    store.unavailable = True
    accounts = accounts_with(store)
    session, used, online = session_for(accounts)
    with pytest.raises(PasswordUnavailable):
        await session.sign_in()
    assert session.state is ConnectionState.RECONNECTING  # not given up
    accounts.set_password(ME, "given")  # a script or the user brings it meanwhile
    await asyncio.wait_for(online.wait(), 30)
    assert used == ["given"]
    await session.sign_out()


async def test_no_stored_password_names_the_account() -> None:
    session, _, _ = session_for(accounts_with(SlowStore()))
    with pytest.raises(AuthenticationFailed, match=f"no password is stored for {ME}"):
        await session.sign_in()
    assert session.state is ConnectionState.FAILED
