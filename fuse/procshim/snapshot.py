"""One virtual file's bytes for one reader: host text + that reader's cgroup -> views.

Each view reads only the cgroup data it needs (``NEEDS``): an open of
/proc/meminfo reads memory files, never walks the tasks of the cgroup.
"""

import os
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from procshim.cgroup import (
    CgroupReader,
    CpuReadings,
    IoReadings,
    MemoryReadings,
    PressureReadings,
    Readings,
    TaskReadings,
)
from procshim.cgroup import parse as cgroup_parse
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.targets import Bounded, Target, Targets
from procshim.views import VIEWS, Context, render

MEMORY, CPU, IO, TASKS, PRESSURE = "memory", "cpu", "io", "tasks", "pressure"
CPU_LIMITS = "cpu_limits"  # quota and cpuset, without usage: Readings.cpu too
UPTIME, LOAD, HOST_CPUS = "uptime", "load", "host_cpus"

NEEDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "/proc/meminfo": frozenset({MEMORY}),
        "/proc/cpuinfo": frozenset({CPU_LIMITS}),
        "/proc/stat": frozenset({CPU, TASKS, UPTIME}),
        "/proc/uptime": frozenset({CPU, UPTIME, HOST_CPUS}),
        "/proc/loadavg": frozenset({TASKS, LOAD}),
        "/proc/swaps": frozenset({MEMORY}),
        "/proc/diskstats": frozenset({IO}),
        "/proc/pressure/cpu": frozenset({PRESSURE}),
        "/proc/pressure/memory": frozenset({PRESSURE}),
        "/proc/pressure/io": frozenset({PRESSURE}),
        "/sys/devices/system/cpu/online": frozenset({CPU_LIMITS}),
        "/sys/devices/system/cpu/possible": frozenset({CPU_LIMITS}),
        "/sys/devices/system/cpu/present": frozenset({CPU_LIMITS}),
    }
)
assert set(NEEDS) == set(VIEWS), "every view says what it needs"

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# What a view does not need stays unknown: shared, immutable, made once.
_NO_MEMORY, _NO_CPU, _NO_IO = MemoryReadings(), CpuReadings(), IoReadings()
_NO_TASKS, _NO_PRESSURE = TaskReadings(), PressureReadings()


def _boot_time_now() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class Snapshots:
    def __init__(
        self,
        host: HostFiles,
        targets: Targets,
        loads: LoadTracker,
        uptime_clock: Callable[[], float] = _boot_time_now,
    ) -> None:
        self.host = host
        self.targets = targets
        self.loads = loads
        self.tasks = RecentTasks()
        self._uptime_clock = uptime_clock

    def paths(self) -> list[str]:
        """The virtual files served: the views whose host file exists here."""
        return [p for p in self.host.paths() if p in VIEWS]

    def bytes_for(self, path: str, caller_pid: int) -> bytes | None:
        """The file as ``caller_pid`` sees it now; None for a path we do not serve."""
        host_text = self.host.read(path)
        if host_text is None:
            return None
        target = self.targets.for_caller(caller_pid)
        return render(path, host_text, self.context(path, target))

    def context(self, path: str, target: Target) -> Context:
        needs = NEEDS.get(path, frozenset())
        reader = target.reader
        cpu = _NO_CPU
        if CPU in needs:
            cpu = reader.cpu()
        elif CPU_LIMITS in needs:
            cpu = reader.cpu_limits()
        readings = Readings(
            reader.memory() if MEMORY in needs else _NO_MEMORY,
            cpu,
            reader.io() if IO in needs else _NO_IO,
            self.tasks.get(target.key, reader) if TASKS in needs else _NO_TASKS,
            reader.pressure() if PRESSURE in needs else _NO_PRESSURE,
        )
        started = host_uptime = None
        if UPTIME in needs:
            ticks = self.targets.started_ticks(target)
            started = None if ticks is None else ticks / _CLOCK_TICKS
            host_uptime = self._uptime_clock()
        host_cpus: tuple[int, ...] = ()
        if HOST_CPUS in needs:
            host_cpus = cgroup_parse.parse_cpu_list(
                self.host.read("/sys/devices/system/cpu/online")
            ) or tuple(range(os.cpu_count() or 1))
        load = self.loads.current(target.key, reader) if LOAD in needs else None
        return Context(readings, host_cpus, started, host_uptime, load)


class RecentTasks:
    """Task counts per cgroup, reused for ``fresh_for`` seconds.

    Counting walks the cgroup's task lists and reads /proc/TID/stat of every
    thread: for a busy container that is milliseconds, too much for each open
    of /proc/stat (procs_running) and /proc/loadavg (running/total). The
    kernel's own load average moves in 5-second steps; a count a second old
    tells the same.
    """

    def __init__(self, fresh_for: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_for = fresh_for
        self._clock = clock
        self._counts: Bounded[str, tuple[float, TaskReadings]] = Bounded(512)

    def get(self, key: str, reader: CgroupReader) -> TaskReadings:
        now = self._clock()
        cached = self._counts.get(key)
        if cached is not None and now - cached[0] < self.fresh_for:
            return cached[1]
        counted = reader.tasks()
        self._counts.put(key, (now, counted))
        return counted
