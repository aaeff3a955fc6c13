"""Parsers of cgroup and /proc file text (pure). Bad input gives None or {}, never raises."""

from procshim.cgroup.readings import CpuQuota, CpuTimes, DeviceIo

# v1 memory limits are page counters shown in bytes: "unlimited" is LONG_MAX
# rounded down to a page, 9223372036854771712 with 4 KiB pages. Anything at or
# above the same rounding for 64 KiB pages (arm64, ppc64) means unlimited too.
V1_UNLIMITED = 9223372036854771712
_V1_UNLIMITED_FLOOR = (2**63 - 1) & ~0xFFFF


def parse_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_v1_limit(text: str | None) -> int | None:
    """memory.limit_in_bytes, memory.memsw.limit_in_bytes: None when unlimited."""
    value = parse_int(text)
    if value is None or value < 0 or value >= _V1_UNLIMITED_FLOOR:
        return None
    return value


def parse_max(text: str | None) -> int | None:
    """cgroup2 "max"-or-number files (memory.max, pids.max; v1 pids.max too)."""
    if text is None or text.strip() == "max":
        return None
    value = parse_int(text)
    return value if value is not None and value >= 0 else None


def parse_cpu_list(text: str | None) -> tuple[int, ...] | None:
    """Parse "0-3,5" to (0, 1, 2, 3, 5). Empty means "inherit" for cpusets: None."""
    if text is None or not text.strip():
        return None
    cpus: set[int] = set()
    try:
        for part in text.strip().split(","):
            first, _, last = part.partition("-")
            low, high = int(first), int(last or first)
            if low < 0 or high < low or high - low > 65536:
                return None
            cpus.update(range(low, high + 1))
    except ValueError:
        return None
    return tuple(sorted(cpus))


def format_cpu_list(cpus: tuple[int, ...] | list[int]) -> str:
    """(0, 1, 2, 5) -> "0-2,5", the kernel's own notation."""
    ranges: list[str] = []
    ordered = sorted(set(cpus))
    start = 0
    for i, cpu in enumerate(ordered):
        if i + 1 == len(ordered) or ordered[i + 1] != cpu + 1:
            low = ordered[start]
            ranges.append(str(low) if low == cpu else f"{low}-{cpu}")
            start = i + 1
    return ",".join(ranges)


def parse_flat_keyed(text: str | None) -> dict[str, int]:
    """Lines of "key value" (memory.stat, cpu.stat, cpuacct.stat), for exact-key lookups."""
    values: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                values[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return values


def parse_cpu_max(text: str | None) -> CpuQuota | None:
    """cgroup2 cpu.max: "max 100000" (no quota) or "50000 100000"."""
    parts = (text or "").split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    return _quota(parse_int(parts[0]), parse_int(parts[1]))


def parse_cfs(quota_text: str | None, period_text: str | None) -> CpuQuota | None:
    """v1 cpu.cfs_quota_us (-1: no quota) and cpu.cfs_period_us."""
    return _quota(parse_int(quota_text), parse_int(period_text))


def _quota(quota: int | None, period: int | None) -> CpuQuota | None:
    if quota is None or period is None or quota <= 0 or period <= 0:
        return None
    return CpuQuota(quota, period)


def parse_ids(text: str | None) -> list[int]:
    """cgroup.procs, cgroup.threads, tasks: one id a line."""
    ids: list[int] = []
    for line in (text or "").split():
        if line.isdigit():
            ids.append(int(line))
    return ids


def parse_percpu(text: str | None) -> list[int] | None:
    """cpuacct.usage_percpu*: nanoseconds for CPU 0, 1, ... on one line."""
    if text is None:
        return None
    try:
        return [int(v) for v in text.split()]
    except ValueError:
        return None


def parse_usage_all(text: str | None) -> dict[int, CpuTimes] | None:
    """cpuacct.usage_all (Linux 4.7+): a "cpu user system" header, then one row per CPU."""
    rows: dict[int, CpuTimes] = {}
    for line in (text or "").splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            rows[int(parts[0])] = CpuTimes(int(parts[1]), int(parts[2]))
    return rows or None


def parse_io_stat(text: str | None) -> dict[tuple[int, int], DeviceIo] | None:
    """cgroup2 io.stat: "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6" per device."""
    if text is None:
        return None
    devices: dict[tuple[int, int], DeviceIo] = {}
    for line in text.splitlines():
        parts = line.split()
        device = _device(parts[0]) if parts else None
        if device is None:
            continue
        fields: dict[str, int] = {}
        for item in parts[1:]:
            key, _, value = item.partition("=")
            if value.isdigit():
                fields[key] = int(value)
        known = {k: v for k, v in fields.items() if k in DeviceIo.__dataclass_fields__}
        devices[device] = DeviceIo(**known)
    return devices


def parse_blkio(
    bytes_text: str | None, ios_text: str | None
) -> dict[tuple[int, int], DeviceIo] | None:
    """v1 blkio.*io_service_bytes and *io_serviced: "8:0 Read 4096" lines and a "Total" line."""
    if bytes_text is None and ios_text is None:
        return None
    counts: dict[tuple[int, int], dict[str, int]] = {}
    names = {
        ("bytes", "Read"): "rbytes",
        ("bytes", "Write"): "wbytes",
        ("bytes", "Discard"): "dbytes",
        ("ios", "Read"): "rios",
        ("ios", "Write"): "wios",
        ("ios", "Discard"): "dios",
    }
    for kind, text in (("bytes", bytes_text), ("ios", ios_text)):
        for line in (text or "").splitlines():
            parts = line.split()
            device = _device(parts[0]) if len(parts) == 3 else None
            name = names.get((kind, parts[1])) if device is not None else None
            if device is None or name is None or not parts[2].isdigit():
                continue
            counts.setdefault(device, {})[name] = int(parts[2])
    return {device: DeviceIo(**fields) for device, fields in counts.items()}


def _device(text: str) -> tuple[int, int] | None:
    major, sep, minor = text.partition(":")
    if not sep or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)


def parse_task_state(stat_text: str | None) -> str | None:
    """The state letter of /proc/PID/stat (comm may hold spaces and ")": split after the last)."""
    if stat_text is None:
        return None
    rest = stat_text[stat_text.rfind(")") + 1 :].split()
    return rest[0] if rest else None


def parse_start_ticks(stat_text: str | None) -> int | None:
    """Field 22 of /proc/PID/stat: start time after boot, in clock ticks."""
    if stat_text is None:
        return None
    rest = stat_text[stat_text.rfind(")") + 1 :].split()
    # rest[0] is field 3 (state), so field 22 is rest[19].
    return parse_int(rest[19]) if len(rest) > 19 else None
