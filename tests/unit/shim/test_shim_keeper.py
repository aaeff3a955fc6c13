import os
import signal
import time
from collections.abc import Iterator

import pytest

from guestinit import _log
from guestinit.pid1 import model
from guestinit.shim.keeper import (
    BACKOFF,
    FIRST_READY_WAIT,
    GUARD_WAIT,
    HEALTHY_AFTER,
    HUNG_AFTER,
    HUNG_AFTER_RUNNING,
    KILL_AFTER,
    READY_TIMEOUT,
    Phase,
    ShimKeeper,
)

MOUNTPOINT = "/run/guestinit/procshim"
MOUNTED = (
    f"51 40 0:52 / {MOUNTPOINT} rw - fuse.procshim procshim rw\n"
    "52 30 0:52 /proc/meminfo /proc/meminfo rw - fuse.procshim procshim rw\n"
)


class FakeSystem:
    def __init__(self) -> None:
        self.next_pid = 100
        self.writers: dict[int, int] = {}  # child pid -> our copy of its ready fd
        self.unmounted: list[list[str]] = []
        self.killed: list[tuple[int, int]] = []
        self.aborted: list[str] = []
        self.table = MOUNTED
        self.static_pid: int | None = None  # set: fork_static works and returns pids
        self.spawned_with: list[dict[str, int]] = []
        self.stopped_pids: set[int] = set()
        self.kept_static: list[bool] = []

    def open_host_files(self) -> dict[str, int]:
        return {"/proc/meminfo": 7}

    def fork_static(self, host_fds: dict[str, int]) -> int:
        if self.static_pid is None:
            raise OSError(2, "no static layer in this test")
        return self.static_pid

    def spawn_shim(self, ready_fd: int, host_fds: dict[str, int], keep_static: bool) -> int:
        self.spawned_with.append(host_fds)
        self.kept_static.append(keep_static)
        self.next_pid += 1
        self.writers[self.next_pid] = os.dup(ready_fd)
        return self.next_pid

    def spawn_unmount(self, points: list[str]) -> int | None:
        self.unmounted.append(points)
        self.next_pid += 1
        return self.next_pid

    def kill(self, pid: int, number: int) -> None:
        self.killed.append((pid, number))

    def stopped(self, pid: int) -> bool:
        return pid in self.stopped_pids

    def mountinfo(self) -> str:
        return self.table

    def abort_connection(self, device: str) -> None:
        self.aborted.append(device)

    def say(self, pid: int, text: bytes) -> None:
        os.write(self.writers[pid], text)

    def close(self) -> None:
        for fd in self.writers.values():
            os.close(fd)

    def end_pipe(self, pid: int) -> None:
        """The child (and its guard) are gone: their end of the ready pipe closes."""
        fd = self.writers.pop(pid, None)
        if fd is not None:
            os.close(fd)


@pytest.fixture
def system() -> Iterator[FakeSystem]:
    fake = FakeSystem()
    yield fake
    fake.close()


def keeper(system: FakeSystem, required: bool = False) -> ShimKeeper:
    return ShimKeeper(system, _log.Log(_log.ERROR), MOUNTPOINT, required)


def ready(shim: ShimKeeper, system: FakeSystem) -> None:
    assert shim.pid is not None
    system.say(shim.pid, b"READY\n")
    for callback in shim.readers().values():
        callback()


def die(shim: ShimKeeper, system: FakeSystem, pid: int, status: int, now: float) -> bool:
    """A server's death as the loop sees it: its pipe ends, then the reap."""
    system.end_pipe(pid)
    for callback in shim.readers().values():
        callback()
    return shim.claim(pid, status, now)


def killed_by(number: int) -> int:
    return number  # a wait status for death by signal ``number``


def exited(code: int) -> int:
    return code << 8


def test_ready_line_makes_it_up_and_lets_the_main_process_start(system: FakeSystem) -> None:
    shim = keeper(system)
    shim.start(time.monotonic())
    assert shim.phase == Phase.STARTING
    assert not shim.events()
    ready(shim, system)
    assert shim.phase == Phase.UP
    assert [type(e) for e in shim.events()] == [model.UnitsReady]


def test_heartbeats_split_across_reads_keep_it_up(system: FakeSystem) -> None:
    clock = [1000.0]
    shim = ShimKeeper(system, _log.Log(_log.ERROR), MOUNTPOINT, False, clock=lambda: clock[0])
    shim.start(clock[0])
    ready(shim, system)
    assert shim.pid is not None
    clock[0] += 0.7  # half a heartbeat arrives later: it counts as hearing from it
    system.say(shim.pid, b"ALI")
    for callback in shim.readers().values():
        callback()
    assert shim.next_deadline() == 1000.7 + HUNG_AFTER


def test_a_crash_detaches_the_stale_files_and_restarts_at_once(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    first = shim.pid
    assert first is not None
    assert die(shim, system, first, killed_by(signal.SIGKILL), now + 1)
    assert system.unmounted == [["/proc/meminfo", MOUNTPOINT]]
    assert shim.phase == Phase.WAITING
    # The restart waits for the unmount helper: the new server's own clean-up
    # and the helper would unmount one path twice (the second time the static layer).
    assert shim.next_deadline() is None
    shim.tick(now + 1)
    assert shim.phase == Phase.WAITING
    # The unmount helper is ours too: claimed, not handed to the init model.
    assert shim.claim(system.next_pid, exited(0), now + 1)
    assert shim.phase == Phase.STARTING
    assert shim.pid not in (None, first)
    # UnitsReady was reported once, not again for the restart.
    ready(shim, system)
    assert [type(e) for e in shim.events()] == [model.UnitsReady]


def test_crashes_in_a_row_back_off_and_a_healthy_run_resets(system: FakeSystem) -> None:
    system.table = ""  # nothing left mounted: no unmount helper to wait for
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    delays = []
    for _ in range(4):
        assert shim.pid is not None
        die(shim, system, shim.pid, exited(1), now)
        assert shim._restart_at is not None
        delays.append(shim._restart_at - now)
        shim.tick(now + 100)
        now += 100
    assert delays == list(BACKOFF[:4])
    ready(shim, system)
    shim._up_since = now - HEALTHY_AFTER  # up long enough
    assert shim.pid is not None
    die(shim, system, shim.pid, exited(1), now)
    assert shim._restart_at == now + BACKOFF[0]


def test_a_silent_child_is_continued_and_stopped_then_killed(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    pid = shim.pid
    assert pid is not None
    system.stopped_pids.add(pid)  # SIGSTOP
    shim.tick(now + HUNG_AFTER + 1)
    # A stopped server answers what its readers wait for and removes its own
    # binds: the keeper detaches nothing meanwhile.
    assert system.killed == [(pid, signal.SIGCONT), (pid, signal.SIGTERM)]
    assert system.unmounted == []
    assert shim.phase == Phase.KILLED
    kill_at = shim.next_deadline()
    assert kill_at is not None
    shim.tick(kill_at + KILL_AFTER)
    assert system.aborted == ["0:52"]
    assert system.killed[-1] == (pid, signal.SIGKILL)
    die(shim, system, pid, killed_by(signal.SIGKILL), kill_at + KILL_AFTER)
    assert system.unmounted == [["/proc/meminfo", MOUNTPOINT]]
    assert shim.phase == Phase.WAITING


def test_a_hung_child_that_stops_by_itself_is_not_killed(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    pid = shim.pid
    assert pid is not None
    system.stopped_pids.add(pid)  # SIGSTOP
    shim.tick(now + HUNG_AFTER + 1)
    system.table = ""  # it removed its binds and its mount on SIGTERM
    die(shim, system, pid, exited(0), now + HUNG_AFTER + 1.1)
    assert (pid, signal.SIGKILL) not in system.killed
    assert system.unmounted == []  # nothing left: no helper, no "not mounted" lines
    assert shim.phase == Phase.WAITING
    shim.tick(now + HUNG_AFTER + 2)
    assert shim.phase == Phase.STARTING


def test_a_detach_asked_while_one_runs_waits_for_it(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    assert shim.pid is not None
    die(shim, system, shim.pid, killed_by(signal.SIGKILL), now)
    helper = system.next_pid
    shim._detach()  # e.g. a second death reported while the helper runs
    assert len(system.unmounted) == 1
    system.table = ""  # the helper took them
    shim.claim(helper, exited(0), now)
    assert len(system.unmounted) == 1  # checked again: nothing left, no second helper


def test_the_static_layer_lets_the_main_process_start_before_the_server(
    system: FakeSystem,
) -> None:
    system.static_pid = 50
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    assert shim.phase == Phase.BINDING
    assert shim.pid is None  # the server starts over the static layer, not beside it
    assert shim.events() == []
    assert shim.claim(50, exited(0), now)
    assert shim.static_bound
    assert [type(e) for e in shim.events()] == [model.UnitsReady]
    assert shim.phase == Phase.STARTING
    assert system.spawned_with == [{"/proc/meminfo": 7}]  # the host's real files
    assert system.kept_static == [True]
    ready(shim, system)
    assert shim.events() == []  # reported once


def test_without_the_static_layer_the_main_process_waits_for_the_server(
    system: FakeSystem,
) -> None:
    system.static_pid = 50
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    shim.claim(50, exited(1), now)
    assert not shim.static_bound
    assert shim.phase == Phase.STARTING
    assert system.kept_static == [False]  # nothing to keep fresh
    assert shim.events() == []
    ready(shim, system)
    assert [type(e) for e in shim.events()] == [model.UnitsReady]


def test_not_ready_in_time_counts_as_hung(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    shim.tick(now + 60)
    assert shim.phase == Phase.KILLED


def test_unavailable_child_is_given_up_once_and_the_main_process_runs(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    assert shim.pid is not None
    die(shim, system, shim.pid, exited(69), now)
    assert shim.phase == Phase.GONE
    assert shim.next_deadline() is None
    assert [type(e) for e in shim.events()] == [model.UnitsReady]


def test_required_and_unavailable_asks_to_exit_1(system: FakeSystem) -> None:
    shim = keeper(system, required=True)
    shim.unavailable = "/dev/fuse is missing"
    shim.start(time.monotonic())
    events = shim.events()
    assert [type(e) for e in events] == [model.ExitRequested, model.UnitsReady]
    exit_request = events[0]
    assert isinstance(exit_request, model.ExitRequested)
    assert exit_request.code == 1
    assert system.writers == {}  # nothing was spawned


def test_after_stop_all_an_exit_is_final(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    shim.events()
    shim.stop_all(now)
    assert [type(e) for e in shim.events()] == [model.UnitsStopped]
    assert shim.pid is not None
    die(shim, system, shim.pid, exited(0), now)
    assert shim.phase == Phase.GONE
    assert shim.next_deadline() is None


def test_other_processes_are_not_claimed(system: FakeSystem) -> None:
    shim = keeper(system)
    shim.start(time.monotonic())
    assert not shim.claim(99999, exited(0), time.monotonic())


def test_a_shim_failing_to_come_up_delays_the_main_process_only_so_long(
    system: FakeSystem,
) -> None:
    system.table = ""
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    assert shim.pid is not None
    die(shim, system, shim.pid, exited(1), now)  # crashes before READY
    shim.tick(now)
    assert shim.events() == []
    assert shim.next_deadline() == now + BACKOFF[1] or shim.phase == Phase.STARTING
    shim.tick(now + FIRST_READY_WAIT)
    assert [type(e) for e in shim.events()] == [model.UnitsReady]
    assert shim.phase in (Phase.STARTING, Phase.WAITING)  # still trying


def test_required_and_never_ready_asks_to_exit_1(system: FakeSystem) -> None:
    shim = keeper(system, required=True)
    now = time.monotonic()
    shim.start(now)
    shim.tick(now + FIRST_READY_WAIT)
    assert [type(e) for e in shim.events()] == [model.ExitRequested, model.UnitsReady]


def test_a_failed_unmount_helper_is_followed_by_another_look(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    assert shim.pid is not None
    die(shim, system, shim.pid, killed_by(signal.SIGKILL), now)
    shim.claim(system.next_pid, killed_by(signal.SIGKILL), now)  # the helper died midway
    assert len(system.unmounted) == 2  # the binds are still listed: detached again
    system.table = ""
    shim.claim(system.next_pid, exited(0), now)
    assert len(system.unmounted) == 2
    assert shim.phase == Phase.STARTING  # and then the restart


def test_required_waits_for_the_server_even_over_the_static_layer(system: FakeSystem) -> None:
    system.static_pid = 50
    shim = keeper(system, required=True)
    now = time.monotonic()
    shim.start(now)
    shim.claim(50, exited(0), now)
    assert shim.static_bound
    assert shim.events() == []  # a server that cannot run must still be fatal
    assert shim.pid is not None
    die(shim, system, shim.pid, exited(69), now)
    assert [type(e) for e in shim.events()] == [model.ExitRequested, model.UnitsReady]


def test_a_guarded_server_s_guard_detaches_and_the_keeper_only_checks(
    system: FakeSystem,
) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    pid = shim.pid
    assert pid is not None
    system.say(pid, b"READY guard=4242\n")
    for callback in shim.readers().values():
        callback()
    assert shim.phase == Phase.UP
    shim.claim(pid, killed_by(signal.SIGKILL), now)
    # Its guard holds the pipe until its own detach is done: nothing from us yet.
    assert shim.phase == Phase.EXITING
    assert system.unmounted == []
    assert shim.next_deadline() == pytest.approx(now + GUARD_WAIT)
    system.table = ""  # the guard took them
    os.close(system.writers.pop(pid))
    for callback in shim.readers().values():
        callback()  # end of the pipe
    assert system.unmounted == []  # nothing left to detach: no helper at all
    assert shim.phase == Phase.WAITING
    shim.tick(time.monotonic() + BACKOFF[0])
    assert shim.phase == Phase.STARTING


def test_a_guard_that_never_finishes_is_not_waited_for_long(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    pid = shim.pid
    assert pid is not None
    system.say(pid, b"READY guard=4242\n")
    for callback in shim.readers().values():
        callback()
    shim.claim(pid, killed_by(signal.SIGKILL), now)
    shim.tick(now + GUARD_WAIT)
    assert system.unmounted == [["/proc/meminfo", MOUNTPOINT]]  # we look ourselves
    assert shim.phase == Phase.WAITING


def test_a_silent_running_child_gets_longer_than_a_stopped_one(system: FakeSystem) -> None:
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    ready(shim, system)
    pid = shim.pid
    assert pid is not None
    shim.tick(now + HUNG_AFTER + 0.5)  # late (a saturated machine), not stopped
    assert shim.phase == Phase.UP
    assert system.killed == []
    shim.tick(now + HUNG_AFTER_RUNNING + 0.1)  # a deadlock, say
    assert shim.phase == Phase.KILLED
    assert system.killed == [(pid, signal.SIGCONT), (pid, signal.SIGTERM)]


def test_without_the_static_layer_asked_for_the_server_starts_at_once(
    system: FakeSystem,
) -> None:
    system.static_pid = 50
    shim = ShimKeeper(system, _log.Log(_log.ERROR), MOUNTPOINT, False, static=False)
    shim.start(time.monotonic())
    assert shim.phase == Phase.STARTING  # not PID 1: no layer that would outlive us
    assert not shim.static_bound
    assert shim.events() == []


def test_a_static_child_that_hangs_is_killed_and_the_server_started(system: FakeSystem) -> None:
    system.static_pid = 50
    shim = keeper(system)
    now = time.monotonic()
    shim.start(now)
    assert shim._phase_deadline() == now + READY_TIMEOUT
    shim.tick(now + READY_TIMEOUT)
    assert system.killed == [(50, signal.SIGKILL)]
    shim.claim(50, killed_by(signal.SIGKILL), now + READY_TIMEOUT)
    assert shim.phase == Phase.STARTING
    assert not shim.static_bound
