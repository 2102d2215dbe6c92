"""The script gateways of a running Chinwag, started and stopped while it runs: at
start-up what the command line or ``gateways.json`` turns on, and afterwards what the
Preferences dialog's "Script gateways" page turns on or off (saved to ``gateways.json``
and applied at once, with no restart). The keys are the same :class:`GatewayKeys` file
``chinwag-remote gateway-key`` writes.

Importing this module costs next to nothing: the HTTP server (aiohttp) and the gateways
are imported when one is started."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chinwag.gateways import settings
from chinwag.gateways.settings import NAMES, STATE_FILE, SettingsError

if TYPE_CHECKING:
    from chinwag.api.service import Api
    from chinwag.gateways.keys import GatewayKeys
    from chinwag.gateways.server import Gateways

log = logging.getLogger(__name__)

TITLES = {"xmlrpc": "XML-RPC (LiveJournal)", "rest": "REST (UCWA 2.0)"}
#: Where each gateway answers on its port.
URL_PATHS = {"xmlrpc": "/interface/xmlrpc", "rest": "/ucwa/v1"}


@dataclass(frozen=True, slots=True)
class GatewayState:
    """One gateway as it is now."""

    name: str
    title: str
    #: On for this run (the settings, the command line or the page turned it on).
    enabled: bool
    #: The port asked for (0: any free one).
    port: int
    #: The port it listens on (None: it does not run).
    running_port: int | None
    #: Why it does not run although it is on (a port in use, say).
    problem: str | None

    @property
    def url(self) -> str | None:
        if self.running_port is None:
            return None
        return f"http://127.0.0.1:{self.running_port}{URL_PATHS[self.name]}"


class GatewayControl:
    """The gateways over one API layer (``make_api`` gives it, made when first needed)."""

    def __init__(self, config_dir: Path, state_dir: Path, make_api: Callable[[], Api]) -> None:
        self.config_dir = config_dir
        self.state_dir = state_dir
        self._make_api = make_api
        self._keys: GatewayKeys | None = None
        self._gateways: Gateways | None = None
        #: name -> port asked for, of the gateways on for this run.
        self._on: dict[str, int] = {}
        self._problems: dict[str, str] = {}
        self._listeners: list[Callable[[], None]] = []
        self._lock: asyncio.Lock | None = None
        self._closed = False

    @property
    def keys(self) -> GatewayKeys:
        """The key file (the one ``chinwag-remote gateway-key`` writes)."""
        if self._keys is None:
            from chinwag.gateways.keys import FILE_NAME, GatewayKeys

            self._keys = GatewayKeys(self.config_dir / FILE_NAME)
        return self._keys

    # -- what is on ------------------------------------------------------------------------

    def settings_problem(self) -> str | None:
        """Why ``gateways.json`` cannot be read (None: it can, or there is none)."""
        try:
            settings.read_settings(self.config_dir)
        except SettingsError as exc:
            return str(exc)
        return None

    def state(self, name: str) -> GatewayState:
        running = self._gateways.ports.get(name) if self._gateways is not None else None
        if name in self._on:
            port = self._on[name]
        else:
            try:
                entry = settings.read_settings(self.config_dir).get(name, {})
            except SettingsError:
                entry = {}
            given = entry.get("port", 0)
            port = given if type(given) is int and 0 <= given <= 65535 else 0
        return GatewayState(
            name,
            TITLES[name],
            name in self._on,
            port,
            running,
            self._problems.get(name) if name in self._on else None,
        )

    def states(self) -> list[GatewayState]:
        return [self.state(name) for name in NAMES]

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after a gateway starts or stops; returns what unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("a gateway listener failed")

    # -- starting and stopping -------------------------------------------------------------

    async def start(self, ports: Mapping[str, int]) -> None:
        """At start-up: start the gateways in ``ports`` (name -> port, 0: any). Where the
        gateways listen is written anew for this run: what a Chinwag killed with them on
        left in the state folder would send scripts to ports that are no one's."""
        try:
            (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", self.state_dir / STATE_FILE, exc)
        async with self._locked():
            for name, port in ports.items():
                self._on[name] = port
                await self._start(name, port)
        self._changed()

    async def set_enabled(self, name: str, enabled: bool, port: int) -> GatewayState:
        """Turn gateway ``name`` on (on ``port``, 0: any) or off: saved in
        ``gateways.json`` (:class:`SettingsError` when it cannot be) and applied now.
        A port that cannot be had is in the returned state's ``problem``."""
        settings.save_setting(self.config_dir, name, enabled, port)
        async with self._locked():
            if self._closed:
                return self.state(name)
            running = self._gateways.ports.get(name) if self._gateways is not None else None
            moved = running is not None and port not in (0, running)
            if self._gateways is not None and (not enabled or moved):
                await self._gateways.stop(name)
                running = None
            self._problems.pop(name, None)
            if enabled:
                self._on[name] = port
                if running is None:
                    await self._start(name, port)
            else:
                self._on.pop(name, None)
        self._changed()
        return self.state(name)

    async def _start(self, name: str, port: int) -> None:
        from chinwag.gateways.server import Gateways, raise_open_files_limit

        if self._gateways is None:
            raise_open_files_limit()
            self._gateways = Gateways(self.state_dir)
        if name == "xmlrpc":
            from chinwag.gateways.xmlrpc import XmlRpcGateway

            app = XmlRpcGateway(self._make_api(), self.keys).app()
        else:
            from chinwag.gateways.ucwa import UcwaGateway

            app = UcwaGateway(self._make_api(), self.keys).app()
        try:
            await self._gateways.start(name, app, port)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._problems[name] = f"It cannot listen on port {port}: {reason}."
            log.error("the %s gateway cannot listen on port %d: %s", TITLES[name], port, reason)

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    @property
    def ports(self) -> dict[str, int]:
        """The running gateways: name -> the port each listens on."""
        return dict(self._gateways.ports) if self._gateways is not None else {}

    async def close(self) -> None:
        """Stop every gateway (at shutdown)."""
        async with self._locked():
            self._closed = True
            if self._gateways is not None:
                await self._gateways.close()
        self._listeners.clear()
