"""The prctl(2) calls PID 1 needs. As PID 1 neither is needed; elsewhere
start-up pays for the call, so it goes through the C module ``_ctypes``
directly (~1 ms) instead of ``ctypes`` (~5 ms measured), falling back to
``ctypes`` if that private interface ever changes."""

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37


def _prctl_fast(option: int, value: int) -> tuple[int, int]:
    import _ctypes

    c: Any = _ctypes  # a private module: typed loosely on purpose

    class _Int(c._SimpleCData):  # type: ignore[misc]
        _type_ = "i"

    class _Libc:
        _handle = c.dlopen(None)

    class _Function(c.CFuncPtr):  # type: ignore[misc]
        _flags_ = c.FUNCFLAG_CDECL | c.FUNCFLAG_USE_ERRNO
        _restype_ = _Int

    result = _Function(("prctl", _Libc()))(option, value, 0, 0, 0)
    return int(result), int(c.get_errno())


def _prctl_portable(option: int, value: int) -> tuple[int, int]:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, value, 0, 0, 0)), ctypes.get_errno()


def _prctl(option: int, value: int) -> None:
    try:
        result, number = _prctl_fast(option, value)
    except (ImportError, AttributeError, TypeError):
        result, number = _prctl_portable(option, value)
    if result != 0:
        raise OSError(number, os.strerror(number))


def is_subreaper() -> bool:
    """PR_GET_CHILD_SUBREAPER: set by us, or kept across exec from whoever ran us
    (tini's own check; its test suite sets it in a proxy that then execs tini)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    bit = ctypes.c_int(0)
    if libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(bit), 0, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return bit.value == 1


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to us instead of to PID 1."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(number: int) -> None:
    _prctl(_PR_SET_PDEATHSIG, number)
