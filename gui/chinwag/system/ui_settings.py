"""Small view preferences kept between runs (show offline contacts, sort order, folded
groups), in ``$XDG_CONFIG_HOME/chinwag/ui.json``. A damaged file is ignored, never fatal."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from chinwag.system.config import write_atomic

log = logging.getLogger(__name__)


class UiSettings:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self._values: dict[str, Any] = data if isinstance(data, dict) else {}
        except FileNotFoundError:
            self._values = {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable view settings %s: %s", path, exc)
            self._values = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        if self._values.get(key) == value:
            return
        self._values[key] = value
        try:
            write_atomic(self.path, json.dumps(self._values, indent=2, sort_keys=True) + "\n")
        except OSError as exc:  # a read-only config dir must not break the window
            log.warning("cannot save view settings to %s: %s", self.path, exc)
