"""mount(2) and umount2(2) through ctypes: the standard library has neither.

procshim is its own process, so ctypes here never runs inside PID 1.
"""

import ctypes
import os

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MNT_DETACH = 2

# The interpreter's own symbols include libc's: no find_library, which runs
# ldconfig in a subprocess (milliseconds on guestinit's start path).
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(result: int, what: str, path: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}", path)


def bind(source: str, target: str, read_only: bool = True) -> None:
    """``mount --bind source target``, then read-only (a bind takes no flags at first)."""
    _check(_libc.mount(source.encode(), target.encode(), None, MS_BIND, None), "bind", target)
    if read_only:
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        _check(_libc.mount(None, target.encode(), None, flags, None), "remount ro", target)


def mount_tmpfs(target: str, options: str) -> None:
    """``mount -t tmpfs -o nosuid,nodev,noexec,OPTIONS tmpfs target``."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    result = _libc.mount(b"tmpfs", target.encode(), b"tmpfs", flags, options.encode())
    _check(result, "mount tmpfs", target)


def detach(target: str) -> None:
    """``umount -l target``: gone from the tree now, freed when no longer used."""
    _check(_libc.umount2(target.encode(), MNT_DETACH), "umount", target)
