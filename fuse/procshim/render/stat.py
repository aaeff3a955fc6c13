"""/proc/stat with the container's CPU time on its visible CPUs (pure).

Each visible CPU k becomes "cpuK" with the cgroup's user and system ticks
(render/cpus.py says how they are spread) and an idle time of "the
container's uptime minus busy" on that CPU, so busy + idle grows with the
wall clock as on a real machine and top's percentages come out right. nice,
iowait, irq, softirq, steal and guest are not per cgroup: 0. The "cpu" line
is the sum of the "cpuN" lines, by construction. procs_running and
procs_blocked come from the cgroup when known; every other line (intr,
ctxt, btime, processes, softirq) passes through.
"""

from procshim.cgroup.readings import CpuReadings, TaskReadings
from procshim.render._lines import cpu_line_id, encode
from procshim.render.cpus import USER_HZ, busy_ticks, visible_cpus

_IDLE = 3  # user nice system idle iowait irq softirq steal guest guest_nice


def render_stat(
    host_text: str, cpu: CpuReadings, tasks: TaskReadings, uptime: float | None
) -> bytes:
    """``uptime``: seconds since the container started (None: use each host CPU's idle)."""
    lines = host_text.splitlines(keepends=True)
    host_rows: dict[int, list[int]] = {}
    width = 10
    for line in lines:
        if not line.startswith("cpu"):
            continue  # the long "intr" line is never split: this runs on every open
        words = line.split()
        host_id = cpu_line_id(words[0])
        if host_id is not None:
            try:
                host_rows[host_id] = [int(w) for w in words[1:]]
            except ValueError:
                continue
            width = len(words) - 1
    visible = visible_cpus(cpu, sorted(host_rows)) if host_rows else ()
    busy = busy_ticks(cpu, visible)
    if busy is None or width <= _IDLE:
        return encode(host_text)
    rows = []
    for host_id, (user, system) in zip(visible, busy, strict=True):
        if uptime is not None:
            idle = max(0, int(uptime * USER_HZ) - user - system)
        else:
            idle = host_rows[host_id][_IDLE]
        row = [0] * width
        row[0], row[2], row[_IDLE] = user, system, idle
        rows.append(row)
    total = [sum(column) for column in zip(*rows, strict=True)]
    cpu_lines = ["cpu  " + " ".join(map(str, total)) + "\n"]
    cpu_lines += [f"cpu{k} " + " ".join(map(str, row)) + "\n" for k, row in enumerate(rows)]
    out: list[str] = []
    for line in lines:
        word = line.partition(" ")[0].rstrip("\n")
        if word == "cpu":
            out.extend(cpu_lines)
        elif word.startswith("cpu") and cpu_line_id(word) is not None:
            continue
        elif word == "procs_running" and tasks.running is not None:
            # Like the kernel's, never 0: the reader itself is running.
            out.append(f"procs_running {max(1, tasks.running)}\n")
        elif word == "procs_blocked" and tasks.blocked is not None:
            out.append(f"procs_blocked {tasks.blocked}\n")
        else:
            out.append(line)
    return encode("".join(out))
