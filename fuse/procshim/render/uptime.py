"""/proc/uptime since the container's init started (pure).

The second number is idle time summed over CPUs: the visible CPUs' time
since the start, less the cgroup's busy time; never negative.
"""

from collections.abc import Sequence

from procshim.cgroup.readings import CpuReadings
from procshim.render._lines import encode
from procshim.render.cpus import visible_cpus


def parse_uptime(text: str | None) -> float | None:
    try:
        return float((text or "").split()[0])
    except (IndexError, ValueError):
        return None


def render_uptime(
    host_text: str, cpu: CpuReadings, started: float | None, host_cpus: Sequence[int]
) -> bytes:
    """``started``: seconds after host boot when the container's init started
    (its /proc/PID/stat start time / CLK_TCK). ``host_cpus``: the host's CPU ids."""
    host_uptime = parse_uptime(host_text)
    if host_uptime is None or started is None or cpu.usage is None:
        return encode(host_text)
    uptime = max(0.0, host_uptime - started)
    cpus = len(visible_cpus(cpu, host_cpus)) if host_cpus else 1
    idle = max(0.0, uptime * cpus - cpu.usage.total_ns / 1e9)
    return encode(f"{uptime:.2f} {idle:.2f}\n")
