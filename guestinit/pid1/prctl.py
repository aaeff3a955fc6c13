"""The two prctl(2) calls PID 1 needs; ctypes is imported only when used
(as PID 1 neither is needed, and ctypes costs ~2-6 ms of start-up)."""

import os

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to us instead of to PID 1."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(number: int) -> None:
    _prctl(_PR_SET_PDEATHSIG, number)
