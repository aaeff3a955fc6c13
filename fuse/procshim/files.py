"""Reading files below one root: the only filesystem access of procshim's readers.

Tests point ``Files`` at a fixture tree (``Files(Path("tests/fixtures/..."))``)
and every path the readers use (``/proc/self/cgroup``, ``/sys/fs/cgroup/...``)
resolves inside it. Nothing here raises for a missing or unreadable file: the
kernel removes cgroups and processes at any moment, so absence is ordinary.
"""

import os
from pathlib import Path, PurePosixPath
from typing import Protocol


class FileSource(Protocol):
    def read(self, path: PurePosixPath | str) -> str | None:
        """The file's text, or None if it cannot be read."""
        ...

    def subdirs(self, path: PurePosixPath | str) -> list[str]:
        """Names of the directories inside ``path`` (empty if unreadable)."""
        ...


class Files:
    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root

    def path(self, path: PurePosixPath | str) -> Path:
        return self.root / str(path).lstrip("/")

    def read(self, path: PurePosixPath | str) -> str | None:
        try:
            return self.path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def subdirs(self, path: PurePosixPath | str) -> list[str]:
        try:
            with os.scandir(self.path(path)) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            return []
