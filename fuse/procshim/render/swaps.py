"""/proc/swaps for a container with a swap limit (pure).

With a limit, one line named "none" shows the limit (capped by the host's
swap) and the cgroup's swap usage; a limit of 0, or a host without swap,
leaves only the header. Without a limit the host's swap is the container's
too: the host text passes through.
"""

from procshim.cgroup.readings import MemoryReadings
from procshim.render._lines import encode

_KB = 1024


def render_swaps(host_text: str, memory: MemoryReadings) -> bytes:
    lines = host_text.splitlines(keepends=True)
    if memory.swap_limit is None or not lines or not lines[0].startswith("Filename"):
        return encode(host_text)
    host_total = 0
    for line in lines[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[2].isdigit():
            host_total += int(fields[2])
    size = min(memory.swap_limit // _KB, host_total)
    if size <= 0:
        return encode(lines[0])
    used = min((memory.swap_usage or 0) // _KB, size)
    return encode(lines[0] + _swap_line("none", "partition", size, used, -2))


def _swap_line(name: str, kind: str, size_kb: int, used_kb: int, priority: int) -> str:
    # The kernel's layout: name padded to 40 columns, tabs between, an extra
    # tab after numbers below 10000000 so the columns stay aligned.
    size_pad = "\t" if size_kb < 10_000_000 else ""
    used_pad = "\t" if used_kb < 10_000_000 else ""
    return f"{name:<40}{kind}\t{size_kb}\t{size_pad}{used_kb}\t{used_pad}{priority}\n"
