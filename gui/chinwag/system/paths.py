"""Where Chinwag keeps its files: the XDG base directories (settings in
``$XDG_CONFIG_HOME/chinwag``, history in ``$XDG_DATA_HOME/chinwag``, logs in
``$XDG_STATE_HOME/chinwag``), so a separate profile is a matter of setting them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from chinwag import APP_ID


@dataclass(frozen=True, slots=True)
class Paths:
    config: Path
    data: Path
    state: Path
    cache: Path

    @classmethod
    def default(cls) -> Paths:
        return cls(
            config=Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
            data=Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
            state=Path(platformdirs.user_state_dir(APP_ID, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_ID, appauthor=False)),
        )

    @classmethod
    def under(cls, root: Path) -> Paths:
        """A self-contained profile in one folder (tests, benchmarks, screenshots)."""
        return cls(
            config=root / "config", data=root / "data", state=root / "state", cache=root / "cache"
        )

    def ensure(self) -> Paths:
        for path in (self.config, self.data, self.state, self.cache):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    @property
    def database(self) -> Path:
        return self.data / "history.sqlite3"

    @property
    def accounts_file(self) -> Path:
        return self.config / "accounts.json"

    @property
    def secrets_file(self) -> Path:
        return self.data / "passwords.json"
