"""Hybrid: v1 controllers, plus a cgroup2 mount for the unified tree.

Each reading comes from the v1 controller when it is mounted, else from the
cgroup2 side (where a controller may be enabled when v1 does not bind it).
PSI files exist only on the cgroup2 side.
"""

from procshim.cgroup.readings import (
    CgroupVersion,
    CpuReadings,
    IoReadings,
    MemoryReadings,
    PressureReadings,
    TaskReadings,
    prefer,
)
from procshim.cgroup.v1 import V1Reader
from procshim.cgroup.v2 import V2Reader


class HybridReader:
    version = CgroupVersion.HYBRID

    def __init__(self, v1: V1Reader, v2: V2Reader) -> None:
        self.v1 = v1
        self.v2 = v2
        # The unified side only adds what v1 lacks: with every CPU controller
        # (or pids) bound in v1, asking it costs reads on every open and adds
        # nothing (cpu.stat's usage exists there even without controllers).
        self._v2_cpu = not {"cpu", "cpuacct", "cpuset"} <= v1.locations.keys()
        self._v2_pids = "pids" not in v1.locations

    def memory(self) -> MemoryReadings:
        return self.v1.memory() if "memory" in self.v1.locations else self.v2.memory()

    def cpu(self) -> CpuReadings:
        return prefer(self.v1.cpu(), self.v2.cpu()) if self._v2_cpu else self.v1.cpu()

    def cpu_limits(self) -> CpuReadings:
        if self._v2_cpu:
            return prefer(self.v1.cpu_limits(), self.v2.cpu_limits())
        return self.v1.cpu_limits()

    def io(self) -> IoReadings:
        return self.v1.io() if "blkio" in self.v1.locations else self.v2.io()

    def tasks(self) -> TaskReadings:
        return prefer(self.v1.tasks(), self.v2.tasks()) if self._v2_pids else self.v1.tasks()

    def pressure(self) -> PressureReadings:
        return self.v2.pressure()
