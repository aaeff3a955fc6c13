"""A real cgroup v1 group for tests: made below the test's own cgroup in each
controller (so the machine's accounting still covers it), removed afterwards.

Used by the resource-shim tests that need real limits: memory 512M, a 0.5-CPU
quota and a one-CPU cpuset, as issue #5's tests ask.
"""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids")


def own_path(controller: str) -> str:
    """Our cgroup path in a v1 ``controller`` hierarchy, from /proc/self/cgroup."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return "/"


def v1_available() -> bool:
    return all((ROOT / c / "cgroup.procs").exists() for c in ("memory", "cpu", "cpuset"))


class V1Group:
    def __init__(self, name: str) -> None:
        self.dirs = {c: ROOT / c / own_path(c).lstrip("/") / name for c in CONTROLLERS}

    def create(self, memory: int | None, quota_us: int | None, cpus: str | None) -> None:
        for controller, directory in self.dirs.items():
            directory.mkdir()
            if controller == "cpuset":
                parent = directory.parent
                (directory / "cpuset.mems").write_text((parent / "cpuset.mems").read_text())
                (directory / "cpuset.cpus").write_text(cpus or (parent / "cpuset.cpus").read_text())
        if memory is not None:
            (self.dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory))
        if quota_us is not None:
            (self.dirs["cpu"] / "cpu.cfs_period_us").write_text("100000")
            (self.dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(quota_us))

    def enter_script(self) -> str:
        """Shell lines that move the running shell (and what it execs) in."""
        return "\n".join(f"echo 0 > '{d}/cgroup.procs'" for d in self.dirs.values())

    def remove(self) -> None:
        """Remove the groups once empty (processes may take a moment to go)."""
        for directory in self.dirs.values():
            for _ in range(100):
                if not directory.exists():
                    break
                with contextlib.suppress(OSError):
                    for child in sorted(directory.glob("*/"), reverse=True):
                        if child.is_dir():
                            child.rmdir()
                    directory.rmdir()
                    break
                time.sleep(0.05)


@contextlib.contextmanager
def v1_group(
    memory: int | None = 512 * 2**20, quota_us: int | None = 50_000, cpus: str | None = "0"
) -> Iterator[V1Group]:
    group = V1Group(f"guestinit-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        group.create(memory, quota_us, cpus)
        yield group
    finally:
        group.remove()
