import math
import threading
import time

import pytest
from procshim import loadtrack
from procshim.cgroup import NoCgroup, TaskReadings
from procshim.loadtrack import LoadTracker
from procshim.render.loadavg import SAMPLE_INTERVAL


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TasksOf(NoCgroup):
    """A cgroup whose runnable and blocked task counts the test sets."""

    def __init__(self, running: int | None = 0, blocked: int = 0) -> None:
        self.running = running
        self.blocked = blocked
        self.calls = 0

    def tasks(self) -> TaskReadings:
        self.calls += 1
        return TaskReadings(total=10, running=self.running, blocked=self.blocked)


def test_the_first_read_starts_from_zero_like_a_booting_kernel() -> None:
    clock = FakeClock()
    tracker = LoadTracker(clock=clock)
    load = tracker.current("a", TasksOf(running=3))
    assert (load.one, load.five, load.fifteen) == (0.0, 0.0, 0.0)
    assert load.at == clock.now
    assert len(tracker) == 1


def test_reads_fold_in_once_per_interval() -> None:
    clock = FakeClock()
    tracker = LoadTracker(clock=clock)
    cgroup = TasksOf(running=2)
    tracker.current("a", cgroup)
    clock.now += SAMPLE_INTERVAL / 2
    assert tracker.current("a", cgroup).one == 0.0  # not due yet: no walk of the tasks
    assert cgroup.calls == 1
    clock.now += SAMPLE_INTERVAL / 2
    load = tracker.current("a", cgroup)
    assert cgroup.calls == 2
    assert load.one == pytest.approx(2 * (1 - math.exp(-SAMPLE_INTERVAL / 60)))
    assert load.at == clock.now


def test_sampler_rounds_decay_like_the_kernel_over_1_5_15_minutes() -> None:
    clock = FakeClock()
    tracker = LoadTracker(clock=clock)
    cgroup = TasksOf(running=1, blocked=1)  # D counts in the load, as the kernel's
    tracker.current("a", cgroup)
    for _ in range(12):  # one minute
        clock.now += SAMPLE_INTERVAL
        tracker.sample_all()
    load = tracker.current("a", cgroup)
    assert load.one == pytest.approx(2 * (1 - math.exp(-1)))
    assert load.five == pytest.approx(2 * (1 - math.exp(-60 / 300)))
    assert load.fifteen == pytest.approx(2 * (1 - math.exp(-60 / 900)))
    # Then idle for five minutes (reads keep it tracked): each average decays
    # by e^(-t / its window).
    peak = load
    cgroup.running, cgroup.blocked = 0, 0
    for _ in range(60):
        clock.now += SAMPLE_INTERVAL
        tracker.sample_all()
        tracker.current("a", cgroup)
    load = tracker.current("a", cgroup)
    assert load.one == pytest.approx(peak.one * math.exp(-300 / 60))
    assert load.five == pytest.approx(peak.five * math.exp(-1))
    assert load.fifteen == pytest.approx(peak.fifteen * math.exp(-300 / 900))
    assert load.one < load.five  # the short window forgets first


def test_a_late_round_decays_for_the_time_that_passed() -> None:
    clock = FakeClock()
    tracker = LoadTracker(clock=clock)
    cgroup = TasksOf(running=4)
    tracker.current("a", cgroup)
    clock.now += 60.0  # the sampler was starved for a minute
    tracker.sample_all()
    assert tracker.current("a", cgroup).one == pytest.approx(4 * (1 - math.exp(-1)))


def test_each_cgroup_has_its_own_average() -> None:
    clock = FakeClock()
    tracker = LoadTracker(clock=clock)
    busy, idle = TasksOf(running=3), TasksOf(running=0)
    tracker.current("busy", busy)
    tracker.current("idle", idle)
    clock.now += SAMPLE_INTERVAL
    tracker.sample_all()
    assert tracker.current("busy", busy).one > 0.0
    assert tracker.current("idle", idle).one == 0.0


def test_unknown_task_states_leave_the_average_as_it_was() -> None:
    clock = FakeClock()
    tracker = LoadTracker(clock=clock)
    cgroup = TasksOf(running=2)
    tracker.current("a", cgroup)
    clock.now += SAMPLE_INTERVAL
    before = tracker.current("a", cgroup)
    cgroup.running = None  # no /proc for its tasks (another PID namespace)
    clock.now += SAMPLE_INTERVAL
    tracker.sample_all()
    assert tracker.current("a", cgroup) == before


def test_a_cgroup_nobody_reads_is_forgotten() -> None:
    clock = FakeClock()
    tracker = LoadTracker(idle_after=60.0, clock=clock)
    cgroup = TasksOf(running=2)
    tracker.current("a", cgroup)
    for _ in range(11):  # 55 s: still read recently enough
        clock.now += SAMPLE_INTERVAL
        tracker.sample_all()
    assert len(tracker) == 1
    for _ in range(2):
        clock.now += SAMPLE_INTERVAL
        tracker.sample_all()
    assert len(tracker) == 0
    calls = cgroup.calls
    clock.now += SAMPLE_INTERVAL
    tracker.sample_all()
    assert cgroup.calls == calls  # a forgotten cgroup costs no walk
    # Read again, it starts from 0.
    assert tracker.current("a", cgroup).one == 0.0


def test_at_most_capacity_cgroups_the_least_recently_read_go_first() -> None:
    clock = FakeClock()
    tracker = LoadTracker(capacity=2, clock=clock)
    a, b, c = TasksOf(running=1), TasksOf(running=1), TasksOf(running=1)
    tracker.current("a", a)
    clock.now += 1.0
    tracker.current("b", b)
    clock.now += 1.0
    tracker.current("a", a)  # read again: now b is the oldest
    clock.now += 1.0
    tracker.current("c", c)
    assert len(tracker) == 2
    clock.now += SAMPLE_INTERVAL
    tracker.sample_all()
    assert (a.calls, b.calls, c.calls) == (2, 1, 2)


def test_the_sampler_thread_sleeps_between_rounds_and_stops() -> None:
    tracker = LoadTracker()
    cgroup = TasksOf(running=1)
    tracker.current("a", cgroup)
    thread = tracker.run_sampler()
    assert thread.daemon  # never holds the server's exit up
    # Well under SAMPLE_INTERVAL: a busy loop would have sampled many times.
    threading.Event().wait(0.2)
    assert cgroup.calls == 1
    tracker.stop()
    thread.join(timeout=5.0)
    assert not thread.is_alive()


def test_a_failing_round_does_not_end_the_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadtrack, "SAMPLE_INTERVAL", 0.01)

    class VanishesTwice(TasksOf):
        def tasks(self) -> TaskReadings:
            self.calls += 1
            if 2 <= self.calls <= 3:
                raise FileNotFoundError("cgroup removed mid-walk")
            return TaskReadings(total=1, running=1, blocked=0)

    tracker = LoadTracker()
    cgroup = VanishesTwice()
    tracker.current("a", cgroup)
    thread = tracker.run_sampler()
    try:
        deadline = time.monotonic() + 10.0
        while cgroup.calls < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cgroup.calls >= 5  # rounds went on after the two that raised
        assert thread.is_alive()
    finally:
        tracker.stop()
        thread.join(timeout=5.0)
