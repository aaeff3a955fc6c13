"""/proc/loadavg from the cgroup's own tasks (pure).

The kernel keeps exponentially decaying averages of the number of runnable
plus uninterruptible tasks, sampled every 5 seconds:
``load = load * e + n * (1 - e)`` with ``e = exp(-5 s / 1, 5, 15 min)``.
``sample_load`` applies the same decay for whatever time passed since the
previous sample, so a late or early sampler (the FUSE side's timer) stays
right. State in, state out; the caller owns the timer.
"""

import math
from dataclasses import dataclass

from procshim.cgroup.readings import TaskReadings
from procshim.render._lines import encode

SAMPLE_INTERVAL = 5.0  # seconds, as the kernel's LOAD_FREQ
_WINDOWS = (60.0, 300.0, 900.0)


@dataclass(frozen=True)
class LoadAverage:
    one: float = 0.0
    five: float = 0.0
    fifteen: float = 0.0
    at: float | None = None  # monotonic time of the last sample


def sample_load(state: LoadAverage, active: int, now: float) -> LoadAverage:
    """Fold in ``active`` (running + uninterruptible tasks) seen at ``now`` (monotonic seconds)."""
    if state.at is None:
        # A new container starts from 0 like a booting kernel; this sample counts from here.
        return LoadAverage(state.one, state.five, state.fifteen, now)
    elapsed = now - state.at
    if elapsed <= 0:
        return state
    one, five, fifteen = (
        old * math.exp(-elapsed / window) + active * (1.0 - math.exp(-elapsed / window))
        for old, window in zip((state.one, state.five, state.fifteen), _WINDOWS, strict=True)
    )
    return LoadAverage(one, five, fifteen, now)


def active_tasks(tasks: TaskReadings) -> int | None:
    if tasks.running is None:
        return None
    return tasks.running + (tasks.blocked or 0)


def render_loadavg(host_text: str, load: LoadAverage | None, tasks: TaskReadings) -> bytes:
    """Lines like "0.50 0.30 0.10 1/42 12345"; the last field (latest PID) is the host's."""
    parts = host_text.split()
    if load is None or tasks.running is None or tasks.total is None or len(parts) < 5:
        return encode(host_text)
    running = max(1, tasks.running)  # the reader itself is running
    total = max(running, tasks.total)
    return encode(
        f"{load.one:.2f} {load.five:.2f} {load.fifteen:.2f} {running}/{total} {parts[4]}\n"
    )
