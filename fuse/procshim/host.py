"""The host's real /proc and /sys files, opened before our binds hide them.

A descriptor opened before ``mount --bind`` keeps reaching the real file, and
procfs and sysfs regenerate a file's text whenever it is read from offset 0,
so one descriptor per file serves every later open: no private /proc mount,
no path that our own bind would turn back into us (a FUSE server reading its
own file through FUSE deadlocks).
"""

import os
import threading
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 16


class HostFiles:
    def __init__(self, paths: Iterable[str], root: Path = Path("/")) -> None:
        self._fds: dict[str, int] = {}
        self._owned = True
        # A text longer than one read (cpuinfo of a big host) takes several
        # preads; a concurrent pread at 0 would start a new generation midway.
        self._locks: dict[str, threading.Lock] = {}
        for path in paths:
            try:
                fd = os.open(root / path.lstrip("/"), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue  # absent here (no PSI, no /sys/devices/system/cpu/present)
            self._fds[path] = fd
            self._locks[path] = threading.Lock()

    @classmethod
    def from_fds(cls, fds: dict[str, int]) -> "HostFiles":
        """Over descriptors opened earlier (by guestinit, before any bind);
        they stay the caller's: ``close`` leaves them open."""
        host = cls(())
        host._fds = dict(fds)
        host._locks = {path: threading.Lock() for path in fds}
        host._owned = False
        return host

    def paths(self) -> list[str]:
        """The paths that exist on this host: the only ones we serve."""
        return list(self._fds)

    def read(self, path: str) -> str | None:
        fd = self._fds.get(path)
        if fd is None:
            return None
        parts: list[bytes] = []
        offset = 0
        with self._locks[path]:
            while True:
                try:
                    chunk = os.pread(fd, _CHUNK, offset)
                except OSError:
                    return None
                parts.append(chunk)
                offset += len(chunk)
                if len(chunk) < _CHUNK:
                    break  # procfs and sysfs fill a read up to the end of the text
        return b"".join(parts).decode("utf-8", errors="surrogateescape")

    def close(self) -> None:
        if self._owned:
            for fd in self._fds.values():
                os.close(fd)
        self._fds.clear()
