"""Forwarding: every catchable signal reaches the main process; -g; --rewrite."""

import signal

import pytest

from guestinit.pid1.signals import forwardable
from tests.integration.conftest import InitFactory, ProgramPath

# SIGCHLD only wakes the reaper; SIGTERM ends the recorder, so it is sent last.
_FORWARDED = [n for n in forwardable() if n != signal.SIGTERM]


def test_every_catchable_signal_is_forwarded(init: InitFactory, program: ProgramPath) -> None:
    run = init("--", *program("trap_all"))
    assert run.read_line() == "ready"
    for number in _FORWARDED:
        run.signal(number)
        assert run.read_line() == f"got {number}", signal.Signals(number).name
    run.signal(signal.SIGTERM)
    assert run.read_line() == f"got {int(signal.SIGTERM)}"
    assert run.wait() == 0


def test_realtime_signals_queued_twice_arrive_twice(
    init: InitFactory, program: ProgramPath
) -> None:
    run = init("--", *program("trap_all"))
    assert run.read_line() == "ready"
    rt = signal.SIGRTMIN + 2
    run.signal(rt)
    run.signal(rt)
    assert [run.read_line(), run.read_line()] == [f"got {rt}", f"got {rt}"]
    run.signal(signal.SIGTERM)
    assert run.wait() == 0


@pytest.mark.parametrize("group", [False, True])
def test_process_group_option(init: InitFactory, program: ProgramPath, group: bool) -> None:
    run = init(*(["-g"] if group else []), "--", *program("group_pair"))
    assert sorted([run.read_line(), run.read_line()]) == ["child ready", "main ready"]
    run.signal(signal.SIGUSR1)
    expected = ["child got 10", "main got 10"] if group else ["main got 10"]
    got = [run.read_line() for _ in expected]
    run.signal(signal.SIGTERM)
    assert run.wait() == 0
    assert sorted(got) == expected
    assert b"child got" not in run.stdout  # nothing more arrived later


def test_rewrite_changes_and_drops_signals(init: InitFactory, program: ProgramPath) -> None:
    run = init("--rewrite", "USR1:USR2", "--rewrite", "HUP:0", "--", *program("trap_all"))
    assert run.read_line() == "ready"
    run.signal(signal.SIGHUP)  # dropped
    run.signal(signal.SIGUSR1)
    assert run.read_line() == f"got {int(signal.SIGUSR2)}"
    run.signal(signal.SIGTERM)
    assert run.read_line() == f"got {int(signal.SIGTERM)}"
    assert run.wait() == 0
