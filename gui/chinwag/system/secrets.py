"""Passwords: in the system keyring (Secret Service) when one answers, else in a file
only the user can read (mode 0600), with a warning in the log, for machines without a
keyring (a headless server, a minimal desktop).

Keyring calls block: keyring, SecretStorage and jeepney are synchronous, and a Secret
Service may put up a prompt ("create a keyring", "unlock your keyring") and not answer
until the user does, which can be never. So they never run on the event loop: they run
one at a time on a thread of their own (:class:`KeyringThread`), and each is awaited for
at most a few seconds. A call still running after that is left to finish on its own:
while it runs, nothing waits behind it; the file answers instead, with a warning.

The file is read first: a password is in it only when the keyring could not take it
(saving into the keyring removes the file's copy), so the file's is the newer one, and
reading it never waits on the keyring."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chinwag.core.errors import PasswordUnavailable
from chinwag.system.config import write_atomic

log = logging.getLogger(__name__)
SERVICE = "im.chinwag.Chinwag"

#: Longest wait for one keyring call: a Secret Service answers in well under a second,
#: unless it waits for the user (a prompt), which may take any time.
KEYRING_TIMEOUT = 5.0


def _session_bus_reachable() -> bool:
    """Whether a session bus can be there at all (so a Secret Service can answer), without
    connecting: importing keyring (and its cryptography) and timing out on a missing bus
    costs start-up time and memory on a headless machine."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not address:
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        return bool(runtime) and os.path.exists(os.path.join(runtime, "bus"))
    for part in address.split(";"):
        transport, _, params = part.partition(":")
        values = dict(p.partition("=")[::2] for p in params.split(",") if "=" in p)
        if transport != "unix" or "path" not in values or os.path.exists(values["path"]):
            return True  # abstract sockets and other transports: let keyring find out
    return False


# -- the blocking calls (run on the keyring thread only) -----------------------------------


class NoKeyring(Exception):
    """No keyring backend, or one that refused (locked, prompt dismissed, broken)."""


def _backend() -> Any:
    import keyring
    from keyring.backends import fail, null

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        raise NoKeyring(f"no keyring backend ({type(backend).__module__})")
    return backend


def _keyring_get(account: str) -> str | None:
    try:
        value: str | None = _backend().get_password(SERVICE, account)
    except NoKeyring:
        raise
    except Exception as exc:
        raise NoKeyring(str(exc) or type(exc).__name__) from exc
    return value


def _keyring_set(account: str, password: str) -> None:
    try:
        _backend().set_password(SERVICE, account, password)
    except NoKeyring:
        raise
    except Exception as exc:
        raise NoKeyring(str(exc) or type(exc).__name__) from exc


def _keyring_delete(account: str) -> None:
    from keyring.errors import PasswordDeleteError

    try:
        _backend().delete_password(SERVICE, account)
    except (NoKeyring, PasswordDeleteError):
        return
    except Exception as exc:
        raise NoKeyring(str(exc) or type(exc).__name__) from exc


# -- the keyring thread ---------------------------------------------------------------------


class KeyringBusy(Exception):
    """The keyring did not answer in time, or is still busy with a call that did not."""


@dataclass
class _Job:
    what: str
    call: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False
    dropped: bool = False  # its caller gave up before it started: skip it


class KeyringThread:
    """Runs blocking calls one at a time on one daemon thread (a daemon, so that a call
    stuck on a prompt never keeps the process from exiting).

    :meth:`run` waits at most the ``seconds`` it is given. A call that overruns them is
    *stuck*: it goes on (a prompt may still be answered), but :meth:`run` refuses every
    call at once until it ends, so nothing ever queues behind a prompt."""

    #: An idle thread ends after this long; the next call starts another.
    IDLE = 30.0

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stuck: _Job | None = None

    @property
    def stuck(self) -> str:
        """What the call that overran its time is doing; "" while none is stuck."""
        return self._stuck.what if self._stuck is not None else ""

    async def run(self, what: str, call: Callable[[], Any], seconds: float) -> Any:
        """``call()`` on the thread; its result or exception. :class:`KeyringBusy` when it
        takes longer than ``seconds``, or at once while an earlier call is stuck."""
        if self.stuck:
            raise KeyringBusy(f"it has not finished {self.stuck} yet")
        loop = asyncio.get_running_loop()
        job = _Job(what, call, loop, loop.create_future())
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="keyring", daemon=True)
                self._thread.start()
            self._jobs.put(job)
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), seconds)
        except TimeoutError:
            if self._give_up(job):
                self._stick(job)
            raise KeyringBusy(f"it did not answer within {seconds:g} s") from None
        except asyncio.CancelledError:
            self._give_up(job)
            raise

    @staticmethod
    def _give_up(job: _Job) -> bool:
        """Nobody waits for ``job`` any more: skip it if it has not started. True when it
        is running still."""
        with job.lock:
            job.dropped = not job.started
        job.future.add_done_callback(_retrieve)
        return not job.dropped and not job.future.done()

    def _stick(self, job: _Job) -> None:
        self._stuck = job
        log.warning(
            "the keyring did not answer within the time allowed while %s (is it asking "
            "something, such as to unlock it?); using the password file until it does",
            job.what,
        )

        def answered(_: asyncio.Future[Any]) -> None:
            if self._stuck is job:
                self._stuck = None
                log.info("the keyring answered at last (%s)", job.what)

        job.future.add_done_callback(answered)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            with job.lock:
                if job.dropped:
                    continue
                job.started = True
            try:
                outcome: tuple[Any, BaseException | None] = (job.call(), None)
            except BaseException as exc:  # handed to the caller, on the loop
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark the outcome of a call nobody awaits as seen (asyncio logs it otherwise)."""
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[Any], outcome: tuple[Any, BaseException | None]) -> None:
    if future.done():
        return
    result, error = outcome
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


# -- the stores -----------------------------------------------------------------------------


class FileSecretStore:
    """Passwords in a JSON file with mode 0600: the fallback when no keyring answers.
    Small and local: it is read and written on the loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._warned = False

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("cannot read the password file %s: %s", self.path, exc)
            return {}
        if not isinstance(data, dict):
            log.error("the password file %s holds no passwords (not an object)", self.path)
            return {}
        try:
            if self.path.stat().st_mode & 0o077:
                log.warning("%s was readable by others; making it private", self.path)
                os.chmod(self.path, 0o600)
        except OSError as exc:  # a read-only folder: say so, touch nothing
            log.error("%s is readable by others and cannot be made private: %s", self.path, exc)
        return {str(k): str(v) for k, v in data.items()}

    def _save(self, data: dict[str, str], what: str) -> None:
        try:
            write_atomic(self.path, json.dumps(data, indent=2), mode=0o600)
        except OSError as exc:  # a read-only or full folder: used for this run only
            log.error("cannot %s in %s: %s", what, self.path, exc)

    def read(self, account: str) -> str | None:
        return self._load().get(account)

    def write(self, account: str, password: str) -> None:
        if not self._warned:
            log.warning(
                "no system keyring answers: keeping the password of %s in %s (readable only "
                "by you, but not encrypted)",
                account,
                self.path,
            )
            self._warned = True
        data = self._load()
        data[account] = password
        self._save(data, f"keep the password of {account}")

    def forget(self, account: str) -> None:
        data = self._load()
        if data.pop(account, None) is not None:
            self._save(data, f"forget the password of {account}")

    # -- SecretStore ----------------------------------------------------------------------

    async def get_password(self, account: str) -> str | None:
        return self.read(account)

    async def set_password(self, account: str, password: str) -> None:
        self.write(account, password)

    async def delete_password(self, account: str) -> None:
        self.forget(account)


class LazySecretStore:
    """The keyring when it answers, with the private file beside it (see the module
    docstring). Whether there is a keyring is found out on first use, not at start-up:
    importing keyring and asking the Secret Service costs time the first window should not
    wait for."""

    def __init__(self, fallback: Path, *, timeout: float = KEYRING_TIMEOUT) -> None:
        self._file = FileSecretStore(fallback)
        self._thread = KeyringThread()
        self._timeout = timeout
        #: False once the keyring is known to be missing or refusing, for this run.
        self._usable = True

    async def _keyring(self, what: str, call: Callable[[], Any]) -> Any:
        """``call`` on the keyring thread. :class:`NoKeyring` when there is none (and from
        then on, for this run); :class:`KeyringBusy` when it does not answer in time."""
        if self._usable and not _session_bus_reachable():
            log.debug("no session bus: no keyring")
            self._usable = False
        if not self._usable:
            raise NoKeyring("no keyring")
        try:
            return await self._thread.run(what, call, self._timeout)
        except NoKeyring as exc:
            log.info("no usable keyring (%s): passwords go to %s", exc, self._file.path)
            self._usable = False
            raise

    async def get_password(self, account: str) -> str | None:
        value = self._file.read(account)
        if value is not None:
            return value
        try:
            result: str | None = await self._keyring(
                f"reading the password of {account}", lambda: _keyring_get(account)
            )
        except NoKeyring:
            return None
        except KeyringBusy as exc:
            raise PasswordUnavailable(
                f"the keyring did not give the password of {account}: {exc} (is it asking "
                "to be unlocked?)"
            ) from None
        return result

    async def set_password(self, account: str, password: str) -> None:
        try:
            await self._keyring(
                f"saving the password of {account}", lambda: _keyring_set(account, password)
            )
        except NoKeyring:
            pass
        except KeyringBusy as exc:  # said as a warning when it got stuck
            log.info("the keyring did not take the password of %s: %s", account, exc)
        else:
            self._file.forget(account)  # the keyring has it: no older copy in clear
            return
        self._file.write(account, password)

    async def delete_password(self, account: str) -> None:
        self._file.forget(account)
        try:
            await self._keyring(
                f"removing the password of {account}", lambda: _keyring_delete(account)
            )
        except NoKeyring:
            pass
        except KeyringBusy as exc:
            log.warning(
                "the keyring did not remove the password of %s: %s; it may still hold it",
                account,
                exc,
            )
