"""Which CPUs a container sees, and how its CPU time spreads over them (pure).

Visible CPUs: the cpuset's CPUs that the host has, in order, cut to the
quota rounded up (0.5 CPU -> 1, 1.5 CPU -> 2). Renumbered from 0 in every
file, so cpuinfo, stat and /sys/devices/system/cpu/online agree.

Spreading usage (``busy_ticks``): v1's cpuacct tells how long the cgroup ran
on each host CPU, so visible CPU k shows host CPU ``visible[k]``'s time;
time spent on allowed CPUs that are not shown (cut by the quota, or left
after a cpuset change) is added evenly to the visible ones. cgroup v2's
cpu.stat has only the total: it is split evenly over the visible CPUs. That
is the one honest statement v2 allows: the sums are exact (to a tick), and
no CPU's share is invented from the host's per-CPU pattern, which belongs
to other cgroups too.
"""

from collections.abc import Sequence

from procshim.cgroup.readings import CpuReadings, CpuTimes

USER_HZ = 100  # /proc/stat and /proc/uptime units on every Linux architecture we run on
_NS_PER_TICK = 1_000_000_000 // USER_HZ


def visible_cpus(cpu: CpuReadings, host: Sequence[int]) -> tuple[int, ...]:
    """Host ids of the CPUs shown, in order; ``host`` lists the host's CPU ids."""
    allowed = [c for c in host if cpu.cpuset is None or c in cpu.cpuset]
    if not allowed:
        # A cpuset naming CPUs the host text lacks: trust the host.
        allowed = list(host)
    if cpu.quota is not None:
        allowed = allowed[: cpu.quota.whole_cpus]
    return tuple(allowed)


def is_limited(cpu: CpuReadings) -> bool:
    return cpu.cpuset is not None or cpu.quota is not None


def busy_ticks(cpu: CpuReadings, visible: Sequence[int]) -> list[tuple[int, int]] | None:
    """(user, system) USER_HZ ticks for each visible CPU, or None without usage data."""
    if not visible or (cpu.usage is None and cpu.per_cpu is None):
        return None
    shown: list[CpuTimes] = []
    spare = CpuTimes()
    if cpu.per_cpu is not None:
        shown = [cpu.per_cpu.get(host_id, CpuTimes()) for host_id in visible]
        hidden = [t for c, t in cpu.per_cpu.items() if c not in visible]
        spare = CpuTimes(sum(t.user_ns for t in hidden), sum(t.system_ns for t in hidden))
    else:
        assert cpu.usage is not None
        shown = [CpuTimes()] * len(visible)
        spare = cpu.usage
    user_extra = _even(spare.user_ns // _NS_PER_TICK, len(visible))
    system_extra = _even(spare.system_ns // _NS_PER_TICK, len(visible))
    return [
        (t.user_ns // _NS_PER_TICK + u, t.system_ns // _NS_PER_TICK + s)
        for t, u, s in zip(shown, user_extra, system_extra, strict=True)
    ]


def _even(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` integers differing by at most one, summing exactly."""
    share, left = divmod(total, parts)
    return [share + (1 if i < left else 0) for i in range(parts)]
