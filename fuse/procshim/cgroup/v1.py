"""cgroup v1: one hierarchy per controller (memory, cpu, cpuacct, cpuset, pids, blkio).

Each controller may be mounted alone or co-mounted ("cpu,cpuacct"); the
reader gets one ``Location`` per controller and returns None for the fields
of any controller it was not given.
"""

from collections.abc import Mapping

from procshim.cgroup import parse
from procshim.cgroup.base import first_cpuset, smallest, tightest_quota
from procshim.cgroup.mounts import Location
from procshim.cgroup.readings import (
    CgroupVersion,
    CpuQuota,
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

# memory.stat keys, v1 names: the total_* ones include descendant cgroups, as
# memory.usage_in_bytes does. Looked up by exact key ("total_rss", never
# "total_rss_huge").
_STAT_KEYS = {
    "anon": "rss",
    "file": "cache",
    "shmem": "shmem",
    "file_mapped": "mapped_file",
    "file_dirty": "dirty",
    "file_writeback": "writeback",
    "anon_thp": "rss_huge",
    "active_anon": "active_anon",
    "inactive_anon": "inactive_anon",
    "active_file": "active_file",
    "inactive_file": "inactive_file",
    "unevictable": "unevictable",
    "swapcached": "swapcached",
}

# Per-cgroup blkio counters, best first. blk-throttle only counts I/O of
# cgroups that have a throttle rule on recent kernels (seen on 6.18: "Total 0"
# without one); the bfq files count when the bfq scheduler runs the disk.
_BLKIO_FILES = (
    ("blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"),
    ("blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"),
    ("blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"),
    ("blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"),
)

# The hierarchy whose task lists we count, best first (any would do).
_TASK_CONTROLLERS = ("pids", "cpu", "cpuacct", "memory", "cpuset", "blkio")


class V1Reader:
    version = CgroupVersion.V1

    def __init__(self, files: FileSource, locations: Mapping[str, Location]) -> None:
        self.files = files
        self.locations = dict(locations)

    def memory(self) -> MemoryReadings:
        where = self.locations.get("memory")
        if where is None:
            return MemoryReadings()
        read = self.files.read
        stat = parse.parse_flat_keyed(read(f"{where.path}/memory.stat"))
        limit = self._limit(where, stat, "memory.limit_in_bytes", "hierarchical_memory_limit")
        memsw = self._limit(where, stat, "memory.memsw.limit_in_bytes", "hierarchical_memsw_limit")
        usage = parse.parse_int(read(f"{where.path}/memory.usage_in_bytes"))
        memsw_usage = parse.parse_int(read(f"{where.path}/memory.memsw.usage_in_bytes"))
        # memsw is memory + swap; without swap accounting its files are absent.
        swap_limit = None if memsw is None else max(0, memsw - (limit or 0))
        swap_usage = None
        if usage is not None and memsw_usage is not None:
            swap_usage = max(0, memsw_usage - usage)
        return MemoryReadings(limit, usage, swap_limit, swap_usage, _memory_stat(stat))

    def _limit(self, where: Location, stat: Mapping[str, int], name: str, key: str) -> int | None:
        """hierarchical_*_limit is the kernel's own minimum over all ancestors,
        including those above a cgroup namespace that we cannot walk to. Only
        where memory.stat lacks it do we walk the ancestors we can see."""
        if key in stat:
            return parse.parse_v1_limit(str(stat[key]))
        return smallest(self.files, where, name, parse.parse_v1_limit)

    def cpu(self) -> CpuReadings:
        limits = self.cpu_limits()
        per_cpu = usage = None
        if (where := self.locations.get("cpuacct")) is not None:
            per_cpu = self._per_cpu(where)
            if per_cpu is not None:
                usage = CpuTimes(
                    sum(t.user_ns for t in per_cpu.values()),
                    sum(t.system_ns for t in per_cpu.values()),
                )
        return CpuReadings(limits.quota, limits.cpuset, usage, per_cpu)

    def cpu_limits(self) -> CpuReadings:
        quota = cpuset = None
        if (where := self.locations.get("cpu")) is not None:
            quota = tightest_quota(where, self._cfs)
        if (where := self.locations.get("cpuset")) is not None:
            # effective_cpus (Linux 4.7+) already applies the ancestors' sets.
            names = ("cpuset.effective_cpus", "cpuset.cpus")
            cpuset = first_cpuset(self.files, where, names)
        return CpuReadings(quota, cpuset)

    def _cfs(self, directory: str) -> CpuQuota | None:
        quota = self.files.read(f"{directory}/cpu.cfs_quota_us")
        if quota is None or quota.lstrip().startswith("-"):
            return None  # -1: no quota here, and no period worth reading (one read per open)
        return parse.parse_cfs(quota, self.files.read(f"{directory}/cpu.cfs_period_us"))

    def _per_cpu(self, where: Location) -> dict[int, CpuTimes] | None:
        directory = where.path
        read = self.files.read
        table = parse.parse_usage_all(read(f"{directory}/cpuacct.usage_all"))
        if table is not None:
            return table
        user = parse.parse_percpu(read(f"{directory}/cpuacct.usage_percpu_user"))
        system = parse.parse_percpu(read(f"{directory}/cpuacct.usage_percpu_sys"))
        if user is not None and system is not None and len(user) == len(system):
            return {
                cpu: CpuTimes(u, s) for cpu, (u, s) in enumerate(zip(user, system, strict=True))
            }
        # Before Linux 4.7: per-CPU totals, split by the cgroup-wide user/system
        # ratio of cpuacct.stat (in USER_HZ ticks; only the ratio matters here).
        totals = parse.parse_percpu(read(f"{directory}/cpuacct.usage_percpu"))
        if totals is None:
            return None
        ticks = parse.parse_flat_keyed(read(f"{directory}/cpuacct.stat"))
        user_ticks, system_ticks = ticks.get("user", 0), ticks.get("system", 0)
        share = user_ticks / (user_ticks + system_ticks) if user_ticks + system_ticks else 1.0
        return {
            cpu: CpuTimes(round(t * share), t - round(t * share)) for cpu, t in enumerate(totals)
        }

    def io(self) -> IoReadings:
        where = self.locations.get("blkio")
        if where is None:
            return IoReadings()
        for bytes_name, ios_name in _BLKIO_FILES:
            devices = parse.parse_blkio(
                self.files.read(f"{where.path}/{bytes_name}"),
                self.files.read(f"{where.path}/{ios_name}"),
            )
            # Only "Total 0" cannot tell "no I/O" from "not counted": keep looking.
            if devices:
                return IoReadings(devices)
        return IoReadings()

    def tasks(self) -> TaskReadings:
        pids_current = pids_max = None
        if (where := self.locations.get("pids")) is not None:
            pids_current = parse.parse_int(self.files.read(f"{where.path}/pids.current"))
            pids_max = smallest(self.files, where, "pids.max", parse.parse_max)
        for controller in _TASK_CONTROLLERS:
            if (where := self.locations.get(controller)) is not None:
                states = task_states(self.files, subtree_ids(self.files, where.path, "tasks"))
                return TaskReadings(
                    states.total, states.running, states.blocked, pids_current, pids_max
                )
        return TaskReadings(pids_current=pids_current, pids_max=pids_max)

    def pressure(self) -> PressureReadings:
        return PressureReadings()  # v1 has no per-cgroup PSI files


def _memory_stat(stat: Mapping[str, int]) -> MemoryStat:
    def value(key: str) -> int | None:
        total = stat.get("total_" + key)
        return total if total is not None else stat.get(key)

    return MemoryStat(**{field: value(key) for field, key in _STAT_KEYS.items()})
