"""signalfd(2) for the blocked fault signals (see signals.py for why they are
blocked, not handled). The stdlib has no signalfd, so this goes through
ctypes; only the dumb-init personality pays for the import (~5 ms).
"""

import os
import struct

# struct signalfd_siginfo is 128 bytes; its first fields are
# u32 ssi_signo, s32 ssi_errno, s32 ssi_code, u32 ssi_pid.
_SIGINFO_SIZE = 128
_HEAD = struct.Struct("=IiiI")
_SFD_NONBLOCK = os.O_NONBLOCK
_SFD_CLOEXEC = os.O_CLOEXEC


def open_signalfd(numbers: "frozenset[int]") -> int:
    """A non-blocking, close-on-exec signalfd for ``numbers`` (already blocked)."""
    import ctypes

    mask = 0
    for number in numbers:
        mask |= 1 << (number - 1)
    libc = ctypes.CDLL(None, use_errno=True)
    # glibc's sigset_t is 1024 bits; the kernel reads the first 64.
    sigset = (ctypes.c_ulong * 16)(mask)
    fd = int(libc.signalfd(-1, ctypes.byref(sigset), _SFD_NONBLOCK | _SFD_CLOEXEC))
    if fd < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return fd


def read_signals(fd: int) -> list[tuple[int, int, int]]:
    """Every queued signal as ``(number, si_code, sender pid)``, without blocking."""
    found: list[tuple[int, int, int]] = []
    while True:
        try:
            data = os.read(fd, _SIGINFO_SIZE * 16)
        except BlockingIOError:
            return found
        if not data:
            return found
        for offset in range(0, len(data) - _SIGINFO_SIZE + 1, _SIGINFO_SIZE):
            number, _errno, code, pid = _HEAD.unpack_from(data, offset)
            found.append((number, code, pid))
