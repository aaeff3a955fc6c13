"""Load averages per cgroup, kept without a busy thread.

The kernel folds the number of runnable and uninterruptible tasks into its
averages every 5 seconds. We do the same for the cgroups whose /proc/loadavg
was read: a sampler thread that sleeps between rounds folds each one in, and
a read folds in too when a round is due, so the numbers are right from the
first read on. A cgroup nobody read for ``idle_after`` seconds is forgotten
(the next read starts it from 0, as a booting kernel does), and at most
``capacity`` are kept.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from procshim.cgroup import CgroupReader
from procshim.render.loadavg import SAMPLE_INTERVAL, LoadAverage, active_tasks, sample_load


@dataclass
class _Tracked:
    reader: CgroupReader
    load: LoadAverage
    read_at: float


class LoadTracker:
    def __init__(
        self,
        capacity: int = 512,
        idle_after: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.idle_after = idle_after
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def current(self, key: str, reader: CgroupReader) -> LoadAverage:
        """The load of cgroup ``key`` now; starts tracking it."""
        now = self._clock()
        with self._lock:
            tracked = self._tracked.get(key)
            if tracked is None:
                self._make_room()
                tracked = self._tracked[key] = _Tracked(reader, LoadAverage(), now)
            tracked.read_at = now
        due = tracked.load.at is None or now - tracked.load.at >= SAMPLE_INTERVAL
        if due:
            self._sample(tracked, now)
        return tracked.load

    def sample_all(self) -> None:
        """One round of the sampler: fold every tracked cgroup in, drop idle ones."""
        now = self._clock()
        with self._lock:
            for key in [k for k, t in self._tracked.items() if now - t.read_at > self.idle_after]:
                del self._tracked[key]
            tracked = list(self._tracked.values())
        for entry in tracked:
            self._sample(entry, now)

    def _sample(self, tracked: _Tracked, now: float) -> None:
        # Reading the tasks walks /proc: done outside the lock.
        active = active_tasks(tracked.reader.tasks())
        if active is None:
            return
        with self._lock:
            tracked.load = sample_load(tracked.load, active, now)

    def _make_room(self) -> None:
        while len(self._tracked) >= self.capacity:
            oldest = min(self._tracked, key=lambda k: self._tracked[k].read_at)
            del self._tracked[oldest]

    def __len__(self) -> int:
        return len(self._tracked)

    def run_sampler(self) -> threading.Thread:
        """Start the sampler thread (a daemon: it never holds the process up)."""

        def rounds() -> None:
            while not self._stop.wait(SAMPLE_INTERVAL):
                try:
                    self.sample_all()
                except Exception:  # a cgroup vanishing mid-walk must not end sampling
                    continue

        thread = threading.Thread(target=rounds, name="procshim-load", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
