"""Where Chinwag keeps its files: the XDG base directories (settings in
``$XDG_CONFIG_HOME/chinwag``, history in ``$XDG_DATA_HOME/chinwag``, logs in
``$XDG_STATE_HOME/chinwag``), so a separate profile is a matter of setting them.

They are private: the directories are made mode 0700 (and tightened when an older
Chinwag or an installer left them open to others), every file in them 0600. The
process umask is left alone on purpose: a browser started from a link in a message is
our child and would inherit it."""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from chinwag import APP_ID

log = logging.getLogger(__name__)

#: Owner-only modes for what Chinwag creates.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def xdg_home(variable: str, default: str) -> Path:
    """An XDG base directory: ``$variable`` when it is an absolute path, else ``default``
    in the home directory (``$HOME`` when absolute, else the account's). What platformdirs
    answers on Linux, without importing it at every start (0.3 MB held)."""
    value = os.environ.get(variable, "")
    if os.path.isabs(value):
        return Path(value)
    home = os.environ.get("HOME", "")
    if not os.path.isabs(home):
        import pwd

        home = pwd.getpwuid(os.getuid()).pw_dir
    return Path(home) / default


@dataclass(frozen=True, slots=True)
class Paths:
    config: Path
    data: Path
    state: Path
    cache: Path

    @classmethod
    def default(cls) -> Paths:
        return cls(
            config=xdg_home("XDG_CONFIG_HOME", ".config") / APP_ID,
            data=xdg_home("XDG_DATA_HOME", ".local/share") / APP_ID,
            state=xdg_home("XDG_STATE_HOME", ".local/state") / APP_ID,
            cache=xdg_home("XDG_CACHE_HOME", ".cache") / APP_ID,
        )

    @classmethod
    def under(cls, root: Path) -> Paths:
        """A self-contained profile in one folder (tests, benchmarks, screenshots)."""
        return cls(
            config=root / "config", data=root / "data", state=root / "state", cache=root / "cache"
        )

    @property
    def dirs(self) -> tuple[Path, ...]:
        return (self.config, self.data, self.state, self.cache)

    def prepare(self) -> list[str]:
        """Create the directories (0700) and make them and what is directly in them
        private to the user. Never raises: returns what could not be done, in words for
        the user and the log (a read-only directory, say); the files in question then
        say for themselves what they do without it."""
        problems: list[str] = []
        for path in self.dirs:
            problem = make_private_dir(path)
            if problem:
                problems.append(problem)
        return problems

    def ensure(self) -> Paths:
        """:meth:`prepare`, logging what could not be done."""
        for problem in self.prepare():
            log.warning("%s", problem)
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

    @property
    def log_file(self) -> Path:
        return self.state / "chinwag.log"

    @property
    def ui_settings_file(self) -> Path:
        return self.config / "ui.json"


def make_private_dir(path: Path) -> str | None:
    """Create ``path`` (0700), or tighten it and the entries directly in it so that only
    the user can read them. Returns a problem in words, or None. Parents that do not
    exist are created too (with the usual modes: they are the user's, not Chinwag's)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        return f"cannot create the folder {path}: {exc.strerror or exc}"
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder"
    loose: list[str] = []
    if stat.S_IMODE(info.st_mode) & 0o077:
        _tighten(path, info.st_mode, loose)
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue  # chmod would change what it points to
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_IMODE(mode) & 0o077:
                    _tighten(Path(entry.path), mode, loose)
    except OSError as exc:
        return f"cannot read the folder {path}: {exc.strerror or exc}"
    if loose:
        return f"other users of this computer may read {', '.join(loose)}: making it private failed"
    return None


def _tighten(path: Path, mode: int, failed: list[str]) -> None:
    """Drop the group's and others' permissions (owner's bits kept: a folder stays
    searchable, a program runnable)."""
    new = stat.S_IMODE(mode) & ~0o077
    try:
        os.chmod(path, new)
    except OSError as exc:
        log.debug("cannot chmod %s: %s", path, exc)
        failed.append(str(path))
    else:
        log.info("%s was open to other users (mode %o); now %o", path, stat.S_IMODE(mode), new)


def aside_name(path: Path) -> Path:
    """Where a damaged ``path`` is moved: ``<name>.broken-<local time>`` next to it, with
    a counter when that is taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.broken-{stamp}")
    counter = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.name}.broken-{stamp}-{counter}")
        counter += 1
    return candidate


def move_aside(path: Path) -> Path:
    """Rename a damaged file (or folder) out of the way; returns its new name. Raises
    OSError when it cannot be moved (a read-only folder), leaving it as it was."""
    target = aside_name(path)
    path.rename(target)
    return target
