"""Where a process's cgroups are: /proc/PID/cgroup + /proc/PID/mountinfo (pure).

Both files show cgroup paths relative to the *reader's* cgroup namespace
root, and mountinfo's 4th field is the mounted cgroup's own path in that
numbering. So a cgroup is found below the mount whose root is the longest
prefix of its path: with a cgroup namespace both are usually "/" (the
container's own mount), without one a runtime's bind mount shows the
container's path as root. A root of "/.." (mounted above our namespace) or
one below our cgroup does not show our cgroup: that hierarchy stays unknown.
"""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Membership:
    """One line of /proc/PID/cgroup: "4:memory:/docker/abc" or "0::/a/b"."""

    hierarchy: int
    controllers: tuple[str, ...]  # empty for cgroup2, ("name=systemd",) for named ones
    path: str


@dataclass(frozen=True)
class Mount:
    mount_point: str
    root: str
    fstype: str  # "cgroup" or "cgroup2"
    super_options: tuple[str, ...]


@dataclass(frozen=True)
class Location:
    """A cgroup directory, as a mount point plus the path below it."""

    mount_point: PurePosixPath
    below: tuple[str, ...]

    @property
    def directory(self) -> PurePosixPath:
        return self.mount_point.joinpath(*self.below)

    def lineage(self) -> list[PurePosixPath]:
        """The cgroup, then each ancestor visible through the mount, up to its root."""
        return [self.mount_point.joinpath(*self.below[:n]) for n in range(len(self.below), -1, -1)]

    # The same as plain strings, made once: readers join file names to them on
    # every FUSE open, where pathlib's joins cost more than the reads.
    @functools.cached_property
    def path(self) -> str:
        return str(self.directory)

    @functools.cached_property
    def paths(self) -> tuple[str, ...]:
        """``lineage()`` as strings."""
        return tuple(str(d) for d in self.lineage())


def parse_proc_cgroup(text: str) -> list[Membership]:
    memberships: list[Membership] = []
    for line in text.splitlines():
        hierarchy, sep1, rest = line.partition(":")
        controllers, sep2, path = rest.partition(":")
        if not (sep1 and sep2 and hierarchy.isdigit() and path.startswith("/")):
            continue
        # A removed cgroup still shows for a process that was in it.
        path = path.removesuffix(" (deleted)")
        names = tuple(c for c in controllers.split(",") if c)
        memberships.append(Membership(int(hierarchy), names, path))
    return memberships


_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \040 \011 \012 \134.
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup and cgroup2 mounts, in mount order."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        fields = line.split()
        # "36 35 98:0 /root /mnt opts [optional...] - fstype source superopts"
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 4 or fields[dash + 1] not in ("cgroup", "cgroup2"):
            continue
        mounts.append(
            Mount(
                mount_point=_unescape(fields[4]),
                root=_unescape(fields[3]),
                fstype=fields[dash + 1],
                super_options=tuple(fields[dash + 3].split(",")),
            )
        )
    return mounts


def locate(path: str, mounts: Iterable[Mount]) -> Location | None:
    """The directory of cgroup ``path`` through the best of ``mounts`` (one hierarchy's)."""
    best: tuple[int, Location] | None = None
    for mount in mounts:
        root = mount.root.rstrip("/") or "/"
        if root == "/.." or root.startswith("/../"):
            continue
        if root == "/":
            below = path
        elif path == root or path.startswith(root + "/"):
            below = path[len(root) :]
        else:
            continue
        parts = tuple(p for p in below.split("/") if p)
        if any(p in (".", "..") for p in parts):
            continue
        if best is None or len(root) > best[0]:
            best = (len(root), Location(PurePosixPath(mount.mount_point), parts))
    return best[1] if best else None


def v1_mounts(mounts: Iterable[Mount], controller: str) -> list[Mount]:
    return [m for m in mounts if m.fstype == "cgroup" and controller in m.super_options]


def v2_mounts(mounts: Iterable[Mount]) -> list[Mount]:
    return [m for m in mounts if m.fstype == "cgroup2"]
