"""Not PID 1: guestinit becomes child subreaper and touches only its descendants."""

import os
import signal
import subprocess
from pathlib import Path

import psutil

from tests.integration.conftest import InitFactory, ProgramPath
from tests.integration.initrun import InitRun

# An inner shell starts a long sleep in the background and exits: the sleep is an
# orphan from that moment. The outer shell (the main process) says "inner-done"
# once it has reaped the inner one, so the orphan's new parent is settled when the
# test reads that line; the main process then waits for the test's go file.
ORPHAN_THEN_WAIT = (
    "sh -c 'sleep 60 & echo $!'; echo inner-done; while [ ! -e {go} ]; do sleep 0.02; done"
)


def _orphan_and_wait(init: InitFactory, tmp_path: Path, *options: str) -> tuple[InitRun, int, Path]:
    go = tmp_path / "go"
    run = init(*options, "--", "sh", "-c", ORPHAN_THEN_WAIT.format(go=go), pid1=False)
    orphan = int(run.read_line())
    assert run.read_line() == "inner-done"
    return run, orphan, go


def test_orphans_are_reparented_to_guestinit_and_reaped(init: InitFactory, tmp_path: Path) -> None:
    run, orphan, go = _orphan_and_wait(init, tmp_path, "-vv")
    try:
        assert psutil.Process(orphan).ppid() == run.init_pid(), "the orphan is our child now"
    finally:
        os.kill(orphan, signal.SIGKILL)
    go.touch()
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


def test_no_subreaper_leaves_orphans_to_the_real_init(init: InitFactory, tmp_path: Path) -> None:
    run, orphan, go = _orphan_and_wait(init, tmp_path, "--no-subreaper")
    try:
        parent = psutil.Process(orphan).ppid()
    finally:
        os.kill(orphan, signal.SIGKILL)
    assert parent != run.init_pid(), "the orphan went to the real init"
    go.touch()
    assert run.wait() == 0


def test_sigterm_in_subreaper_mode_forwards_and_exits(init: InitFactory) -> None:
    run = init(
        "--", "sh", "-c", "trap 'exit 5' TERM; echo up; while :; do sleep 0.05; done", pid1=False
    )
    assert run.read_line() == "up"
    os.kill(run.init_pid(), signal.SIGTERM)
    assert run.wait() == 5
