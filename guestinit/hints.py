"""Runtime hints: environment variables that tell runtimes the cgroup's limits
where neither they nor the FUSE shim can see them (pure).

The shim fixes readers of /proc and /sys. Two sources it cannot reach:
``sysinfo()`` (the JVM's physical memory with -XX:-UseContainerSupport,
busybox ``free``) and ``sched_getaffinity()`` (nproc, Go, .NET, Rust, libuv,
``os.process_cpu_count()``): the kernel answers those directly, and a CPU
*quota* never shows in an affinity mask. So for each runtime we set the knob it
offers, with the value it would compute itself had it seen the limit; where it
has no rule of its own we leave headroom, as said per variable below.

Inputs (``Limits``): the effective memory limit, the CPU quota as CPUs
(quota/period, the tightest over the ancestors), the cpuset's size, the
affinity mask's size and the host's RAM. A quota only counts when it is below
the CPUs the process may run on: a cpuset alone needs no hint, the kernel
already applies it to the affinity mask everyone reads. A memory limit only
counts below the host's RAM (v1 accepts limits far above it). No limit in a
dimension: no hint for it.

CPU rounding, ``N`` the CPUs the process may run on (min of cpuset, affinity):

- JAVA_TOOL_OPTIONS -XX:ActiveProcessorCount: ceil(quota), at least 1, at most
  N. What JDK 10+ (and 8u191+) computes from a quota itself, so the JVM behaves
  the same with container support on or off.
- GOMAXPROCS: max(2, ceil(quota)), at most N. Go 1.25's own rule for cgroup
  quotas (runtime/cgroup_linux.go): a fractional quota still allows bursts, and
  two Ps keep the GC's background worker from stalling the program. Go < 1.25
  reads only the affinity mask; setting it also turns off 1.25's automatic
  updates when the limit changes, which a fixed container limit does not need.
- DOTNET_PROCESSOR_COUNT: ceil(quota), at least 1, at most N (decimal): what
  .NET's Environment.ProcessorCount does when it finds the quota.
- PYTHON_CPU_COUNT (read by Python 3.13+, overrides os.cpu_count() and
  os.process_cpu_count()): ceil(quota), at least 1, at most N, like the JVM:
  thread pools sized from it mostly wait, not compute.
- OMP_NUM_THREADS, OPENBLAS_NUM_THREADS: floor(quota), at least 1, at most N.
  An OpenMP team meets at barriers and spins while it waits; with ceil(quota)
  threads on a quota below that, the team exhausts each period's budget and a
  throttled member holds the others at the next barrier. floor keeps the team
  inside the quota.
- MALLOC_ARENA_MAX: 8 x ceil(quota) (2 x on 32-bit), at most 8 x N: glibc's own
  default (8 arenas per core on 64-bit) with the cgroup's CPUs instead of the
  host's, so a 0.5-CPU container on a 64-core host keeps 8 arenas, not 512.
  Memory-bound programs often go lower (2-4); that trade of speed for RSS is
  the user's to make.
- UV_THREADPOOL_SIZE: never set. libuv's pool is a fixed 4 threads, not derived
  from the CPU count, so there is nothing to correct; its work (file system,
  getaddrinfo, zlib, crypto) mostly blocks on I/O, where fewer threads cost
  latency and a blocked thread uses no quota.

Memory, ``L`` the limit in bytes:

- JAVA_TOOL_OPTIONS -XX:MaxRAM=L: the JVM then sizes its heap from L exactly as
  container support would (MaxRAMPercentage, default 25%, of it).
- GOMEMLIMIT: 90% of L in MiB. Go never reads a memory limit; the soft limit
  must leave room for what the GC does not count (stacks, cgo, the page cache
  the cgroup charges) or the kernel kills before the GC works harder.
- NODE_OPTIONS --max-old-space-size: 75% of L in MiB (Node's own advice: 1536
  on a 2 GiB machine). The old space is most of V8's heap; the rest is new
  space, code and Buffers outside the heap.
- DOTNET_GCHeapHardLimit: max(20 MiB, 75% of L), hexadecimal (.NET reads its
  GC variables as hex): .NET's own default when it finds a container limit.

A value the user set (present and not empty) always wins. For the two option
lists, JAVA_TOOL_OPTIONS and NODE_OPTIONS, only the flags the user did not give
are appended; flags on the command line still win over both (each runtime
parses them after its variable).
"""

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MiB = 1 << 20
_ARENAS_PER_CORE = 8 if sys.maxsize > 2**32 else 2
# quota/period of whole CPUs divides exactly, but keep ceil(2.0000000001) at 2.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Limits:
    """What bounds one process, as read from its cgroup and the kernel.
    ``None`` is "no limit" or "not known"."""

    memory: int | None = None  # bytes, the tightest over the cgroup's ancestors
    cpu_quota: float | None = None  # quota / period, in CPUs
    cpuset: int | None = None  # CPUs in the cgroup's cpuset
    affinity: int | None = None  # CPUs in the process's affinity mask
    host_memory: int | None = None  # the machine's RAM as sysinfo() reports it

    @property
    def runnable_cpus(self) -> int | None:
        """The CPUs the process may run on, as far as we know."""
        known = [n for n in (self.cpuset, self.affinity) if n is not None and n > 0]
        return min(known) if known else None

    @property
    def binding_quota(self) -> float | None:
        """The quota when it is tighter than the CPUs themselves, else None."""
        quota, runnable = self.cpu_quota, self.runnable_cpus
        if quota is None or quota <= 0:
            return None
        if runnable is not None and quota >= runnable:
            return None
        return quota

    @property
    def binding_memory(self) -> int | None:
        """The memory limit when it is below the host's RAM, else None."""
        limit, host = self.memory, self.host_memory
        if limit is None or limit <= 0:
            return None
        if host is not None and limit >= host:
            return None
        return limit


# ---- rounding -----------------------------------------------------------------------
def ceil_cpus(quota: float, runnable: int | None) -> int:
    """CPUs a program may keep busy at once: 0.5 CPU still needs one to run on."""
    return _at_most(max(1, math.ceil(quota - _EPSILON)), runnable)


def floor_cpus(quota: float, runnable: int | None) -> int:
    """Workers that each want a whole CPU and must fit inside the quota."""
    return _at_most(max(1, math.floor(quota + _EPSILON)), runnable)


def go_procs(quota: float, runnable: int | None) -> int:
    """Go 1.25's cgroup rule: ceil, at least 2, never above the affinity count."""
    return _at_most(max(2, math.ceil(quota - _EPSILON)), runnable)


def _at_most(value: int, runnable: int | None) -> int:
    return value if runnable is None else min(value, runnable)


def mib(limit: int, fraction: float) -> int:
    """``fraction`` of ``limit`` bytes, in whole MiB (at least 1)."""
    return max(1, int(limit * fraction) // MiB)


# ---- what each runtime gets -------------------------------------------------------------
def cpu_values(quota: float, runnable: int | None) -> dict[str, str]:
    return {
        "GOMAXPROCS": str(go_procs(quota, runnable)),
        "OMP_NUM_THREADS": str(floor_cpus(quota, runnable)),
        "OPENBLAS_NUM_THREADS": str(floor_cpus(quota, runnable)),
        "DOTNET_PROCESSOR_COUNT": str(ceil_cpus(quota, runnable)),
        "PYTHON_CPU_COUNT": str(ceil_cpus(quota, runnable)),
        "MALLOC_ARENA_MAX": str(_ARENAS_PER_CORE * ceil_cpus(quota, runnable)),
    }


def memory_values(limit: int) -> dict[str, str]:
    return {
        "GOMEMLIMIT": f"{mib(limit, 0.90)}MiB",
        "DOTNET_GCHeapHardLimit": f"0x{max(20 * MiB, int(limit * 0.75)):X}",
    }


def java_flags(limits: Limits) -> list[str]:
    flags = []
    if (quota := limits.binding_quota) is not None:
        flags.append(f"-XX:ActiveProcessorCount={ceil_cpus(quota, limits.runnable_cpus)}")
    if (memory := limits.binding_memory) is not None:
        flags.append(f"-XX:MaxRAM={memory}")
    return flags


def node_flags(limits: Limits) -> list[str]:
    memory = limits.binding_memory
    return [] if memory is None else [f"--max-old-space-size={mib(memory, 0.75)}"]


# ---- merging with the user's environment --------------------------------------------------
def hints(limits: Limits, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables to add to ``environ`` (names -> full new values)."""
    wanted: dict[str, str] = {}
    if (quota := limits.binding_quota) is not None:
        wanted.update(cpu_values(quota, limits.runnable_cpus))
    if (memory := limits.binding_memory) is not None:
        wanted.update(memory_values(memory))
    added = {name: value for name, value in wanted.items() if not environ.get(name)}
    java = _append_missing(environ.get("JAVA_TOOL_OPTIONS", ""), java_flags(limits), _java_key)
    node = _append_missing(environ.get("NODE_OPTIONS", ""), node_flags(limits), _node_key)
    if java is not None:
        added["JAVA_TOOL_OPTIONS"] = java
    if node is not None:
        added["NODE_OPTIONS"] = node
    return added


def _java_key(word: str) -> str:
    """``-XX:MaxRAM=1g`` -> ``-XX:MaxRAM`` (so MaxRAMPercentage stays apart)."""
    return word.partition("=")[0]


def _node_key(word: str) -> str:
    """Node takes ``--max_old_space_size`` for ``--max-old-space-size``."""
    return word.partition("=")[0].replace("_", "-")


def _append_missing(current: str, flags: list[str], key: Callable[[str], str]) -> str | None:
    """``current`` with each flag whose option it lacks appended; None when
    nothing is added."""
    present = {key(word) for word in current.split()}
    missing = [flag for flag in flags if key(flag) not in present]
    if not missing:
        return None
    return " ".join([current.strip(), *missing]) if current.strip() else " ".join(missing)


# ---- output ---------------------------------------------------------------------------
def shell_quote(value: str) -> str:
    """Single quotes, with each ``'`` closed, escaped and reopened."""
    return "'" + value.replace("'", "'\\''") + "'"


def export_lines(values: Mapping[str, str]) -> str:
    """``export NAME='value'`` lines for ``eval "$(guestinit hints)"``."""
    return "".join(f"export {name}={shell_quote(value)}\n" for name, value in values.items())
