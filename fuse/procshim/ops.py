"""The FUSE operations: a read-only tree of the virtual files, one snapshot per handle.

The only place that maps failures to errno. Every open builds the file's bytes
for the calling process (``Snapshots``) and keeps them for that handle, so a
reader that reads in small chunks sees one consistent text; a read at offset 0
after the first one (``lseek(fd, 0)`` and read again, as procps' ``free -s``
and ``top`` do with a descriptor they keep) builds it afresh, as procfs does.
Opens are marked direct_io, so read() never meets the kernel's cache and
needs no ``st_size``. sendfile() and splice() do (busybox's cat copies with
sendfile): they go through the page cache and stop at ``st_size``, so a 0 as
procfs says would give them nothing. ``getattr`` therefore says an upper bound
(see ``_size_bound``); the first short read shrinks the kernel's idea of the
size to what the read returned, so they get the text exactly. Under /sys the
bound is 4096, as sysfs says for every file.
"""

import errno
import itertools
import os
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

from procshim.snapshot import Snapshots

# What a view may hold beyond the host's text, in bytes (see _size_bound).
_SIZE_ROOM = 512


class FuseError(OSError):
    """Raised from an operation: the binding returns -errno to the kernel."""

    def __init__(self, number: int) -> None:
        super().__init__(number, os.strerror(number))


class _Handle:
    __slots__ = ("data", "path", "reads")

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data
        self.reads = 0


def tree_of(paths: list[str]) -> dict[str, list[str]]:
    """Directory -> sorted entry names, for the directories above ``paths``."""
    tree: dict[str, set[str]] = {"/": set()}
    for path in paths:
        parts = path.strip("/").split("/")
        for depth in range(len(parts)):
            parent = "/" + "/".join(parts[:depth])
            tree.setdefault(parent, set()).add(parts[depth])
    return {directory: sorted(names) for directory, names in tree.items()}


class ShimOperations:
    """Shaped as mfusepy's (and fusepy's) Operations with ``raw_fi=True``."""

    use_ns = True  # times in nanoseconds (mfusepy warns otherwise)

    def __init__(
        self,
        snapshots: Snapshots,
        caller: Callable[[], int],
        on_init: Callable[[], None] | None = None,
    ) -> None:
        self._snapshots = snapshots
        self._caller = caller  # the pid of the process making the current request
        self._on_init = on_init
        self._files = set(snapshots.paths())
        self._dirs = tree_of(sorted(self._files))
        self._handles: dict[int, _Handle] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._mounted_ns = time.time_ns()

    # -- lifecycle ---------------------------------------------------------------

    def init(self, path: str) -> None:
        if self._on_init is not None:
            self._on_init()

    def destroy(self, path: str) -> None:
        return None

    # -- the tree ----------------------------------------------------------------

    def getattr(self, path: str, fh: Any = None) -> dict[str, int]:
        times = {"st_atime": self._mounted_ns, "st_mtime": self._mounted_ns}
        times["st_ctime"] = self._mounted_ns
        if path in self._dirs:
            return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2, "st_size": 0, **times}
        if path in self._files:
            size = 4096 if path.startswith("/sys/") else self._size_bound(path)
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": size, **times}
        raise FuseError(errno.ENOENT)

    def _size_bound(self, path: str) -> int:
        """More than the caller's view will hold: the host's text (one pread
        of a descriptor we keep) and some room. A view has the host's lines
        or fewer (fewer CPUs, disks), numbers of the same width or narrower;
        _SIZE_ROOM covers the rare wider one."""
        text = self._snapshots.host.read(path)
        return len(text.encode()) + _SIZE_ROOM if text is not None else _SIZE_ROOM

    def readdir(self, path: str, fh: Any) -> list[str]:
        names = self._dirs.get(path)
        if names is None:
            raise FuseError(errno.ENOTDIR if path in self._files else errno.ENOENT)
        return [".", "..", *names]

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 4096, "f_namemax": 255}

    # -- files -------------------------------------------------------------------

    def open(self, path: str, fi: Any) -> int:
        if path not in self._files:
            raise FuseError(errno.EISDIR if path in self._dirs else errno.ENOENT)
        if fi.flags & os.O_ACCMODE != os.O_RDONLY:
            raise FuseError(errno.EACCES)
        data = self._build(path)
        number = next(self._numbers)
        with self._lock:
            self._handles[number] = _Handle(path, data)
        fi.fh = number
        fi.direct_io = 1
        return 0

    def read(self, path: str | None, size: int, offset: int, fi: Any) -> bytes:
        handle = self._handles.get(fi.fh)
        if handle is None:
            raise FuseError(errno.EBADF)
        if offset == 0 and handle.reads:
            handle.data = self._build(handle.path)  # read again from the start: fresh
        handle.reads += 1
        return handle.data[offset : offset + size]

    def release(self, path: str | None, fi: Any) -> int:
        with self._lock:
            self._handles.pop(fi.fh, None)
        return 0

    def write(self, path: str | None, data: bytes, offset: int, fi: Any) -> int:
        raise FuseError(errno.EACCES)

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        raise FuseError(errno.EACCES)

    def _build(self, path: str) -> bytes:
        """This caller's view; the host's text if that fails; EIO if even that does."""
        try:
            data = self._snapshots.bytes_for(path, self._caller())
        except Exception:  # a bug or a vanished cgroup: the real file beats an error
            data = None
            host = self._snapshots.host.read(path)
            if host is not None:
                data = host.encode("utf-8", errors="surrogateescape")
        if data is None:
            raise FuseError(errno.EIO)
        return data

    def open_handles(self) -> int:
        return len(self._handles)
