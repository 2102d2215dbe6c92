"""The avatar cache on disk: one file per picture, named by its SHA-1 (so a picture many
contacts share is kept once and never fetched twice), and ``index.json`` saying whose
avatar is which hash, so contacts who are offline at start-up keep their picture.

Every method but :meth:`AvatarFileCache.path` touches the disk: the core calls them off
the loop. Files are the user's own (0600 in a 0700 folder), written whole to a temporary
name and renamed, so a crash never leaves half a picture under a hash."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

_SHA1 = re.compile(r"^[0-9a-f]{40}$")
#: Names of the rendered pictures kept beside the avatars (letter avatars as PNG files
#: for the desktop's notifications, which read a file): a hash and ``.png``.
_RENDERED = re.compile(r"^[0-9a-f]{40}\.png$")
#: The largest index read (a roster of thousands is well under it).
MAX_INDEX_BYTES = 8_000_000


class AvatarFileCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, sha1: str) -> Path | None:
        sha1 = sha1.lower()
        return self.root / sha1 if _SHA1.match(sha1) else None

    def path(self, sha1: str) -> Path | None:
        path = self._file(sha1)
        return path if path is not None and path.is_file() else None

    def _write(self, path: Path, data: bytes, *, sync: bool = False) -> None:
        """``data`` as ``path``, whole or not at all: written to a temporary name (removed
        when the write fails) and renamed; ``sync``: on the disk before the rename (the
        index, which nothing fetches again; a picture is fetched again if lost)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # (a name of its own: two fetches of one picture may write it at once)
        temp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                if sync:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def write(self, sha1: str, data: bytes) -> Path:
        path = self._file(sha1)
        if path is None:
            raise ValueError(f"not a SHA-1: {sha1!r}")
        self._write(path, data)
        return path

    def _rendered(self, name: str) -> Path | None:
        return self.root / "rendered" / name if _RENDERED.match(name) else None

    def rendered_path(self, name: str) -> Path | None:
        """A picture rendered here before (:meth:`write_rendered`); None when not."""
        path = self._rendered(name)
        return path if path is not None and path.is_file() else None

    def write_rendered(self, name: str, data: bytes) -> Path:
        """Keep a picture the app drew (a letter avatar as PNG) under ``name``."""
        path = self._rendered(name)
        if path is None:
            raise ValueError(f"not a rendered picture's name: {name!r}")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        self._write(path, data)
        return path

    def read_index(self) -> dict[str, dict[str, str]]:
        path = self.root / "index.json"
        try:
            if path.stat().st_size > MAX_INDEX_BYTES:
                raise ValueError("the avatar index is too big")
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(raw, dict):
            raise ValueError("the avatar index is not an object")
        return {
            account: {jid: h for jid, h in people.items() if isinstance(h, str) and _SHA1.match(h)}
            for account, people in raw.items()
            if isinstance(people, dict)
        }

    def write_index(self, index: dict[str, dict[str, str]]) -> None:
        """Replace the index (the core calls it on a thread, one write at a time)."""
        data = json.dumps(index, sort_keys=True).encode()
        self._write(self.root / "index.json", data, sync=True)
