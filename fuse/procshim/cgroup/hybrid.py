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

    def memory(self) -> MemoryReadings:
        return self.v1.memory() if "memory" in self.v1.locations else self.v2.memory()

    def cpu(self) -> CpuReadings:
        return prefer(self.v1.cpu(), self.v2.cpu())

    def io(self) -> IoReadings:
        return self.v1.io() if "blkio" in self.v1.locations else self.v2.io()

    def tasks(self) -> TaskReadings:
        return prefer(self.v1.tasks(), self.v2.tasks())

    def pressure(self) -> PressureReadings:
        return self.v2.pressure()
