"""Accounts: their settings (saved through a :class:`ConfigStore`) and their passwords
(kept in a :class:`SecretStore`, or only in memory when the user asks not to remember).

A password given in this run (a sign-in form, a script's Signin) is used at once; it is
saved in the store in the background, since the keyring behind the store may take a
while (or wait for the user) to answer. The writes reach the store in the order made.

The first account is the primary one: the one the automation API means by default."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

from chinwag.core import jid as jids
from chinwag.core.errors import ChinwagError, PasswordUnavailable, UnknownAccount
from chinwag.core.events import AccountAdded, AccountChanged, AccountRemoved, EventBus
from chinwag.core.models import AccountConfig
from chinwag.core.ports import ConfigStore, SecretStore
from chinwag.core.tasks import BackgroundTasks


class AccountService:
    """The saved accounts, in order; the first is primary."""

    def __init__(self, config: ConfigStore, secrets: SecretStore, bus: EventBus) -> None:
        self._config = config
        self._secrets = secrets
        self._bus = bus
        self._accounts: list[AccountConfig] = list(config.load_accounts())
        self._session_passwords: dict[str, str] = {}
        self._writes = BackgroundTasks("saving a password")
        self._last_write: asyncio.Task[Any] | None = None

    @property
    def accounts(self) -> Sequence[AccountConfig]:
        return tuple(self._accounts)

    @property
    def primary(self) -> AccountConfig | None:
        return self._accounts[0] if self._accounts else None

    def find(self, jid: str) -> AccountConfig | None:
        try:
            bare = jids.bare(jid)
        except Exception:
            return None
        return next((a for a in self._accounts if a.jid == bare), None)

    def get(self, jid: str) -> AccountConfig:
        account = self.find(jid)
        if account is None:
            raise UnknownAccount(f"no account {jid!r}")
        return account

    def add(
        self,
        config: AccountConfig,
        password: str | None,
        *,
        remember: bool = True,
        primary: bool = False,
    ) -> AccountConfig:
        """Add (or replace the settings of) an account."""
        config = replace(config, jid=jids.bare(config.jid))
        existing = self.find(config.jid)
        if not config.resource:
            keep = existing.resource if existing else ""
            config = replace(config, resource=keep or f"chinwag-{secrets.token_hex(3)}")
        if existing is not None:
            index = self._accounts.index(existing)
            self._accounts[index] = config
        elif primary or self._before_link_local(config):
            self._accounts.insert(0, config)
        else:
            self._accounts.append(config)
        if password is not None:
            self.set_password(config.jid, password, remember=remember)
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountChanged(config.jid) if existing else AccountAdded(config.jid))
        return config

    def _before_link_local(self, config: AccountConfig) -> bool:
        """A server account goes ahead of a link-local one that is primary: serverless
        chat is never the primary account while a server account exists."""
        return bool(self._accounts) and self._accounts[0].link_local and not config.link_local

    def update(self, config: AccountConfig) -> None:
        existing = self.get(config.jid)
        self._accounts[self._accounts.index(existing)] = config
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountChanged(config.jid))

    def make_primary(self, jid: str) -> None:
        """Move the account to the front: the one scripts mean by default. Never a
        link-local account while a server account exists (ChinwagError)."""
        account = self.get(jid)
        if account.link_local and any(not a.link_local for a in self._accounts):
            raise ChinwagError(
                "chat on this network is never the primary account while a server account exists"
            )
        self._accounts.remove(account)
        self._accounts.insert(0, account)
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountChanged(account.jid))

    def remove(self, jid: str) -> None:
        account = self.get(jid)
        self._accounts.remove(account)
        self._session_passwords.pop(account.jid, None)
        self._in_store(lambda: self._secrets.delete_password(account.jid))
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountRemoved(account.jid))

    def set_password(self, jid: str, password: str, *, remember: bool = True) -> None:
        """Use ``password`` from now on; save it (or, without ``remember``, remove the
        stored one) in the background."""
        self._session_passwords[jid] = password
        if remember:
            self._in_store(lambda: self._secrets.set_password(jid, password))
        else:
            self._in_store(lambda: self._secrets.delete_password(jid))

    def set_remember(self, jid: str, remember: bool) -> None:
        """Keep the password in the store, or not, without changing it."""
        if remember:
            known = self._session_passwords.get(jid)
            if known is not None:  # else the store has it already, or nobody does
                self._in_store(lambda: self._secrets.set_password(jid, known))
            return

        async def forget() -> None:
            with contextlib.suppress(PasswordUnavailable):
                await self.load_password(jid)  # first, so that this run can still use it
            await self._secrets.delete_password(jid)

        self._in_store(forget)

    def password(self, jid: str) -> str | None:
        """The password known in this run (given, or read from the store already); None
        when not known yet. :meth:`load_password` also asks the store."""
        return self._session_passwords.get(jid)

    async def load_password(self, jid: str) -> str | None:
        """The password, from memory or else from the store; None when none is stored.
        Raises :class:`~chinwag.core.errors.PasswordUnavailable` when the store cannot
        tell in time (it never waits long: see :class:`SecretStore`)."""
        if jid in self._session_passwords:
            return self._session_passwords[jid]
        password = await self._secrets.get_password(jid)
        if password is not None:
            self._session_passwords.setdefault(jid, password)
            return self._session_passwords[jid]
        return None

    def _in_store(self, write: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``write`` in the background, after the writes made before it."""
        previous = self._last_write

        async def in_order() -> None:
            if previous is not None:
                await asyncio.wait([previous])  # its failure is logged, not ours
            await write()

        self._last_write = self._writes.spawn(in_order())

    async def drain(self) -> None:
        """Wait for the password writes still under way (before shutting down)."""
        await self._writes.drain()
