"""Reading a PIDFile= inside PID 1 without ever blocking (side effects: opens
files).

The file is a unit's, so possibly an attacker's: a FIFO would block open()
forever, a device could block or act on open, a symlink could point anywhere,
a huge file would cost memory. So the path is walked one component at a time
with O_PATH|O_NOFOLLOW (opening nothing for real and following symlinks by
hand), the last component must be a regular file, it is opened for reading
only then (O_NONBLOCK|O_NOCTTY, through /proc/self/fd so it is the very inode
we checked), and at most MAX_BYTES are read.

The walk also says whether the file can be trusted (see service.main_pid):
owned by root, every folder on the way changeable by root only (or sticky,
like /tmp), and no symlink followed out of a folder someone else may change.
"""

import errno
import os
import stat
from dataclasses import dataclass

MAX_BYTES = 4096
_MAX_LINKS = 40  # the kernel's own limit (ELOOP)
_PID_MAX = 2**22  # PID_MAX_LIMIT on 64-bit
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class PidFile:
    pid: int | None
    trusted: bool  # root's file, reached through root's folders only
    owner: int | None = None  # the file's uid
    error: str | None = None  # why there is no pid
    missing: bool = False  # the error is only that the file is not there

    @property
    def distrust(self) -> str:
        """Why the file is not trusted ("" if it is)."""
        if self.trusted:
            return ""
        if self.owner:
            return f"the PID file belongs to uid {self.owner}"
        return "the PID file is in a folder others can change, or reached by their symlink"


class _Refused(Exception):
    pass


def read_pid_file(path: str) -> PidFile:
    """The pid in ``path`` and whether the file is trustworthy; never blocks
    and never raises for a bad file (the error says what was wrong)."""
    try:
        fd, safe = _walk(path)
    except _Refused as refused:
        return PidFile(None, False, error=str(refused))
    except OSError as error:
        missing = error.errno == errno.ENOENT
        return PidFile(None, False, error=error.strerror or str(error), missing=missing)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return PidFile(None, False, info.st_uid, "not a regular file")
        trusted = safe and info.st_uid == 0
        try:
            text = _read_head(fd)
        except OSError as error:
            return PidFile(None, trusted, info.st_uid, error.strerror or str(error))
    finally:
        os.close(fd)
    pid = parse_pid(text)
    if pid is None:
        return PidFile(None, trusted, info.st_uid, "no pid in it")
    return PidFile(pid, trusted, info.st_uid)


def parse_pid(text: bytes) -> int | None:
    """The first line as a pid (surrounding blanks allowed), else None."""
    first = text.split(b"\n", 1)[0].strip()
    if not first.isdigit():
        return None
    pid = int(first)
    return pid if 0 < pid <= _PID_MAX else None


def root_only(info: os.stat_result) -> bool:
    """A folder only root can change entries of (sticky ones like /tmp:
    others may add their own files, never replace root's)."""
    writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return info.st_uid == 0 and (not writable or bool(info.st_mode & stat.S_ISVTX))


def _walk(path: str) -> tuple[int, bool]:
    """An O_PATH fd of the file ``path`` names and whether the way there was
    safe. Raises OSError (ENOENT, ELOOP, ...) or _Refused."""
    if not path.startswith("/"):
        raise _Refused("not an absolute path")
    pending = [part for part in reversed(path.split("/")) if part and part != "."]
    folder = os.open("/", _PATH | os.O_DIRECTORY)
    safe = True
    links = 0
    try:
        while pending:
            name = pending.pop()
            folder_info = os.fstat(folder)
            safe = safe and root_only(folder_info)
            entry = os.open(name, _PATH, dir_fd=folder)
            info = os.fstat(entry)
            if stat.S_ISLNK(info.st_mode):
                links += 1
                target = os.readlink("", dir_fd=entry)
                os.close(entry)
                if links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
                # CHASE_SAFE's idea: a link in a folder others can change may
                # have been planted; follow it, but trust nothing it reaches.
                safe = safe and root_only(folder_info) and info.st_uid == 0
                pending.extend(part for part in reversed(target.split("/")) if part and part != ".")
                if target.startswith("/"):
                    os.close(folder)
                    folder = os.open("/", _PATH | os.O_DIRECTORY)
                continue
            if not pending:
                return entry, safe
            if not stat.S_ISDIR(info.st_mode):
                os.close(entry)
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            os.close(folder)
            folder = entry
        # The path named a folder ("/", or a trailing "..").
        raise _Refused("not a regular file")
    finally:
        os.close(folder)


def read_regular_file(path: str, limit: int) -> bytes:
    """All of ``path`` (symlinks followed) if it is a regular file of at most
    ``limit`` bytes; for other files PID 1 reads on a unit's behalf
    (EnvironmentFile=). Raises OSError: EINVAL for a FIFO, device, socket or
    folder, EFBIG for a bigger file. Never blocks on open."""
    path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(path_fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        data = _read_head(path_fd, limit + 1)
    finally:
        os.close(path_fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    return data


def _read_head(path_fd: int, limit: int = MAX_BYTES) -> bytes:
    """Up to ``limit`` bytes of the regular file behind the O_PATH ``path_fd``
    (reopened through /proc/self/fd: the very inode that was checked)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(f"/proc/self/fd/{path_fd}", flags)
    chunks: list[bytes] = []
    try:
        while limit > 0 and (chunk := os.read(fd, min(limit, 65536))):
            chunks.append(chunk)
            limit -= len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)
