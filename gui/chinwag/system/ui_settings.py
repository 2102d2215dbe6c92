"""Small view preferences kept between runs (show offline contacts, sort order, folded
groups), in ``$XDG_CONFIG_HOME/chinwag/ui.json``. A damaged file is never fatal: it is
moved aside as ``ui.json.broken-<time>`` (or, in a folder that cannot be changed, left
alone) and the defaults are used; :attr:`UiSettings.problem` says so."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from chinwag.system.config import Unreadable, read_json, save_json, set_aside

log = logging.getLogger(__name__)


class UiSettings:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self._values: dict[str, Any] = {}
        try:
            data = read_json(path)
        except Unreadable as exc:
            self._set_aside(str(exc))
            return
        if isinstance(data, dict):
            self._values = data
        elif data is not None:
            self._set_aside(f"holds a {type(data).__name__}, not the settings")

    def _set_aside(self, what: str) -> None:
        where = set_aside(self.path)
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
        save_json(self.path, self._values, "view settings")  # (a failure is only logged)
