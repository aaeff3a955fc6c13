"""Every file procshim serves, in one tuple that imports nothing: PID 1 needs
the list before it forks (static.py), and views.VIEWS asserts it is the same set."""

PATHS = (
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/swaps",
    "/proc/diskstats",
    "/proc/pressure/cpu",
    "/proc/pressure/memory",
    "/proc/pressure/io",
    "/sys/devices/system/cpu/online",
    "/sys/devices/system/cpu/possible",
    "/sys/devices/system/cpu/present",
)
