"""Accounts: their settings (saved through a :class:`ConfigStore`) and their passwords
(kept in a :class:`SecretStore`, or only in memory when the user asks not to remember).

The first account is the primary one: the one the automation API means by default."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace

from chinwag.core import jid as jids
from chinwag.core.errors import UnknownAccount
from chinwag.core.events import AccountAdded, AccountChanged, AccountRemoved, EventBus
from chinwag.core.models import AccountConfig
from chinwag.core.ports import ConfigStore, SecretStore


class AccountService:
    """The saved accounts, in order; the first is primary."""

    def __init__(self, config: ConfigStore, secrets: SecretStore, bus: EventBus) -> None:
        self._config = config
        self._secrets = secrets
        self._bus = bus
        self._accounts: list[AccountConfig] = list(config.load_accounts())
        self._session_passwords: dict[str, str] = {}

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
        elif primary:
            self._accounts.insert(0, config)
        else:
            self._accounts.append(config)
        if password is not None:
            self.set_password(config.jid, password, remember=remember)
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountChanged(config.jid) if existing else AccountAdded(config.jid))
        return config

    def update(self, config: AccountConfig) -> None:
        existing = self.get(config.jid)
        self._accounts[self._accounts.index(existing)] = config
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountChanged(config.jid))

    def make_primary(self, jid: str) -> None:
        """Move the account to the front: the one scripts mean by default."""
        account = self.get(jid)
        self._accounts.remove(account)
        self._accounts.insert(0, account)
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountChanged(account.jid))

    def remove(self, jid: str) -> None:
        account = self.get(jid)
        self._accounts.remove(account)
        self._session_passwords.pop(account.jid, None)
        self._secrets.delete_password(account.jid)
        self._config.save_accounts(self._accounts)
        self._bus.publish(AccountRemoved(account.jid))

    def set_password(self, jid: str, password: str, *, remember: bool = True) -> None:
        self._session_passwords[jid] = password
        if remember:
            self._secrets.set_password(jid, password)
        else:
            self._secrets.delete_password(jid)

    def password(self, jid: str) -> str | None:
        if jid in self._session_passwords:
            return self._session_passwords[jid]
        password = self._secrets.get_password(jid)
        if password is not None:
            self._session_passwords[jid] = password
        return password
