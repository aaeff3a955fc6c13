"""Signal handlers that only wake the loop.

Each delivery makes the C-level handler write the signal number to a
non-blocking pipe (``set_wakeup_fd``); the loop reads the numbers back in
order, so realtime signals queued twice are forwarded twice. The Python-level
handler does nothing: Python requires one, and all work happens in the loop.
"""

import os

from guestinit._sig import sig

# Synchronous faults are about ourselves, never forwarded; SIGKILL and SIGSTOP
# cannot be caught. SIGTTIN/SIGTTOU stay ignored so tcsetpgrp works from any
# process group (tini does the same).
_NEVER_FORWARDED = frozenset(
    int(s)
    for s in (
        sig.SIGKILL,
        sig.SIGSTOP,
        sig.SIGSEGV,
        sig.SIGBUS,
        sig.SIGILL,
        sig.SIGFPE,
        sig.SIGTRAP,
        sig.SIGSYS,
        sig.SIGABRT,
        sig.SIGTTIN,
        sig.SIGTTOU,
    )
)
# glibc reserves 32 and 33 for its threads implementation.
_RESERVED = frozenset({32, 33})


def forwardable() -> list[int]:
    """Every signal we catch and forward (SIGCHLD is caught but only wakes the reaper)."""
    return [
        n
        for n in range(1, int(sig.NSIG))
        if n not in _NEVER_FORWARDED and n not in _RESERVED and n != int(sig.SIGCHLD)
    ]


def _wake_only(number: int, frame: object) -> None:
    """Handler body is empty on purpose: the wakeup fd carries the signal."""


class SignalSource:
    """Catches every forwardable signal plus SIGCHLD; ``fileno()`` becomes
    readable when any arrived, ``read()`` returns them in arrival order."""

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.caught = [*forwardable(), int(sig.SIGCHLD)]
        # Python itself ignores SIGPIPE and SIGXFSZ at start-up, so for those two
        # we cannot tell what our parent wanted: the child gets the defaults.
        self.inherited_ignored = [
            n
            for n in self.caught
            if sig.getsignal(n) == sig.SIG_IGN and n not in (sig.SIGPIPE, sig.SIGXFSZ)
        ]
        self.original_mask = sig.pthread_sigmask(sig.SIG_BLOCK, [])
        sig.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for number in self.caught:
            sig.signal(number, _wake_only)
        for number in (sig.SIGTTIN, sig.SIGTTOU):
            sig.signal(number, sig.SIG_IGN)

    def fileno(self) -> int:
        return self._read_fd

    def read(self) -> list[int]:
        numbers: list[int] = []
        while True:
            try:
                chunk = os.read(self._read_fd, 4096)
            except BlockingIOError:
                return numbers
            if not chunk:
                return numbers
            numbers.extend(chunk)

    def restore_in_child(self) -> None:
        """In a forked child before exec: default dispositions (keeping what our
        own parent had us ignore, like nohup), and the mask we started with."""
        sig.set_wakeup_fd(-1)
        for number in [*self.caught, sig.SIGPIPE, sig.SIGXFSZ, sig.SIGTTIN, sig.SIGTTOU]:
            ignored = number in self.inherited_ignored
            sig.signal(number, sig.SIG_IGN if ignored else sig.SIG_DFL)
        sig.pthread_sigmask(sig.SIG_SETMASK, self.original_mask)
