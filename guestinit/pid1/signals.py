"""Signal handlers that only wake the loop, and the signal state the main
process is started with.

Each delivery makes the C-level handler write the signal number to a
non-blocking pipe (``set_wakeup_fd``); the loop reads the numbers back in
order, so realtime signals queued twice are forwarded twice. The Python-level
handler does nothing: Python requires one, and all work happens in the loop.

Which signals are caught depends on the personality (``SignalSet``):

- NATIVE and TINI catch every signal but the synchronous faults (ILL TRAP ABRT
  BUS FPE SEGV SYS) and TTIN/TTOU, exactly tini's set: a fault is about
  ourselves, and with TTIN/TTOU ignored tcsetpgrp works from any group.
- DUMB_INIT catches 1-31 but KILL and STOP, faults and TTIN/TTOU included, plus
  the realtime ones, as dumb-init does. A Python handler for a fault would be
  fatal to get wrong: a real fault of ours returns to the faulting instruction
  and faults again forever. So the faults stay *blocked* and are read from a
  signalfd instead: a real fault of ours is synchronous and blocked, so the
  kernel kills us with it (never swallowed), and only signals that another
  process sent (si_code SI_USER, SI_QUEUE, SI_TKILL) are forwarded.
"""

import os

from guestinit import _log
from guestinit._sig import sig

# Signal sets: which signals a personality catches and forwards.
NATIVE, TINI, DUMB_INIT = "native", "tini", "dumb-init"

_FAULTS = frozenset(
    int(s) for s in (sig.SIGSEGV, sig.SIGBUS, sig.SIGILL, sig.SIGFPE, sig.SIGTRAP, sig.SIGSYS)
) | {int(sig.SIGABRT)}
_TTY_INPUT_OUTPUT = frozenset({int(sig.SIGTTIN), int(sig.SIGTTOU)})
_UNCATCHABLE = frozenset({int(sig.SIGKILL), int(sig.SIGSTOP)})
# glibc reserves 32 and 33 for its threads implementation.
_RESERVED = frozenset({32, 33})
# Python itself ignores SIGPIPE and SIGXFSZ at start-up, so for those two we
# cannot tell what our parent wanted: the child gets the defaults.
_UNKNOWABLE = frozenset({int(sig.SIGPIPE), int(sig.SIGXFSZ)})
# si_code of a signal sent by a process: kill(2), sigqueue(3), tkill/tgkill(2).
_SENT_BY_A_PROCESS = frozenset({0, -1, -6})


def _all_signals() -> list[int]:
    return [n for n in range(1, int(sig.NSIG)) if n not in _UNCATCHABLE and n not in _RESERVED]


def forwardable(signal_set: str = NATIVE) -> list[int]:
    """Every signal we forward (SIGCHLD is caught too, but only wakes the reaper)."""
    chld = int(sig.SIGCHLD)
    if signal_set == DUMB_INIT:
        return [n for n in _all_signals() if n != chld]
    skipped = _FAULTS | _TTY_INPUT_OUTPUT | {chld}
    return [n for n in _all_signals() if n not in skipped]


def _wake_only(number: int, frame: object) -> None:
    """Handler body is empty on purpose: the wakeup fd carries the signal."""


class SignalSource:
    """Catches the personality's signals plus SIGCHLD; ``fileno()`` (and
    ``fault_fileno()`` if not None) become readable when any arrived, ``read()``
    returns them in arrival order."""

    def __init__(self, signal_set: str = NATIVE, log: _log.Log | None = None) -> None:
        self.signal_set = signal_set
        self._log = log or _log.Log()
        self._read_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.original_mask = sig.pthread_sigmask(sig.SIG_BLOCK, [])
        self.originally_ignored = frozenset(
            n for n in _all_signals() if n not in _UNKNOWABLE and sig.getsignal(n) == sig.SIG_IGN
        )
        forwarded = forwardable(signal_set)
        self._faults = _FAULTS if signal_set == DUMB_INIT else frozenset()
        self.caught = [n for n in forwarded if n not in self._faults] + [int(sig.SIGCHLD)]
        self._fault_fd = -1
        if self._faults:
            from guestinit.pid1.signalfd import open_signalfd

            sig.pthread_sigmask(sig.SIG_BLOCK, self._faults)
            self._fault_fd = open_signalfd(self._faults)
        sig.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for number in self.caught:
            sig.signal(number, _wake_only)
        if signal_set != DUMB_INIT:
            for number in _TTY_INPUT_OUTPUT:
                sig.signal(number, sig.SIG_IGN)
        self.inherited_ignored = sorted(self._child_ignored())

    def _child_ignored(self) -> frozenset[int]:
        """What the main process starts with ignored: what we were started with
        ignored (tini keeps all of it); dumb-init resets 1-31 to their defaults
        and leaves only the realtime ones as they were."""
        if self.signal_set == DUMB_INIT:
            return frozenset(n for n in self.originally_ignored if n > 31)
        return self.originally_ignored

    def child_mask(self) -> set[int]:
        """The signal mask the main process starts with: ours from the start
        (tini), or none at all (dumb-init unblocks everything)."""
        return set() if self.signal_set == DUMB_INIT else set(self.original_mask)

    def fileno(self) -> int:
        return self._read_fd

    def fault_fileno(self) -> int | None:
        """The signalfd of the blocked fault signals (dumb-init set only)."""
        return self._fault_fd if self._fault_fd >= 0 else None

    def read(self) -> list[int]:
        numbers: list[int] = []
        while True:
            try:
                chunk = os.read(self._read_fd, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            numbers.extend(chunk)
        if self._fault_fd >= 0:
            numbers.extend(self._read_faults())
        return numbers

    def _read_faults(self) -> list[int]:
        from guestinit.pid1.signalfd import read_signals

        numbers: list[int] = []
        for number, code, sender in read_signals(self._fault_fd):
            if code in _SENT_BY_A_PROCESS:
                numbers.append(number)
            else:
                self._log.error(
                    f"signal {number} (si_code {code}, pid {sender}) was not sent"
                    " by a process: not forwarded"
                )
        return numbers

    def restore_in_child(self) -> None:
        """In a forked child before exec: every disposition at its default but
        what the main process must start ignored, and its signal mask."""
        sig.set_wakeup_fd(-1)
        ignored = self._child_ignored()
        for number in _all_signals():
            sig.signal(number, sig.SIG_IGN if number in ignored else sig.SIG_DFL)
        sig.pthread_sigmask(sig.SIG_SETMASK, self.child_mask())
