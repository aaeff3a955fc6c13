"""Reading files below one root: the only filesystem access of procshim's readers.

Tests point ``Files`` at a fixture tree (``Files(Path("tests/fixtures/..."))``)
and every path the readers use (``/proc/self/cgroup``, ``/sys/fs/cgroup/...``)
resolves inside it. Nothing here raises for a missing or unreadable file: the
kernel removes cgroups and processes at any moment, so absence is ordinary.
"""

import os
from pathlib import Path, PurePosixPath
from typing import Protocol

_CHUNK = 1 << 16


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
        self._real_root = str(root) == "/"

    def path(self, path: PurePosixPath | str) -> Path | str:
        if self._real_root:
            return str(path)  # the common case, without pathlib's joins
        return self.root / str(path).lstrip("/")

    def read(self, path: PurePosixPath | str) -> str | None:
        # os.open/os.read rather than Path.read_text: a FUSE open reads several
        # cgroup files, and the text layer costs more than the system calls.
        try:
            fd = os.open(self.path(path), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            parts = []
            while chunk := os.read(fd, _CHUNK):
                parts.append(chunk)
                if len(chunk) < _CHUNK:
                    break  # procfs, sysfs and cgroupfs fill a read to the end
            return b"".join(parts).decode("utf-8", errors="replace")
        except OSError:
            return None
        finally:
            os.close(fd)

    def readlink(self, path: PurePosixPath | str) -> str | None:
        try:
            return os.readlink(self.path(path))
        except OSError:
            return None

    def subdirs(self, path: PurePosixPath | str) -> list[str]:
        try:
            with os.scandir(self.path(path)) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            return []
