"""Not PID 1: guestinit becomes child subreaper and touches only its descendants."""

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from tests.integration.conftest import InitFactory, ProgramPath
from tests.sandbox import children_named


def test_orphans_are_reparented_to_guestinit_and_reaped(
    init: InitFactory, program: ProgramPath
) -> None:
    # The orphan sleeps long enough to be seen on a busy machine; the test
    # synchronises on it appearing as our child, not on a fixed delay.
    run = init("-vv", "--", "sh", "-c", "(sleep 3 &) ; sleep 4", pid1=False)
    deadline = time.monotonic() + 3
    while not children_named(run.init_pid(), "sleep") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert children_named(run.init_pid(), "sleep"), "the double-forked sleep should be our child"
    assert run.wait() == 0
    assert b"reaped zombie process" in run.stderr


def test_drain_touches_descendants_only(
    init: InitFactory, program: ProgramPath, tmp_path: Path
) -> None:
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        marker = tmp_path / "cleaned"
        run = init("--", *program("worker_tree", str(marker), "0.2", "4"), pid1=False)
        worker = int(run.read_line().split()[1])
        assert run.wait() == 4
        assert marker.exists(), "the descendant got SIGTERM and its time"
        assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == "zombie"
        assert bystander.poll() is None, "a process that is not ours was signalled"
    finally:
        bystander.kill()
        bystander.wait()


def test_no_subreaper_leaves_orphans_to_the_real_init(init: InitFactory) -> None:
    run = init("--no-subreaper", "--", "sh", "-c", "(sleep 0.5 &); sleep 0.2", pid1=False)
    time.sleep(0.1)
    assert not children_named(run.init_pid(), "sleep"), "the orphan went to the real init"
    assert run.wait() == 0


def test_sigterm_in_subreaper_mode_forwards_and_exits(init: InitFactory) -> None:
    run = init(
        "--", "sh", "-c", "trap 'exit 5' TERM; echo up; while :; do sleep 0.05; done", pid1=False
    )
    assert run.read_line() == "up"
    os.kill(run.init_pid(), signal.SIGTERM)
    assert run.wait() == 5
