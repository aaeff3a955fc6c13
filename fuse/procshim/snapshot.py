"""One virtual file's bytes for one reader: host text + that reader's cgroup -> views.

Each view reads only the cgroup data it needs (``NEEDS``): an open of
/proc/meminfo reads memory files, never walks the tasks of the cgroup.
"""

import os
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from procshim.cgroup import Readings
from procshim.cgroup import parse as cgroup_parse
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.targets import Target, Targets
from procshim.views import VIEWS, Context, render

MEMORY, CPU, IO, TASKS, PRESSURE = "memory", "cpu", "io", "tasks", "pressure"
UPTIME, LOAD, HOST_CPUS = "uptime", "load", "host_cpus"

NEEDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "/proc/meminfo": frozenset({MEMORY}),
        "/proc/cpuinfo": frozenset({CPU}),
        "/proc/stat": frozenset({CPU, TASKS, UPTIME}),
        "/proc/uptime": frozenset({CPU, UPTIME, HOST_CPUS}),
        "/proc/loadavg": frozenset({TASKS, LOAD}),
        "/proc/swaps": frozenset({MEMORY}),
        "/proc/diskstats": frozenset({IO}),
        "/proc/pressure/cpu": frozenset({PRESSURE}),
        "/proc/pressure/memory": frozenset({PRESSURE}),
        "/proc/pressure/io": frozenset({PRESSURE}),
        "/sys/devices/system/cpu/online": frozenset({CPU}),
        "/sys/devices/system/cpu/possible": frozenset({CPU}),
        "/sys/devices/system/cpu/present": frozenset({CPU}),
    }
)
assert set(NEEDS) == set(VIEWS), "every view says what it needs"

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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
        readings = Readings(
            **{
                name: getattr(reader, name)()
                for name in (MEMORY, CPU, IO, TASKS, PRESSURE)
                if name in needs
            }
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
