"""/proc/meminfo from the memory cgroup (pure).

MemTotal is the limit, capped by the host's MemTotal (no limit: the host's).
MemFree is what the limit leaves above usage (page cache counts as used, as
in the kernel's own MemFree), MemAvailable adds back what reclaim could
free: the file LRU pages and reclaimable slab. Neither ever exceeds what the
host itself has free or available, nor drops below zero when usage runs
over the limit, and MemFree <= MemAvailable <= MemTotal always.
Lines we do not compute pass through as the host wrote them.
"""

import functools
from collections.abc import Callable

from procshim.cgroup.readings import MemoryReadings, MemoryStat
from procshim.render._lines import encode

_KB = 1024


def render_meminfo(host_text: str, memory: MemoryReadings) -> bytes:
    if memory.usage is None:
        return encode(host_text)
    host = _values(host_text)
    if "MemTotal" not in host:
        return encode(host_text)
    values = _container_values(host, memory)
    lines = host_text.split("\n")
    for index, key in _replaced_lines(lines, values):
        lines[index] = f"{_padded(key)}{values[key]:>8} kB"
    return encode("\n".join(lines))


def format_line(key: str, kb: int) -> str:
    """The kernel's layout: "Key:" padded to 16 columns, the number right-aligned in 8."""
    return f"{_padded(key)}{kb:>8} kB"


@functools.cache
def _padded(key: str) -> str:
    return f"{key + ':':<16}"


# (line count, computed keys) -> [(line index, key)] of the last host text.
# The kernel writes meminfo's lines in one fixed order, so walking all ~55 of
# them on every open (a third of the render) is needed only when the layout
# seen differs: each reuse still checks every line it replaces.
_layout: tuple[int, frozenset[str], list[tuple[int, str]]] = (-1, frozenset(), [])


def _replaced_lines(lines: list[str], values: dict[str, int]) -> list[tuple[int, str]]:
    global _layout
    count, keys, where = _layout
    same_shape = count == len(lines) and keys == values.keys()
    if same_shape and all(_replaceable(lines[index], key) for index, key in where):
        return where
    where = []
    for index, line in enumerate(lines):
        key = line.partition(":")[0]
        if key in values and _replaceable(line, key):
            where.append((index, key))
    _layout = (len(lines), frozenset(values), where)
    return where


def _replaceable(line: str, key: str) -> bool:
    return line.startswith(key + ":") and line.endswith(" kB")


# The only host lines the computation needs: the caps, the swap total, Mlocked.
_HOST_KEYS = ("MemTotal", "MemFree", "MemAvailable", "SwapTotal", "Mlocked")


def _values(text: str) -> dict[str, int]:
    """The host's _HOST_KEYS, found directly: a loop over all ~55 lines costs
    more than the rest of the render, and this runs on every open."""
    values: dict[str, int] = {}
    for key in _HOST_KEYS:
        start = 0 if text.startswith(key + ":") else text.find("\n" + key + ":") + 1
        if start or text.startswith(key + ":"):
            end = text.find("\n", start)
            number = text[start + len(key) + 1 : end if end >= 0 else None].split()[:1]
            if number and number[0].isdigit():
                values[key] = int(number[0])
    return values


def _container_values(host: dict[str, int], memory: MemoryReadings) -> dict[str, int]:
    """Every line we compute, in kB."""
    assert memory.usage is not None
    stat = memory.stat
    kb: Callable[[int | None], int] = lambda b: (b or 0) // _KB  # noqa: E731
    total = host["MemTotal"] if memory.limit is None else min(kb(memory.limit), host["MemTotal"])
    usage = kb(memory.usage)
    free = max(0, total - usage)
    if "MemFree" in host:
        free = min(free, host["MemFree"])
    available = min(total, max(0, total - usage) + kb(_reclaimable(stat)))
    if "MemAvailable" in host:
        available = min(available, host["MemAvailable"])
    available = max(available, free)
    slab = kb(stat.slab_reclaimable) + kb(stat.slab_unreclaimable)
    values = {
        "MemTotal": total,
        "MemFree": free,
        "MemAvailable": available,
        "Buffers": 0,  # cgroups do not tell buffers from page cache
        "Cached": kb(stat.file),
        "SwapCached": kb(stat.swapcached),
        "Active": kb(stat.active_anon) + kb(stat.active_file),
        "Inactive": kb(stat.inactive_anon) + kb(stat.inactive_file),
        "Active(anon)": kb(stat.active_anon),
        "Inactive(anon)": kb(stat.inactive_anon),
        "Active(file)": kb(stat.active_file),
        "Inactive(file)": kb(stat.inactive_file),
        "Unevictable": kb(stat.unevictable),
        # No cgroup counts mlocked pages apart; they are unevictable, so cap the host's.
        "Mlocked": min(host.get("Mlocked", 0), kb(stat.unevictable)),
        "Dirty": kb(stat.file_dirty),
        "Writeback": kb(stat.file_writeback),
        "AnonPages": kb(stat.anon),
        "Mapped": kb(stat.file_mapped),
        "Shmem": kb(stat.shmem),
        "KReclaimable": kb(stat.slab_reclaimable),
        "Slab": slab,
        "SReclaimable": kb(stat.slab_reclaimable),
        "SUnreclaim": kb(stat.slab_unreclaimable),
        "KernelStack": kb(stat.kernel_stack),
        "PageTables": kb(stat.pagetables),
        "AnonHugePages": kb(stat.anon_thp),
    }
    values.update(_swap(host, memory))
    return values


def _reclaimable(stat: MemoryStat) -> int:
    """Bytes reclaim could free: the file LRUs (or page cache less shmem), reclaimable slab."""
    if stat.active_file is not None or stat.inactive_file is not None:
        files = (stat.active_file or 0) + (stat.inactive_file or 0)
    else:
        files = max(0, (stat.file or 0) - (stat.shmem or 0))
    return files + (stat.slab_reclaimable or 0)


def _swap(host: dict[str, int], memory: MemoryReadings) -> dict[str, int]:
    """Swap lines only when a swap limit is known; otherwise the host's swap is ours too."""
    if memory.swap_limit is None or "SwapTotal" not in host:
        return {}
    total = min(memory.swap_limit // _KB, host["SwapTotal"])
    used = (memory.swap_usage or 0) // _KB
    return {"SwapTotal": total, "SwapFree": max(0, total - used)}
