"""cgroup v2: one unified hierarchy; a controller's files exist where it is enabled.

cpu.stat has no per-CPU breakdown: ``CpuReadings.per_cpu`` stays None and
the renderers spread the total over the visible CPUs (render/cpus.py).
"""

from collections.abc import Mapping

from procshim.cgroup import parse
from procshim.cgroup.base import first_cpuset, smallest, tightest_quota
from procshim.cgroup.mounts import Location
from procshim.cgroup.readings import (
    CgroupVersion,
    CpuReadings,
    CpuTimes,
    IoReadings,
    MemoryReadings,
    MemoryStat,
    PressureReadings,
    TaskReadings,
)
from procshim.cgroup.tasks import subtree_ids, task_states
from procshim.files import FileSource

# memory.stat keys are the field names themselves in v2 (exact-key lookup:
# "file" is not "file_mapped", "anon" is not "anon_thp").
_STAT_FIELDS = tuple(MemoryStat.__dataclass_fields__)


class V2Reader:
    version = CgroupVersion.V2

    def __init__(self, files: FileSource, where: Location) -> None:
        self.files = files
        self.where = where

    def _read(self, name: str) -> str | None:
        return self.files.read(f"{self.where.path}/{name}")

    def memory(self) -> MemoryReadings:
        # memory.high throttles but never OOM-kills: memory.max is the limit.
        # The root cgroup has neither memory.max nor memory.current.
        return MemoryReadings(
            limit=smallest(self.files, self.where, "memory.max", parse.parse_max),
            usage=parse.parse_int(self._read("memory.current")),
            swap_limit=smallest(self.files, self.where, "memory.swap.max", parse.parse_max),
            swap_usage=parse.parse_int(self._read("memory.swap.current")),
            stat=_memory_stat(parse.parse_flat_keyed(self._read("memory.stat"))),
        )

    def cpu(self) -> CpuReadings:
        limits = self.cpu_limits()
        usage = _usage(parse.parse_flat_keyed(self._read("cpu.stat")))
        return CpuReadings(quota=limits.quota, cpuset=limits.cpuset, usage=usage)

    def cpu_limits(self) -> CpuReadings:
        read = self.files.read
        quota = tightest_quota(self.where, lambda d: parse.parse_cpu_max(read(f"{d}/cpu.max")))
        # cpuset.cpus.effective exists only where the cpuset controller is
        # enabled; a parent's applies below it. It already honours ancestors.
        cpuset = first_cpuset(self.files, self.where, ("cpuset.cpus.effective",))
        return CpuReadings(quota=quota, cpuset=cpuset)

    def io(self) -> IoReadings:
        # io.stat counts this cgroup and its descendants; an empty file is
        # "no I/O yet", which is known.
        return IoReadings(parse.parse_io_stat(self._read("io.stat")))

    def tasks(self) -> TaskReadings:
        ids = subtree_ids(self.files, self.where.path, "cgroup.threads")
        if not ids:
            ids = subtree_ids(self.files, self.where.path, "cgroup.procs")
        states = task_states(self.files, ids)
        listed = self._read("cgroup.threads") is not None or self._read("cgroup.procs") is not None
        return TaskReadings(
            total=states.total if listed else None,
            running=states.running if listed else None,
            blocked=states.blocked if listed else None,
            pids_current=parse.parse_int(self._read("pids.current")),
            pids_max=smallest(self.files, self.where, "pids.max", parse.parse_max),
        )

    def pressure(self) -> PressureReadings:
        return PressureReadings(
            cpu=self._read("cpu.pressure"),
            memory=self._read("memory.pressure"),
            io=self._read("io.pressure"),
        )


def _usage(stat: Mapping[str, int]) -> CpuTimes | None:
    """usage_usec split by the user/system ratio (their sum can differ slightly from it)."""
    usage = stat.get("usage_usec")
    if usage is None:
        return None
    user, system = stat.get("user_usec", 0), stat.get("system_usec", 0)
    user_share = user / (user + system) if user + system else 1.0
    user_ns = round(usage * 1000 * user_share)
    return CpuTimes(user_ns, usage * 1000 - user_ns)


def _memory_stat(stat: Mapping[str, int]) -> MemoryStat:
    return MemoryStat(**{name: stat.get(name) for name in _STAT_FIELDS})
