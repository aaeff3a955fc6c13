"""The floor of a Python FUSE server: the same binding and mount options as
procshim, serving fixed bytes (a copy of /proc/meminfo taken at start) with
no work per open. What procshim costs beyond this is its own.

    static_fuse.py MOUNTPOINT     (foreground; SIGTERM or SIGINT unmounts)
"""

import errno
import itertools
import stat
import sys
import time
from pathlib import Path
from typing import Any

import mfusepy
from procshim.serve import FUSE_OPTIONS

FILES = ("/proc/meminfo", "/proc/cpuinfo", "/proc/stat")
DIRS = {"/": ["proc"], "/proc": ["cpuinfo", "meminfo", "stat"]}


class Static:
    use_ns = True

    def __init__(self) -> None:
        self.data = {path: Path(path).read_bytes() for path in FILES}
        self.handles: dict[int, bytes] = {}
        self.numbers = itertools.count(1)
        self.now = time.time_ns()

    def getattr(self, path: str, fh: Any = None) -> dict[str, int]:
        times = {"st_atime": self.now, "st_mtime": self.now, "st_ctime": self.now}
        if path in DIRS:
            return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2, **times}
        if path in self.data:
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": 0, **times}
        raise mfusepy.FuseOSError(errno.ENOENT)

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", *DIRS[path]]

    def open(self, path: str, fi: Any) -> int:
        number = next(self.numbers)
        self.handles[number] = self.data[path]  # the same work shape as a snapshot
        fi.fh = number
        fi.direct_io = 1
        return 0

    def read(self, path: str | None, size: int, offset: int, fi: Any) -> bytes:
        return self.handles[fi.fh][offset : offset + size]

    def release(self, path: str | None, fi: Any) -> int:
        self.handles.pop(fi.fh, None)
        return 0


if __name__ == "__main__":
    options = {"foreground": True, "nothreads": True, "raw_fi": True, **FUSE_OPTIONS}
    mfusepy.FUSE(Static(), sys.argv[1], **options)
