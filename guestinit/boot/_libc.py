"""The few system calls Python's os module lacks: mount, umount2, reboot.

ctypes is loaded only in VM mode (it costs a few ms); errors come back as
OSError with the call's errno, like os functions.
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

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    result = _libc.mount(
        source.encode(), target.encode(), fstype.encode(), ctypes.c_ulong(flags),
        data.encode() if data else None,
    )  # fmt: skip
    _check(result, f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def reboot(command: int) -> None:
    """reboot(2); returns only on failure (or for the CAD on/off commands)."""
    _check(_libc.reboot(ctypes.c_int(command)), "reboot")
