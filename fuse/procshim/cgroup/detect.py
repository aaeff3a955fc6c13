"""Choose the backend once, from /proc/PID/cgroup and /proc/PID/mountinfo."""

from pathlib import Path

from procshim.cgroup import mounts
from procshim.cgroup.base import CgroupReader, NoCgroup
from procshim.cgroup.hybrid import HybridReader
from procshim.cgroup.mounts import Location
from procshim.cgroup.v1 import V1Reader
from procshim.cgroup.v2 import V2Reader
from procshim.files import Files, FileSource

# The v1 controllers whose files the readers use.
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "blkio")


def detect(root: Path = Path("/"), pid: int | str = "self") -> CgroupReader:
    """The reader for ``pid``'s cgroups; use ``pid=1`` for a container's own.

    Everything is read below ``root`` (a fixture tree in tests).
    """
    return detect_in(Files(root), pid)


def detect_in(
    files: FileSource, pid: int | str = "self", mounts_of: int | str | None = None
) -> CgroupReader:
    """``pid``'s reader; the cgroup mounts are those ``mounts_of`` sees (default
    ``pid`` itself). A server reading for other processes passes "self": it
    reaches their cgroup directories through its own mounts, and the kernel
    writes their /proc/PID/cgroup relative to the server's cgroup namespace."""
    return reader_for(
        files,
        files.read(f"/proc/{pid}/cgroup") or "",
        files.read(f"/proc/{pid if mounts_of is None else mounts_of}/mountinfo") or "",
    )


def reader_for(files: FileSource, cgroup_text: str, mountinfo_text: str) -> CgroupReader:
    """The reader for the memberships in ``cgroup_text`` (a /proc/PID/cgroup)."""
    memberships = mounts.parse_proc_cgroup(cgroup_text)
    all_mounts = mounts.parse_mountinfo(mountinfo_text)
    v1: dict[str, Location] = {}
    v2: Location | None = None
    for member in memberships:
        if member.hierarchy == 0 and not member.controllers:
            v2 = mounts.locate(member.path, mounts.v2_mounts(all_mounts))
            continue
        for controller in member.controllers:
            if controller in V1_CONTROLLERS:
                found = mounts.locate(member.path, mounts.v1_mounts(all_mounts, controller))
                if found is not None:
                    v1[controller] = found
    if v1 and v2 is not None:
        return HybridReader(V1Reader(files, v1), V2Reader(files, v2))
    if v1:
        return V1Reader(files, v1)
    if v2 is not None:
        return V2Reader(files, v2)
    return NoCgroup()
