"""Reading files below one root: the only filesystem access of procshim's readers.

Tests point ``Files`` at a fixture tree (``Files(Path("tests/fixtures/..."))``)
and every path the readers use (``/proc/self/cgroup``, ``/sys/fs/cgroup/...``)
resolves inside it. Nothing here raises for a missing or unreadable file: the
kernel removes cgroups and processes at any moment, so absence is ordinary.
"""

import os
import threading
from collections import OrderedDict
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


class KeptFiles(Files):
    """``Files`` that keeps cgroup files open and rereads them with pread at 0.

    cgroupfs regenerates a file's text on every read from offset 0, so a kept
    descriptor reads as fresh as a new open, for one system call instead of
    three: the server reads three to seven cgroup files per FUSE open. A
    removed cgroup's descriptor fails with ENODEV (and a re-made one at the
    same path is a new file): then the path is opened again, once. At most
    ``limit`` descriptors are kept, the least recently read closed first.
    """

    def __init__(self, root: Path = Path("/"), limit: int = 256, under: str = "/sys/fs/cgroup/"):
        super().__init__(root)
        self._limit = limit
        self._under = under
        self._kept: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()  # only with procshim serve --threads

    def read(self, path: PurePosixPath | str) -> str | None:
        key = str(path)
        if not key.startswith(self._under):
            return super().read(path)
        with self._lock:
            fd = self._kept.get(key)
            if fd is not None:
                self._kept.move_to_end(key)
                text = _pread_all(fd)
                if text is not None:
                    return text
                self._forget(key)
            try:
                fd = os.open(self.path(path), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
            self._kept[key] = fd
            while len(self._kept) > self._limit:
                self._forget(next(iter(self._kept)))
            text = _pread_all(fd)
            if text is None:
                self._forget(key)
            return text

    def close(self) -> None:
        with self._lock:
            while self._kept:
                self._forget(next(iter(self._kept)))

    def _forget(self, key: str) -> None:
        os.close(self._kept.pop(key))


def _pread_all(fd: int) -> str | None:
    try:
        parts = [os.pread(fd, _CHUNK, 0)]
        while len(parts[-1]) == _CHUNK:
            parts.append(os.pread(fd, _CHUNK, _CHUNK * len(parts)))
    except OSError:
        return None
    return b"".join(parts).decode("utf-8", errors="replace")
