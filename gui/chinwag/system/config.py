"""Account settings saved as JSON under the XDG config dir (never a password). Writes are
atomic (temp file + rename), so a crash never leaves half a file."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from chinwag.core.models import AccountConfig, TlsMode

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


class JsonConfigStore:
    """:class:`chinwag.core.ports.ConfigStore` on a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load_accounts(self) -> list[AccountConfig]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            # Keep the damaged file for the user and start empty rather than crash.
            log.error("cannot read %s (%s); it is kept as %s.broken", self.path, exc, self.path)
            self.path.replace(self.path.with_suffix(".json.broken"))
            return []
        known = {f.name for f in fields(AccountConfig)}
        accounts = []
        for item in data.get("accounts", []):
            values: dict[str, Any] = {k: v for k, v in item.items() if k in known}
            if "tls" in values:
                values["tls"] = TlsMode(values["tls"])
            try:
                accounts.append(AccountConfig(**values))
            except (TypeError, ValueError) as exc:
                log.error("skipping a malformed account entry in %s: %s", self.path, exc)
        return accounts

    def save_accounts(self, accounts: Sequence[AccountConfig]) -> None:
        data = {"version": FORMAT_VERSION, "accounts": [asdict(a) for a in accounts]}
        write_atomic(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
