"""Builds the Qt-free half of the application: storage, the password store, the account
settings, the XMPP connection factory and the core that ties them together.

``chinwag.app`` (the composition root) calls :func:`build_core` and adds the Qt parts;
tests, benchmarks and headless tools call it directly."""

from __future__ import annotations

from chinwag.core.link_local import profile_id
from chinwag.core.models import AccountConfig
from chinwag.core.ports import (
    ConfigStore,
    ConnectionListener,
    MessageStore,
    SecretStore,
    XmppConnection,
)
from chinwag.core.service import ChinwagCore
from chinwag.core.session import SessionTiming
from chinwag.storage.avatar_cache import AvatarFileCache
from chinwag.storage.message_store import SqliteMessageStore
from chinwag.system.config import JsonConfigStore
from chinwag.system.paths import Paths
from chinwag.system.secrets import LazySecretStore


def connection_factory(
    config: AccountConfig, password: str, listener: ConnectionListener, *, register: bool = False
) -> XmppConnection:
    """Imports slixmpp on the first connection, not at start-up (it takes a good part of
    the start-up time, and the first window does not need it). A link-local account
    gets the serverless transport (XEP-0174), imported likewise on first use."""
    if config.link_local:
        from chinwag.xmpp.link_local import LinkLocalConnection

        return LinkLocalConnection(config, listener)
    from chinwag.xmpp.connection import SlixmppConnection

    return SlixmppConnection(config, password, listener, register=register)


def build_core(
    paths: Paths | None = None,
    *,
    secrets: SecretStore | None = None,
    timing: SessionTiming | None = None,
    store: MessageStore | None = None,
    config: ConfigStore | None = None,
) -> ChinwagCore:
    """A core on the profile under ``paths`` (the XDG directories by default). ``store``
    and ``config``, when given, are used instead of opening the profile's (the app
    opens them itself to recover from damaged files)."""
    paths = paths or Paths.default()
    if store is None:
        store = SqliteMessageStore.open(paths.ensure().database)
    core = ChinwagCore(
        store,
        secrets or LazySecretStore(paths.secrets_file),
        config or JsonConfigStore(paths.accounts_file),
        connection_factory,
        timing=timing,
        avatar_store=AvatarFileCache(paths.cache / "avatars"),
    )
    # (a link-local account's address names the profile: two on one host differ)
    core.link_local_profile = profile_id(str(paths.config))
    return core
