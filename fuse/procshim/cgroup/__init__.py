"""What the cgroup says: ``detect()`` once, then read afresh through one ``CgroupReader``.

Modules: ``readings`` (frozen data), ``parse`` (pure text parsers),
``mounts`` (finding a process's cgroup directories, pure), ``base`` (the
interface and shared walks), ``v1``/``v2``/``hybrid`` (backends), ``tasks``
(thread states from /proc), ``detect`` (the choice).
"""

from procshim.cgroup.base import CgroupReader, NoCgroup, read_all
from procshim.cgroup.detect import detect, detect_in
from procshim.cgroup.readings import (
    CgroupVersion,
    CpuQuota,
    CpuReadings,
    CpuTimes,
    DeviceIo,
    IoReadings,
    MemoryReadings,
    MemoryStat,
    PressureReadings,
    Readings,
    TaskReadings,
)
from procshim.cgroup.tasks import process_start_ticks

__all__ = [
    "CgroupReader",
    "CgroupVersion",
    "CpuQuota",
    "CpuReadings",
    "CpuTimes",
    "DeviceIo",
    "IoReadings",
    "MemoryReadings",
    "MemoryStat",
    "NoCgroup",
    "PressureReadings",
    "Readings",
    "TaskReadings",
    "detect",
    "detect_in",
    "process_start_ticks",
    "read_all",
]
