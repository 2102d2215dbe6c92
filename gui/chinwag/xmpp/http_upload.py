"""XEP-0363 HTTP File Upload, and the HTTP side of files in conversations.

- Discovery: the server itself and each of its disco#items (at most
  :data:`MAX_SERVICES_ASKED`) are asked for ``urn:xmpp:http:upload:0``; the service's
  ``max-file-size`` (its XEP-0128 form) is the limit. Cached per stream.
- A slot: ``<request filename size content-type/>``; the answer's PUT URL, its headers
  (only Authorization, Cookie and Expires, as the XEP allows) and the GET URL. Only
  https URLs are used.
- Transfers with aiohttp on our loop: the file is streamed in :data:`CHUNK` pieces, each
  read in a worker thread (never the whole file in memory, never a disk read on the
  loop); downloads are written the same way, capped at a size, with timeouts.

Certificates: HTTP servers are verified against the system store, as the account's
stream is. An account with a pinned certificate (a self-signed server the user chose to
trust) has that pin applied to its own domain and its subdomains (``upload.example.org``
is commonly the same Prosody with the same certificate): a certificate there must match
the pin exactly; hosts outside the domain are verified against the system store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import aiohttp
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

from chinwag.core.attachments import (
    Progress,
    RemoteFile,
    TransferError,
    TransferFailure,
    UploadService,
    UploadSlot,
)
from chinwag.core.errors import RequestRefused
from chinwag.core.ports import XmppConnection
from chinwag.xmpp import disco_rooms

log = logging.getLogger(__name__)

NS = "urn:xmpp:http:upload:0"
#: disco#items of the server asked about upload at most (a server lists a few components).
MAX_SERVICES_ASKED = 20
#: Bytes per read or write of a transfer.
CHUNK = 256 * 1024
#: The longest wait for a slot.
SLOT_TIMEOUT = 30.0
#: Connecting, and waiting for the next bytes of an HTTP exchange.
CONNECT_TIMEOUT = 20.0
READ_TIMEOUT = 60.0
#: As curl: a body over 1 MiB asks the server first (``Expect: 100-continue``) and goes
#: after its ``100 Continue``, or after a second without one. Prosody then streams the
#: body straight to its file: sent at once with the headers, 20 MB went at half the speed.
EXPECT_CONTINUE_FROM = 1024 * 1024
EXPECT_CONTINUE_WAIT = 1.0
#: Headers of a slot we send along (XEP-0363 section 5: the others are dropped).
ALLOWED_HEADERS = frozenset(("authorization", "cookie", "expires"))
#: The longest URL or header value read from a slot.
MAX_URL_CHARS = 4096


def _read_slot(answer: Any) -> UploadSlot:
    slot = answer.xml.find(f"{{{NS}}}slot")
    put = slot.find(f"{{{NS}}}put") if slot is not None else None
    get = slot.find(f"{{{NS}}}get") if slot is not None else None
    if put is None or get is None:
        raise TransferError("the upload service gave no slot", TransferFailure.SLOT_REFUSED)
    put_url = (put.get("url") or "")[:MAX_URL_CHARS]
    get_url = (get.get("url") or "")[:MAX_URL_CHARS]
    if not put_url.startswith("https://") or not get_url.startswith("https://"):
        raise TransferError(
            "the upload service gave a slot that is not https", TransferFailure.SLOT_REFUSED
        )
    headers: list[tuple[str, str]] = []
    for header in put.findall(f"{{{NS}}}header"):
        name = (header.get("name") or "").strip()
        value = (header.text or "").strip()[:MAX_URL_CHARS]
        if name.lower() in ALLOWED_HEADERS and "\n" not in value and "\r" not in value:
            headers.append((name, value))
    return UploadSlot(put_url, get_url, tuple(headers))


def _max_size(info: Any) -> int | None:
    values = info.forms.get(NS, {}).get("max-file-size", ())
    for value in values:
        with contextlib.suppress(ValueError):
            return max(0, int(value))
    return None


async def _file_chunks(
    handle: BinaryIO, name: str, size: int, progress: Progress
) -> AsyncIterator[bytes]:
    """``size`` bytes of the open file ``handle``, each read off the loop. (The caller
    opens and closes the file: a generator left unfinished is not reliably finalised
    under our loop, and its file would stay open.)"""
    sent = 0
    while sent < size:
        chunk = await asyncio.to_thread(handle.read, min(CHUNK, size - sent))
        if not chunk:
            raise TransferError(f"{name} got shorter while sending", TransferFailure.FILE)
        sent += len(chunk)
        yield chunk
        progress(sent)


class _ContinueAfterAWhile(aiohttp.ClientRequest):
    """A request that, having asked to continue, sends its body after
    :data:`EXPECT_CONTINUE_WAIT` seconds without an answer (RFC 9110 section 10.1.1: a
    client need not wait for ever; Prosody answers only for bodies over its buffer size).
    aiohttp would wait for the ``100 Continue`` until the read timeout."""

    def update_expect_continue(self, expect: bool = False) -> None:
        super().update_expect_continue(expect)
        waiter = self._continue  # (aiohttp's: set when the 100 comes)
        if waiter is not None:
            self.loop.call_later(EXPECT_CONTINUE_WAIT, aiohttp.helpers.set_result, waiter, True)


class XmppFileTransport:
    """The :class:`chinwag.core.attachments.FileTransport` of every account.

    ``connection(account)`` is the account's live connection (None when signed out)."""

    def __init__(self, connection: Callable[[str], XmppConnection | None]) -> None:
        self._connection = connection
        self._session: aiohttp.ClientSession | None = None
        #: Per account: the stream the service was found on, and the service.
        self._services: dict[str, tuple[object, UploadService | None]] = {}
        self._default_ssl: ssl.SSLContext | None = None

    # -- the stream -------------------------------------------------------------------

    def _client(self, account: str) -> Any:
        conn = self._connection(account)
        if conn is None:
            raise TransferError(f"{account} is not signed in", TransferFailure.NOT_SIGNED_IN)
        client = getattr(conn, "client", None)
        if client is None:  # (a link-local account: no server, so no upload service)
            raise TransferError(
                f"{account} has no server to hold files (chat on this network sends text only)",
                TransferFailure.NO_SERVICE,
            )
        return client

    async def find_upload_service(self, account: str) -> UploadService | None:
        client = self._client(account)
        cached = self._services.get(account)
        if cached is not None and cached[0] is client:
            return cached[1]
        domain = client.boundjid.domain
        candidates = [domain]
        try:
            page = await disco_rooms.disco_items(client, domain)
            candidates += [item.jid for item in page.items[:MAX_SERVICES_ASKED] if not item.node]
        except RequestRefused as exc:
            log.debug("%s: no disco#items of %s: %s", account, domain, exc)
        found: UploadService | None = None
        for jid in candidates:
            try:
                info = await disco_rooms.disco_info(client, jid)
            except RequestRefused:
                continue
            if NS in info.features:
                found = UploadService(jid, _max_size(info))
                break
        self._services[account] = (client, found)
        return found

    async def request_slot(
        self, account: str, service: str, name: str, size: int, mime: str
    ) -> UploadSlot:
        client = self._client(account)
        iq = client.make_iq_get(ito=JID(service))
        request = ET.SubElement(iq.xml, f"{{{NS}}}request")
        request.set("filename", name)
        request.set("size", str(size))
        if mime:
            request.set("content-type", mime)
        try:
            answer = await iq.send(timeout=SLOT_TIMEOUT)
        except IqError as exc:
            error = exc.iq["error"]
            condition = error["condition"] or "undefined-condition"
            text = error["text"] or ""
            failure = (
                TransferFailure.TOO_BIG
                if exc.iq.xml.find(f".//{{{NS}}}file-too-large") is not None
                else TransferFailure.SLOT_REFUSED
            )
            raise TransferError(
                f"the upload service refused the file: {condition}"
                + (f" ({text[:200]})" if text else ""),
                failure,
            ) from exc
        except IqTimeout as exc:
            raise TransferError(
                "the upload service did not answer", TransferFailure.TIMEOUT
            ) from exc
        return _read_slot(answer)

    # -- HTTP -------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                request_class=_ContinueAfterAWhile,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
                ),
                auto_decompress=False,  # the bytes of the file, not a decompressed bomb
            )
        return self._session

    def _ssl_for(self, account: str, url: str) -> ssl.SSLContext | aiohttp.Fingerprint:
        """The account's pin for its own domain and subdomains, else the system store."""
        host = (urlsplit(url).hostname or "").lower()
        conn = self._connection(account)
        client = getattr(conn, "client", None) if conn is not None else None
        pinned = getattr(client, "pinned", "") if client is not None else ""
        domain = account.rpartition("@")[2].lower()
        if pinned and (host == domain or host.endswith("." + domain)):
            return aiohttp.Fingerprint(bytes.fromhex(pinned))
        if self._default_ssl is None:
            self._default_ssl = ssl.create_default_context()
            self._default_ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        return self._default_ssl

    @staticmethod
    def _network_error(what: str, exc: BaseException) -> TransferError:
        if isinstance(exc, TransferError):
            return exc
        if isinstance(exc, TimeoutError):
            return TransferError(f"{what}: the server did not answer", TransferFailure.TIMEOUT)
        if isinstance(exc, aiohttp.ServerFingerprintMismatch):
            return TransferError(
                f"{what}: the certificate does not match the pinned one", TransferFailure.NETWORK
            )
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return TransferError(
                f"{what}: the server's certificate is not trusted", TransferFailure.NETWORK
            )
        return TransferError(f"{what}: {exc or type(exc).__name__}", TransferFailure.NETWORK)

    async def upload(
        self, account: str, slot: UploadSlot, path: Path, size: int, mime: str, progress: Progress
    ) -> None:
        headers = dict(slot.headers)
        headers["Content-Length"] = str(size)
        headers["Content-Type"] = mime or "application/octet-stream"
        handle: BinaryIO | None = None
        try:
            handle = await asyncio.to_thread(path.open, "rb")
            async with self._http().put(
                slot.put_url,
                data=_file_chunks(handle, path.name, size, progress),
                headers=headers,
                ssl=self._ssl_for(account, slot.put_url),
                allow_redirects=False,
                expect100=size > EXPECT_CONTINUE_FROM,
            ) as response:
                if response.status not in (200, 201):
                    raise TransferError(
                        f"the upload server answered {response.status} {response.reason}",
                        TransferFailure.TOO_BIG
                        if response.status == 413
                        else TransferFailure.NETWORK,
                    )
        except OSError as exc:
            if isinstance(exc, aiohttp.ClientError | TimeoutError):
                raise self._network_error("upload", exc) from exc
            raise TransferError(f"cannot read {path.name}: {exc}", TransferFailure.FILE) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._network_error("upload", exc) from exc
        finally:
            if handle is not None:
                handle.close()  # (a read-only file: closing does not wait on the disk)

    async def probe(self, account: str, url: str) -> RemoteFile:
        _check_url(url)
        try:
            async with self._http().head(
                url, ssl=self._ssl_for(account, url), allow_redirects=True, max_redirects=3
            ) as response:
                if response.status >= 400:
                    raise TransferError(
                        f"the file server answered {response.status}", TransferFailure.NETWORK
                    )
                return RemoteFile(response.content_length, response.content_type or "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._network_error("download", exc) from exc

    async def download(
        self, account: str, url: str, destination: Path, limit: int, progress: Progress
    ) -> int:
        _check_url(url)
        received = 0
        try:
            async with self._http().get(
                url, ssl=self._ssl_for(account, url), allow_redirects=True, max_redirects=3
            ) as response:
                if response.status != 200:
                    raise TransferError(
                        f"the file server answered {response.status} {response.reason}",
                        TransferFailure.NETWORK,
                    )
                length = response.content_length
                if length is not None and length > limit:
                    raise TransferError(
                        f"the file is {length} bytes, more than the {limit} bytes allowed",
                        TransferFailure.TOO_BIG,
                    )
                handle: BinaryIO = await asyncio.to_thread(destination.open, "wb")
                try:
                    last = time.monotonic()
                    async for chunk in response.content.iter_chunked(CHUNK):
                        received += len(chunk)
                        if received > limit:
                            raise TransferError(
                                f"the file is more than the {limit} bytes allowed",
                                TransferFailure.TOO_BIG,
                            )
                        await asyncio.to_thread(handle.write, chunk)
                        now = time.monotonic()
                        if now - last > 0.05:
                            progress(received)
                            last = now
                finally:
                    await asyncio.to_thread(handle.close)
                progress(received)
        except OSError as exc:
            if isinstance(exc, aiohttp.ClientError | TimeoutError):
                raise self._network_error("download", exc) from exc
            raise TransferError(f"cannot write {destination}: {exc}", TransferFailure.FILE) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._network_error("download", exc) from exc
        return received

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _check_url(url: str) -> None:
    if urlsplit(url).scheme not in ("https", "http"):
        raise TransferError("only https and http links are fetched", TransferFailure.NOT_ALLOWED)
