"""``procshim check``: what the shim reads for a process and what it would serve.

For an operator (and the VM test) to see the readings without mounting
anything: the backend, the cgroup directories, the effective limits, and the
heads of the views that use them. The host texts are read from /proc as it is
here: where the shim is already bound over them, the views are applied twice
(harmless: each is a minimum).
"""

import dataclasses
import json
import sys
from typing import Any

from procshim.cgroup import CgroupReader, read_all
from procshim.cgroup.detect import detect_in
from procshim.cgroup.hybrid import HybridReader
from procshim.cgroup.mounts import Location
from procshim.cgroup.readings import Readings
from procshim.cgroup.v1 import V1Reader
from procshim.cgroup.v2 import V2Reader
from procshim.files import Files
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.render.cpus import visible_cpus
from procshim.snapshot import Snapshots
from procshim.targets import CALLER, Targets
from procshim.views import VIEWS

SHOWN = ("/proc/meminfo", "/proc/cpuinfo", "/sys/devices/system/cpu/online")
_MIB = 1024 * 1024


def check(pid: int, as_json: bool) -> int:
    files = Files()
    reader = detect_in(files, pid, mounts_of="self")
    readings = read_all(reader)
    if as_json:
        document = {
            "pid": pid,
            "version": reader.version.value,
            "cgroups": locations(reader),
            "readings": _jsonable(dataclasses.asdict(readings)),
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for line in summary(pid, reader, readings):
        print(line)
    snapshots = Snapshots(HostFiles(VIEWS), Targets(files, CALLER, pid), LoadTracker())
    for path in SHOWN:
        data = snapshots.bytes_for(path, pid)
        if data is None:
            continue
        text = data.decode(errors="replace")
        lines = text.splitlines()
        if path == "/proc/cpuinfo":
            lines = [ln for ln in lines if ln.startswith("processor")]
        print(f"--- {path} as pid {pid} would read it")
        print("\n".join(lines[:6]))
    return 0


def locations(reader: CgroupReader) -> dict[str, str]:
    found: dict[str, Location] = {}
    if isinstance(reader, HybridReader):
        found = {**{"unified": reader.v2.where}, **reader.v1.locations}
    elif isinstance(reader, V1Reader):
        found = dict(reader.locations)
    elif isinstance(reader, V2Reader):
        found = {"unified": reader.where}
    return {name: str(where.directory) for name, where in found.items()}


def summary(pid: int, reader: CgroupReader, readings: Readings) -> list[str]:
    memory, cpu, tasks = readings.memory, readings.cpu, readings.tasks
    lines = [f"pid {pid}: cgroup {reader.version.value}"]
    lines += [f"  {name:<8} {path}" for name, path in locations(reader).items()]
    lines.append(f"memory limit: {_bytes(memory.limit)}, usage {_bytes(memory.usage)}")
    lines.append(f"swap limit: {_bytes(memory.swap_limit)}, usage {_bytes(memory.swap_usage)}")
    if cpu.quota is None:
        lines.append("cpu quota: none")
    else:
        quota = cpu.quota
        lines.append(
            f"cpu quota: {quota.quota_us} / {quota.period_us} us = {quota.cpus:g} CPUs"
            f" ({quota.whole_cpus} shown)"
        )
    cpuset = "none" if cpu.cpuset is None else ",".join(map(str, cpu.cpuset))
    lines.append(f"cpuset: {cpuset}")
    host = cpu.cpuset or ()
    if host or cpu.quota is not None:
        shown = len(visible_cpus(cpu, host)) if host else cpu.quota.whole_cpus  # type: ignore[union-attr]
        lines.append(f"visible CPUs: {shown}")
    lines.append(
        f"tasks: {tasks.total} ({tasks.running} running, {tasks.blocked} blocked),"
        f" pids {tasks.pids_current} of {tasks.pids_max}"
    )
    return lines


def _bytes(value: int | None) -> str:
    if value is None:
        return "none"
    return f"{value} ({value / _MIB:.0f} MiB)"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
