"""A minimal scripted XMPP contact (slixmpp) for tests: log in, chat, log out cleanly.

Use it as the "other side" of a conversation with the app under test, or to check that an
account works::

    async with XmppPeer(prosody, *prosody.make_user("bob")) as bob:
        bob.send_chat("alice@localhost", "hi")
        msg = await bob.next_message(timeout=5)

Must run inside an async test (the qasync loop). It connects to ``server.host:server.port``
(STARTTLS) and validates the server certificate with a default SSL context, so the test
needs ``ca_env`` (the ``prosody*`` fixtures include it) -- or pass ``ssl_context``.
:meth:`XmppPeer.login` raises :class:`LoginFailed` with the reason instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from types import TracebackType
from typing import Any, Self, cast

import slixmpp

from rig.prosody import ProsodyServer


class LoginFailed(RuntimeError):
    """The peer could not establish a session (bad password, bad certificate, ...)."""


class XmppPeer:
    """A slixmpp ``ClientXMPP`` wrapped for tests; see the module docstring."""

    def __init__(
        self,
        server: ProsodyServer,
        jid: str,
        password: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        direct_tls: bool = False,
    ) -> None:
        self.server = server
        self.jid = jid
        self.password = password
        self.direct_tls = direct_tls
        self.client: Any = slixmpp.ClientXMPP(jid, password)
        if ssl_context is not None:
            self.client.ssl_context = ssl_context
        # With an explicit host/port slixmpp tries direct TLS first, then STARTTLS, on the
        # same port, emitting connection_failed for the first; pick exactly one.
        self.client.enable_direct_tls = direct_tls
        self.client.enable_starttls = not direct_tls
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.client.add_event_handler("message", self.messages.put_nowait)

    async def login(self, timeout: float = 15.0) -> None:
        """Connect and wait for ``session_start`` (presence is sent, roster fetched)."""
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[str] = loop.create_future()

        def settle(result: str) -> Any:
            def handler(event: Any) -> None:
                if not outcome.done():
                    detail = "" if event is None else f": {event}"
                    outcome.set_result(result + (detail if result != "ok" else ""))

            return handler

        handlers = {
            "session_start": settle("ok"),
            "failed_all_auth": settle("authentication failed"),
            "ssl_invalid_chain": settle("certificate rejected"),
            "connection_failed": settle("connection failed"),
            "disconnected": settle("disconnected before the session started"),
        }
        for name, handler in handlers.items():
            self.client.add_event_handler(name, handler)
        port = self.server.direct_tls_port if self.direct_tls else self.server.port
        try:
            self.client.connect(self.server.host, port)
            try:
                result = await asyncio.wait_for(outcome, timeout)
            except TimeoutError:
                result = f"no session after {timeout}s"
            if result != "ok":
                await self.logout()
                raise LoginFailed(f"{self.jid}: {result}")
            self.client.send_presence()
        finally:
            for name, handler in handlers.items():
                self.client.del_event_handler(name, handler)

    def send_chat(self, to: str, body: str) -> None:
        self.client.send_message(mto=to, mbody=body, mtype="chat")

    async def next_message(self, timeout: float = 10.0) -> Any:
        """The next received ``<message/>`` stanza (slixmpp ``Message``)."""
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def logout(self, wait: float = 2.0) -> None:
        """Close the stream and wait until the connection is really gone."""
        self.client.cancel_connection_attempt()
        if self.client.transport is not None:
            gone: asyncio.Future[Any] = self.client.disconnected
            await cast("asyncio.Future[Any]", self.client.disconnect(wait=wait))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(gone), wait + 1)
        # slixmpp keeps a filter task running for the client's lifetime; end it.
        task = getattr(self.client, "_run_out_filters", None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Self:
        await self.login()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.logout()
