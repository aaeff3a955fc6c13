"""Virtual path -> renderer: what the FUSE layer serves and from what (pure).

The FUSE layer reads the host's real file (before the bind mount hides it,
or through a private /proc), takes one ``Readings`` snapshot and calls
``render(path, host_text, context)`` at open(); it serves every read of that
handle from the returned bytes.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from procshim.cgroup.readings import Readings
from procshim.paths import PATHS
from procshim.render.cpu_online import render_cpu_online
from procshim.render.cpuinfo import render_cpuinfo
from procshim.render.diskstats import render_diskstats
from procshim.render.loadavg import LoadAverage, render_loadavg
from procshim.render.meminfo import render_meminfo
from procshim.render.pressure import render_pressure
from procshim.render.stat import render_stat
from procshim.render.swaps import render_swaps
from procshim.render.uptime import render_uptime


@dataclass(frozen=True)
class Context:
    readings: Readings = field(default_factory=Readings)
    host_cpus: tuple[int, ...] = ()  # the host's online CPU ids
    started: float | None = None  # seconds after host boot when the container's init started
    host_uptime: float | None = None  # seconds since host boot, now
    load: LoadAverage | None = None  # the FUSE side's sampler keeps this up to date

    @property
    def uptime(self) -> float | None:
        """Seconds since the container started."""
        if self.started is None or self.host_uptime is None:
            return None
        return max(0.0, self.host_uptime - self.started)


View = Callable[[str, Context], bytes]


def _meminfo(host: str, ctx: Context) -> bytes:
    return render_meminfo(host, ctx.readings.memory)


def _cpuinfo(host: str, ctx: Context) -> bytes:
    return render_cpuinfo(host, ctx.readings.cpu)


def _stat(host: str, ctx: Context) -> bytes:
    return render_stat(host, ctx.readings.cpu, ctx.readings.tasks, ctx.uptime)


def _uptime(host: str, ctx: Context) -> bytes:
    return render_uptime(host, ctx.readings.cpu, ctx.started, ctx.host_cpus)


def _loadavg(host: str, ctx: Context) -> bytes:
    return render_loadavg(host, ctx.load, ctx.readings.tasks)


def _swaps(host: str, ctx: Context) -> bytes:
    return render_swaps(host, ctx.readings.memory)


def _diskstats(host: str, ctx: Context) -> bytes:
    return render_diskstats(host, ctx.readings.io)


def _cpu_online(host: str, ctx: Context) -> bytes:
    return render_cpu_online(host, ctx.readings.cpu)


def _pressure_cpu(host: str, ctx: Context) -> bytes:
    return render_pressure(host, ctx.readings.pressure.cpu)


def _pressure_memory(host: str, ctx: Context) -> bytes:
    return render_pressure(host, ctx.readings.pressure.memory)


def _pressure_io(host: str, ctx: Context) -> bytes:
    return render_pressure(host, ctx.readings.pressure.io)


VIEWS: Mapping[str, View] = MappingProxyType(
    {
        "/proc/meminfo": _meminfo,
        "/proc/cpuinfo": _cpuinfo,
        "/proc/stat": _stat,
        "/proc/uptime": _uptime,
        "/proc/loadavg": _loadavg,
        "/proc/swaps": _swaps,
        "/proc/diskstats": _diskstats,
        "/proc/pressure/cpu": _pressure_cpu,
        "/proc/pressure/memory": _pressure_memory,
        "/proc/pressure/io": _pressure_io,
        "/sys/devices/system/cpu/online": _cpu_online,
        "/sys/devices/system/cpu/possible": _cpu_online,
        "/sys/devices/system/cpu/present": _cpu_online,
    }
)


def render(path: str, host_text: str, context: Context) -> bytes:
    """The virtual file's bytes; the host text itself for a path we do not serve.

    Renderers do not raise on any input we know of; should one still fail,
    the reader gets the host's file rather than an I/O error.
    """
    view = VIEWS.get(path)
    if view is None:
        return host_text.encode("utf-8", errors="surrogateescape")
    try:
        return view(host_text, context)
    except Exception:  # a renderer bug must not become EIO for `free` or `top`
        return host_text.encode("utf-8", errors="surrogateescape")


assert set(VIEWS) == set(PATHS), "paths.PATHS lists every view"
