"""What a cgroup says, as frozen data. ``None`` always means "not known".

Sizes are bytes, CPU times nanoseconds, CPU ids the host's numbering. A limit
of ``None`` is "no limit or unknown": renderers treat both as "use the host's
value", which is what a process outside any limit would see.
"""

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar


class CgroupVersion(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    # v1 controllers plus a cgroup2 mount (usually with no controllers) for the
    # unified tree, as systemd's "hybrid" mode and this project's CI hosts.
    HYBRID = "hybrid"
    NONE = "none"


@dataclass(frozen=True)
class MemoryStat:
    """memory.stat by meaning; each backend maps its own key names here."""

    anon: int | None = None
    file: int | None = None
    shmem: int | None = None
    file_mapped: int | None = None
    file_dirty: int | None = None
    file_writeback: int | None = None
    anon_thp: int | None = None
    active_anon: int | None = None
    inactive_anon: int | None = None
    active_file: int | None = None
    inactive_file: int | None = None
    unevictable: int | None = None
    slab_reclaimable: int | None = None
    slab_unreclaimable: int | None = None
    swapcached: int | None = None
    kernel_stack: int | None = None
    pagetables: int | None = None


@dataclass(frozen=True)
class MemoryReadings:
    limit: int | None = None  # min over the cgroup and its ancestors
    usage: int | None = None  # includes page cache, as the kernel charges it
    swap_limit: int | None = None  # swap alone (v1: memsw limit minus memory limit)
    swap_usage: int | None = None
    stat: MemoryStat = field(default_factory=MemoryStat)


@dataclass(frozen=True)
class CpuQuota:
    quota_us: int
    period_us: int

    @property
    def cpus(self) -> float:
        return self.quota_us / self.period_us

    @property
    def whole_cpus(self) -> int:
        """CPUs a program may keep busy: 0.5 CPU still needs one CPU to run on."""
        return max(1, math.ceil(self.cpus))


@dataclass(frozen=True)
class CpuTimes:
    user_ns: int = 0
    system_ns: int = 0

    @property
    def total_ns(self) -> int:
        return self.user_ns + self.system_ns


@dataclass(frozen=True)
class CpuReadings:
    quota: CpuQuota | None = None  # the tightest over the cgroup and its ancestors
    cpuset: tuple[int, ...] | None = None  # host CPU ids allowed, ascending
    usage: CpuTimes | None = None  # the whole cgroup since it was made
    # Host CPU id -> time spent there (v1 cpuacct only; v2 has no per-CPU usage).
    per_cpu: Mapping[int, CpuTimes] | None = None


@dataclass(frozen=True)
class DeviceIo:
    rbytes: int = 0
    wbytes: int = 0
    rios: int = 0
    wios: int = 0
    dbytes: int = 0
    dios: int = 0


@dataclass(frozen=True)
class IoReadings:
    # (major, minor) -> counters; {} = accounted and no I/O yet; None = unknown.
    devices: Mapping[tuple[int, int], DeviceIo] | None = None


@dataclass(frozen=True)
class TaskReadings:
    total: int | None = None  # threads in the cgroup and its descendants
    running: int | None = None  # of those, state R
    blocked: int | None = None  # of those, state D (counts in the load average)
    pids_current: int | None = None
    pids_max: int | None = None


@dataclass(frozen=True)
class PressureReadings:
    """The cgroup's own PSI files (cgroup2 only), text as the kernel wrote it."""

    cpu: str | None = None
    memory: str | None = None
    io: str | None = None


@dataclass(frozen=True)
class Readings:
    memory: MemoryReadings = field(default_factory=MemoryReadings)
    cpu: CpuReadings = field(default_factory=CpuReadings)
    io: IoReadings = field(default_factory=IoReadings)
    tasks: TaskReadings = field(default_factory=TaskReadings)
    pressure: PressureReadings = field(default_factory=PressureReadings)


_D = TypeVar("_D", MemoryReadings, CpuReadings, IoReadings, TaskReadings, PressureReadings)


def prefer(first: _D, second: _D) -> _D:
    """``first``, with each field it does not know taken from ``second``."""
    missing = {
        f.name: getattr(second, f.name)
        for f in dataclasses.fields(first)
        if getattr(first, f.name) is None
    }
    return dataclasses.replace(first, **missing)
