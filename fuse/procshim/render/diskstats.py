"""/proc/diskstats with the cgroup's own I/O counts (pure).

For each device line of the host text: reads, sectors read, writes, sectors
written (and discards, on kernels that print them) from the cgroup's
counters; merges, times and in-flight counts are not kept per cgroup and
show 0. A device the cgroup has no counters for shows all zeros: it did no
I/O there. Devices only the cgroup lists (not in the host text) are not
invented. Without cgroup counters the host text passes through.
"""

from procshim.cgroup.readings import DeviceIo, IoReadings
from procshim.render._lines import encode

_SECTOR = 512


def render_diskstats(host_text: str, io: IoReadings) -> bytes:
    if io.devices is None:
        return encode(host_text)
    out: list[str] = []
    for line in host_text.splitlines(keepends=True):
        fields = line.split()
        if len(fields) < 14 or not (fields[0].isdigit() and fields[1].isdigit()):
            out.append(line)
            continue
        major, minor = int(fields[0]), int(fields[1])
        counts = _counters(io.devices.get((major, minor), DeviceIo()), len(fields) - 3)
        out.append(f"{major:4d} {minor:7d} {fields[2]} " + " ".join(map(str, counts)) + "\n")
    return encode("".join(out))


def _counters(dev: DeviceIo, width: int) -> list[int]:
    # Field order (Documentation/admin-guide/iostats.rst): reads, merged,
    # sectors, ms; writes, merged, sectors, ms; in flight, io ms, weighted
    # ms; discards, merged, sectors, ms (4.18+); flushes, ms (5.5+).
    values = [dev.rios, 0, dev.rbytes // _SECTOR, 0, dev.wios, 0, dev.wbytes // _SECTOR, 0, 0, 0, 0]
    values += [dev.dios, 0, dev.dbytes // _SECTOR, 0, 0, 0]
    return (values + [0] * width)[:width]
