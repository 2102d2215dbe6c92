"""Small view preferences kept between runs (show offline contacts, sort order, folded
groups), in ``$XDG_CONFIG_HOME/chinwag/ui.json``. A damaged file is never fatal: it is
moved aside as ``ui.json.broken-<time>`` (or, in a folder that cannot be changed, left
alone) and the defaults are used; :attr:`UiSettings.problem` says so."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from chinwag.system.config import write_atomic
from chinwag.system.paths import move_aside

log = logging.getLogger(__name__)


class UiSettings:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self._values: dict[str, Any] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._set_aside(f"cannot be read ({reason})")
            return
        if isinstance(data, dict):
            self._values = data
        else:
            self._set_aside(f"holds a {type(data).__name__}, not the settings")

    def _set_aside(self, what: str) -> None:
        try:
            aside = move_aside(self.path)
        except OSError as exc:
            where = f"it cannot be moved aside ({exc.strerror or exc}) and is left as it is"
        else:
            where = f"it was moved to {aside}"
        self.problem = f"The view settings {self.path} {what}: {where}; the defaults are used."
        log.warning("%s", self.problem)

    def get(self, key: str, default: Any = None) -> Any:
        """The saved value, or ``default`` when there is none or it is not of the
        default's type (a hand-edited file must not break the window)."""
        value = self._values.get(key, default)
        if default is None or value is default:
            return value
        if isinstance(default, bool) or isinstance(value, bool):
            return value if type(value) is type(default) else default
        return value if isinstance(value, type(default)) else default

    def set(self, key: str, value: Any) -> None:
        if self._values.get(key) == value:
            return
        self._values[key] = value
        try:
            write_atomic(self.path, json.dumps(self._values, indent=2, sort_keys=True) + "\n")
        except OSError as exc:  # a read-only config dir must not break the window
            log.warning("cannot save view settings to %s: %s", self.path, exc)
