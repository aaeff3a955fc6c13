"""The one interface every backend offers, and the walks they share."""

from collections.abc import Callable
from typing import Protocol

from procshim.cgroup import parse
from procshim.cgroup.mounts import Location
from procshim.cgroup.readings import (
    CgroupVersion,
    CpuQuota,
    CpuReadings,
    IoReadings,
    MemoryReadings,
    PressureReadings,
    Readings,
    TaskReadings,
)
from procshim.files import FileSource


class CgroupReader(Protocol):
    """Reads one process's cgroups afresh on each call; chosen once by ``detect()``."""

    @property
    def version(self) -> CgroupVersion: ...

    def memory(self) -> MemoryReadings: ...

    def cpu(self) -> CpuReadings: ...

    def cpu_limits(self) -> CpuReadings:
        """``cpu()`` without usage (quota and cpuset only): cheaper, for the
        files that show CPUs, not their time."""
        ...

    def io(self) -> IoReadings: ...

    def tasks(self) -> TaskReadings: ...

    def pressure(self) -> PressureReadings: ...


def read_all(reader: CgroupReader) -> Readings:
    return Readings(
        memory=reader.memory(),
        cpu=reader.cpu(),
        io=reader.io(),
        tasks=reader.tasks(),
        pressure=reader.pressure(),
    )


class NoCgroup:
    """No cgroup found (no /proc, no mounts): every reading unknown."""

    version = CgroupVersion.NONE

    def memory(self) -> MemoryReadings:
        return MemoryReadings()

    def cpu(self) -> CpuReadings:
        return CpuReadings()

    def cpu_limits(self) -> CpuReadings:
        return CpuReadings()

    def io(self) -> IoReadings:
        return IoReadings()

    def tasks(self) -> TaskReadings:
        return TaskReadings()

    def pressure(self) -> PressureReadings:
        return PressureReadings()


def smallest(
    files: FileSource,
    where: Location,
    name: str,
    parse_one: Callable[[str | None], int | None],
) -> int | None:
    """The tightest limit ``name`` over the cgroup and every ancestor we can see.

    A child's limit never loosens its parent's, so the effective one is the minimum.
    """
    values = [parse_one(files.read(f"{d}/{name}")) for d in where.paths]
    known = [v for v in values if v is not None]
    return min(known) if known else None


def tightest_quota(where: Location, read_one: Callable[[str], CpuQuota | None]) -> CpuQuota | None:
    quotas = [q for q in (read_one(d) for d in where.paths) if q is not None]
    return min(quotas, key=lambda q: q.cpus) if quotas else None


def first_cpuset(
    files: FileSource, where: Location, names: tuple[str, ...]
) -> tuple[int, ...] | None:
    """The nearest non-empty CPU list: an empty cpuset means "as my parent"."""
    for directory in where.paths:
        for name in names:
            cpus = parse.parse_cpu_list(files.read(f"{directory}/{name}"))
            if cpus is not None:
                return cpus
    return None
