"""Reaping as PID 1: bursts of orphans leave no zombie behind."""

from tests.integration.conftest import InitFactory, ProgramPath


def test_ten_thousand_orphans_leave_zero_zombies(init: InitFactory, program: ProgramPath) -> None:
    run = init("--", *program("orphan_burst", "10000", "120"))
    assert run.read_line(timeout=180) == "zombies 0"
    assert run.wait(timeout=30) == 0


def test_orphans_are_reaped_while_the_main_process_keeps_running(
    init: InitFactory, program: ProgramPath
) -> None:
    run = init("-vv", "--", *program("orphan_burst", "50", "20"))
    assert run.read_line() == "zombies 0"
    assert run.wait() == 0
    assert run.stderr.count(b"reaped zombie process") >= 50
