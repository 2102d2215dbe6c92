"""Account settings saved as JSON under the XDG config dir (never a password). Writes are
atomic (temp file + rename), so a crash never leaves half a file."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

from chinwag.core.errors import InvalidAddress
from chinwag.core.jid import Jid
from chinwag.core.models import AccountConfig, AccountKind, TlsMode
from chinwag.system.paths import move_aside

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Unreadable(Exception):
    """A settings file that exists but cannot be read or is not JSON; str() says why."""


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; None when there is no such file. Raises
    :class:`Unreadable` with the reason in words when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise Unreadable(f"cannot be read ({reason})") from exc


def set_aside(path: Path) -> str:
    """Move a damaged settings file aside (``name.broken-<time>``) or, in a folder that
    cannot be changed, leave it: the clause saying which, for the user."""
    try:
        aside = move_aside(path)
    except OSError as exc:
        return f"it cannot be moved aside ({exc.strerror or exc}) and is left as it is"
    return f"it was moved to {aside}"


def save_json(path: Path, values: Mapping[str, Any], what: str) -> None:
    """Write ``values`` to ``path`` atomically; a failure is logged (the values still
    apply for this run): ``what`` names them in the log."""
    try:
        write_atomic(path, json.dumps(values, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        log.warning("cannot save %s to %s: %s", what, path, exc.strerror or exc)


class JsonConfigStore:
    """:class:`chinwag.core.ports.ConfigStore` on a JSON file.

    A damaged file never stops Chinwag: what can be read is kept, a bad value of an
    account falls back to its default, and the file as it was is moved aside as
    ``accounts.json.broken-<time>`` (the readable part is written back). When it cannot be
    moved (a read-only folder) it is left untouched. :attr:`problems` says what happened,
    in words for the user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def load_accounts(self) -> list[AccountConfig]:
        self.problems = []
        try:
            data = read_json(self.path)
        except Unreadable as exc:
            self._set_aside(str(exc), [])
            return []
        if data is None:
            return []
        if not isinstance(data, dict):
            self._set_aside(f"holds {_kind(data)}, not the settings", [])
            return []
        items = data.get("accounts", [])
        if not isinstance(items, list):
            self._set_aside(f"has no list of accounts (found {_kind(items)})", [])
            return []
        accounts: list[AccountConfig] = []
        faults: list[str] = []
        for index, item in enumerate(items):
            account = _account(item, index, faults)
            if account is None:
                continue
            if any(a.jid == account.jid for a in accounts):
                faults.append(f"account {account.jid} appears twice: the second is dropped")
                continue
            accounts.append(account)
        if faults:
            self._set_aside("has bad entries: " + "; ".join(faults), accounts)
        return accounts

    def _set_aside(self, what: str, readable: list[AccountConfig]) -> None:
        """Move the damaged file aside and write back what could be read; or, in a
        folder that cannot be changed, leave it as it is. Either way, say so."""
        count = len(readable)
        kept = (
            f"the {count} account{'s' if count > 1 else ''} read from it "
            f"{'are' if count > 1 else 'is'} used"
            if readable
            else "no account could be read from it"
        )
        try:
            aside = move_aside(self.path)
        except OSError as exc:
            problem = (
                f"The account settings {self.path} {what}. It cannot be moved aside "
                f"({exc.strerror or exc}), so it is left as it is; {kept}."
            )
        else:
            problem = f"The account settings {self.path} {what}. It was moved to {aside}; {kept}"
            problem += " (and saved again)." if readable else "."
            if readable:
                try:
                    self.save_accounts(readable)
                except OSError as exc:
                    problem = problem.replace(" (and saved again).", ".")
                    problem += f" Saving them again failed ({exc.strerror or exc})."
        log.error("%s", problem)
        self.problems.append(problem)

    def save_accounts(self, accounts: Sequence[AccountConfig]) -> None:
        data = {"version": FORMAT_VERSION, "accounts": [asdict(a) for a in accounts]}
        write_atomic(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")


#: What each setting of an account may hold, beyond its type.
_RANGES = {"port": range(0, 65536), "priority": range(-128, 128)}


def _account(item: Any, index: int, faults: list[str]) -> AccountConfig | None:
    """One account entry; a bad value falls back to its default (said in ``faults``),
    an entry without a usable address is dropped."""
    if not isinstance(item, dict):
        faults.append(f"entry {index + 1} is {_kind(item)}, not an account: dropped")
        return None
    try:
        address = item.get("jid")
        if not isinstance(address, str):
            raise InvalidAddress(f"the address is {_kind(address)}")
        jid = Jid.parse(address)
        if not jid.local:
            raise InvalidAddress(f"{jid.bare!r} has no name before '@'")
    except InvalidAddress as exc:
        faults.append(f"entry {index + 1} has no usable address ({exc}): dropped")
        return None
    values: dict[str, Any] = {"jid": jid.bare}
    for f in fields(AccountConfig):
        if f.name == "jid" or f.name not in item:
            continue
        value = _checked(f.name, item[f.name], f.default)
        if value is MISSING:
            faults.append(
                f"account {jid.bare}: {f.name} {item[f.name]!r} is not valid, using the default"
            )
        else:
            values[f.name] = value
    return AccountConfig(**values)


def _checked(name: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default``, or MISSING when it is not one."""
    if isinstance(default, (TlsMode, AccountKind)):
        try:
            return type(default)(value)
        except ValueError:
            return MISSING
    if isinstance(default, bool):
        return value if isinstance(value, bool) else MISSING
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            return MISSING
        allowed = _RANGES.get(name)
        return value if allowed is None or value in allowed else MISSING
    if isinstance(default, str):
        return value if isinstance(value, str) else MISSING
    return value


def _kind(value: Any) -> str:
    """What a JSON value is, in words."""
    if isinstance(value, bool) or value is None:
        return f"the value {json.dumps(value)}"
    if isinstance(value, int | float):
        return "a number"
    kinds: dict[type, str] = {dict: "an object", list: "a list", str: "a text"}
    return kinds.get(type(value), "something else")


class JsonStatusStore:
    """:class:`chinwag.core.status.StatusStore` on a JSON file beside the account
    settings (``status.json``; Pidgin keeps its ``status.xml`` the same way)::

        {"version": 1, "accounts": {"alice@example.org": {"status": "away",
                                                          "message": "at lunch"}}}

    A damaged file is moved aside (or, in a folder that cannot be changed, left alone)
    and no status is restored; :attr:`problem` says so. A write that fails is logged:
    the status is kept for this run only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None

    def load_statuses(self) -> dict[str, tuple[str, str]]:
        self.problem = None
        try:
            data = read_json(self.path)
        except Unreadable as exc:
            self._set_aside(str(exc))
            return {}
        if data is None:
            return {}
        accounts = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(accounts, dict):
            self._set_aside(f"holds {_kind(data)}, not the saved statuses")
            return {}
        statuses: dict[str, tuple[str, str]] = {}
        for account, entry in accounts.items():
            if not isinstance(entry, dict):
                continue
            status, message = entry.get("status"), entry.get("message", "")
            if isinstance(status, str) and isinstance(message, str):
                statuses[str(account)] = (status, message)
        return statuses

    def save_statuses(self, statuses: Mapping[str, tuple[str, str]]) -> None:
        data = {
            "version": FORMAT_VERSION,
            "accounts": {
                account: {"status": status, "message": message}
                for account, (status, message) in statuses.items()
            },
        }
        save_json(self.path, data, "the own status")

    def _set_aside(self, what: str) -> None:
        where = set_aside(self.path)
        self.problem = (
            f"The saved own statuses {self.path} {what}: {where}; the accounts sign in as Online."
        )
        log.warning("%s", self.problem)
