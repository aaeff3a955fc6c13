"""One cgroup per unit, for real (the pids hierarchy of cgroup v1 here): a
daemon that escaped its session and parent is still stopped with its unit,
and every cgroup guestinit made is gone when it exits."""

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.sandbox import Sandbox, ctl, wait_for

PROGRAMS = Path(__file__).with_name("programs")


def our_pids_cgroup() -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/pids") / path.lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    return None


def namespace_pid(pid: int) -> int | None:
    """The pid a process has in the innermost PID namespace (NSpid's last)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None  # exited while we looked
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None


@pytest.fixture
def cgroup_parent(sandbox: Sandbox) -> Iterator[Path]:
    parent = our_pids_cgroup()
    if parent is None:
        pytest.skip("no writable cgroup v1 pids hierarchy")
    before = set(parent.glob("guestinit-*"))
    yield parent
    for run in sandbox.runs:
        run.cleanup()  # first end the processes, then the folders can go
    for left in set(parent.glob("guestinit-*")) - before:  # a failed test's leftovers
        for child in left.iterdir():
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            left.rmdir()


def test_escaped_daemon_stops_with_its_unit_and_cgroups_are_removed(
    sandbox: Sandbox, cgroup_parent: Path
) -> None:
    before = set(cgroup_parent.glob("guestinit-*"))
    pidfile = sandbox.path("daemon.pid")
    sandbox.unit(
        "escape.service",
        f"[Service]\nExecStart={sys.executable} "
        f"{PROGRAMS / 'escape.py'} {pidfile}\nTimeoutStopSec=3\n",
    )
    run = sandbox.start("-v", "--start=escape.service", cgroups=True)
    wait_for(pidfile.exists)
    inner = int(pidfile.read_text())  # the daemon's pid inside the namespace
    # This run's folder is the one whose unit holds our daemon (other test runs
    # on the machine may make folders beside it at the same time).
    ours = [
        (folder, pid)
        for folder in set(cgroup_parent.glob("guestinit-*")) - before
        for pid in unit_members(folder / "escape.service")
        if namespace_pid(pid) == inner and parent_of(pid) == run.init_pid()
    ]
    assert len(ours) == 1, "the escaped daemon is still in its unit's cgroup, in one folder"
    folder, pid = ours[0]
    daemon = psutil.Process(pid)  # re-parented to PID 1: no session or parent ties left
    assert ctl(run, "stop", "escape.service").returncode == 0
    wait_for(lambda: not daemon.is_running() or daemon.status() == psutil.STATUS_ZOMBIE)
    run.signal(15)
    assert run.wait(timeout=30) == 0
    assert not folder.exists(), "every cgroup made was removed"


def test_without_unit_cgroups_the_escaped_daemon_outlives_its_unit(sandbox: Sandbox) -> None:
    """The limit the cgroups remove: tracked by session and descent only, such
    a daemon survives `stop` (the final drain still ends it)."""
    pidfile = sandbox.path("daemon.pid")
    sandbox.unit(
        "escape.service",
        f"[Service]\nExecStart={sys.executable} "
        f"{PROGRAMS / 'escape.py'} {pidfile}\nTimeoutStopSec=3\n",
    )
    run = sandbox.start("--start=escape.service")
    wait_for(pidfile.exists)
    inner = int(pidfile.read_text())
    daemon = next(
        p for p in psutil.Process(run.init_pid()).children() if namespace_pid(p.pid) == inner
    )
    assert ctl(run, "stop", "escape.service").returncode == 0
    assert daemon.is_running() and daemon.status() != psutil.STATUS_ZOMBIE
    run.signal(15)
    assert run.wait(timeout=30) == 0
    assert not daemon.is_running() or daemon.status() == psutil.STATUS_ZOMBIE


def unit_members(unit_cgroup: Path) -> list[int]:
    try:
        return [int(p) for p in (unit_cgroup / "cgroup.procs").read_text().split()]
    except OSError:
        return []  # another run's folder, removed while we looked


def parent_of(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.NoSuchProcess:
        return None
