"""/sys/devices/system/cpu/{online,possible,present}: "0-N" for the visible CPUs (pure)."""

from procshim.cgroup import parse
from procshim.cgroup.readings import CpuReadings
from procshim.render._lines import encode
from procshim.render.cpus import is_limited, visible_cpus


def render_cpu_online(host_text: str, cpu: CpuReadings) -> bytes:
    host = parse.parse_cpu_list(host_text)
    if host is None or not is_limited(cpu):
        return encode(host_text)
    count = len(visible_cpus(cpu, host))
    return encode("0\n" if count == 1 else f"0-{count - 1}\n")
