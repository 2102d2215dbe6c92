"""Builds the Qt-free half of the application: storage, the password store, the account
settings, the XMPP connection factory and the core that ties them together.

``chinwag.app`` (the composition root) calls :func:`build_core` and adds the Qt parts;
tests, benchmarks and headless tools call it directly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chinwag.core.attachments import FileTransport, Progress, RemoteFile, UploadService, UploadSlot
from chinwag.core.files import FileService
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


class LazyFileTransport:
    """The XEP-0363/HTTP transport, made (slixmpp and aiohttp imported) on first use."""

    def __init__(self, connection: Callable[[str], XmppConnection | None]) -> None:
        self._connection = connection
        self._transport: FileTransport | None = None

    def _get(self) -> FileTransport:
        if self._transport is None:
            from chinwag.xmpp.http_upload import XmppFileTransport

            self._transport = XmppFileTransport(self._connection)
        return self._transport

    async def find_upload_service(self, account: str) -> UploadService | None:
        return await self._get().find_upload_service(account)

    async def request_slot(
        self, account: str, service: str, name: str, size: int, mime: str
    ) -> UploadSlot:
        return await self._get().request_slot(account, service, name, size, mime)

    async def upload(
        self, account: str, slot: UploadSlot, path: Path, size: int, mime: str, progress: Progress
    ) -> None:
        await self._get().upload(account, slot, path, size, mime, progress)

    async def probe(self, account: str, url: str) -> RemoteFile:
        return await self._get().probe(account, url)

    async def download(
        self, account: str, url: str, destination: Path, limit: int, progress: Progress
    ) -> int:
        return await self._get().download(account, url, destination, limit, progress)

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()


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
    if isinstance(store, SqliteMessageStore):
        core.files = build_files(core, store)
    return core


def build_files(core: ChinwagCore, store: SqliteMessageStore) -> FileService:
    """Files in conversations: XEP-0363 upload and downloads over aiohttp (imported on the
    first transfer's connection, with slixmpp), attachments in the history database,
    downloads into the user's downloads folder."""
    from chinwag.storage.attachments import SqliteAttachmentStore

    def connection(account: str) -> XmppConnection | None:
        session = core.sessions.get(account)
        return session.connection if session is not None else None

    def downloads() -> Path:
        import platformdirs

        return Path(platformdirs.user_downloads_dir())

    return FileService(
        core.messaging,
        SqliteAttachmentStore(store.database),
        LazyFileTransport(connection),
        core.bus,
        messages=store,
        is_contact=lambda account, jid: core.roster.contact(account, jid) is not None,
        downloads=downloads,
    )
