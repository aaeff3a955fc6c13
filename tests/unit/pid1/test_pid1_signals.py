"""Which signals each personality forwards (pure: the sets only)."""

import signal

from guestinit.pid1.signals import DUMB_INIT, NATIVE, TINI, forwardable

S = signal.Signals
FAULTS = {int(s) for s in (S.SIGILL, S.SIGTRAP, S.SIGABRT, S.SIGBUS, S.SIGFPE, S.SIGSEGV, S.SIGSYS)}
NEVER = {int(S.SIGKILL), int(S.SIGSTOP), int(S.SIGCHLD), 32, 33}


def test_dumb_init_forwards_1_to_31_but_kill_stop_chld_and_the_realtime_ones() -> None:
    got = set(forwardable(DUMB_INIT))
    assert got == set(range(1, signal.NSIG)) - NEVER
    assert got >= FAULTS and {int(S.SIGTTIN), int(S.SIGTTOU), int(S.SIGTSTP)} <= got


def test_tini_and_native_keep_tinis_set() -> None:
    skipped = FAULTS | {int(S.SIGTTIN), int(S.SIGTTOU)}
    for name in (TINI, NATIVE):
        got = set(forwardable(name))
        assert got == set(range(1, signal.NSIG)) - NEVER - skipped
        assert int(S.SIGTSTP) in got and int(signal.SIGRTMIN) in got
