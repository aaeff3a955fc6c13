"""The file systems a booting guest needs: the plan (pure) and its execution.

What the kernel and the initramfs left mounted is read from /proc/self/mounts
and only the rest is mounted, so the same step is right after our own
initramfs (root only), after initramfs-tools (/proc, /sys, /dev, /run moved
over) and in a test's mount namespace on a scratch root.
"""

import contextlib
import os
from dataclasses import dataclass

from guestinit.boot import fstab

NOSUID, NODEV, NOEXEC = 2, 4, 8


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    fstype: str
    flags: int = 0
    data: str = ""
    mode: int = 0o755  # of the target directory when it must be made
    nofail: bool = False
    why: str = ""  # where the mount came from, for messages


# In mount order: a parent before what goes inside it.
API_MOUNTS = (
    Mount("proc", "/proc", "proc", NOSUID | NODEV | NOEXEC, why="API"),
    Mount("sysfs", "/sys", "sysfs", NOSUID | NODEV | NOEXEC, why="API"),
    Mount("devtmpfs", "/dev", "devtmpfs", NOSUID, "mode=0755", why="API"),
    Mount("devpts", "/dev/pts", "devpts", NOSUID | NOEXEC, "gid=5,mode=620,ptmxmode=000",
          why="API"),
    Mount("tmpfs", "/dev/shm", "tmpfs", NOSUID | NODEV, "mode=1777", 0o1777, why="API"),
    Mount("tmpfs", "/run", "tmpfs", NOSUID | NODEV, "mode=0755", why="API"),
    Mount("tmpfs", "/tmp", "tmpfs", NOSUID | NODEV, "mode=1777", 0o1777, why="API"),
    Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", NOSUID | NODEV | NOEXEC, "nsdelegate",
          why="API"),
)  # fmt: skip
# Kernel-made links user space expects in /dev (systemd and udev make them too).
DEV_LINKS = (
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/core", "/proc/kcore"),
)


def mounted_targets(mounts_text: str) -> set[str]:
    """Mount points in /proc/self/mounts text (octal escapes decoded)."""
    targets: set[str] = set()
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            targets.add(fstab._unescape(fields[1]))
    return targets


def missing_api_mounts(mounted: set[str], entries: list[fstab.Entry]) -> list[Mount]:
    """The API file systems not mounted yet; fstab may take one over (a /tmp on disk)."""
    from_fstab = {entry.target for entry in entries if not entry.noauto}
    return [m for m in API_MOUNTS if m.target not in mounted and m.target not in from_fstab]


def root_remount(entries: list[fstab.Entry], root_read_only: bool) -> Mount | None:
    """The remount / needs: read-write unless fstab says ``ro`` (no root line: rw)."""
    entry = fstab.root_entry(entries)
    options = entry.options if entry is not None else ("rw",)
    flags, data = fstab.mount_flags(options)
    if root_read_only == bool(flags & 1) and not data:
        return None
    # MS_REMOUNT; the file system's own options (errors=remount-ro) come along.
    return Mount("", "/", "", flags | 32, data, why="fstab /")


def fstab_mounts(entries: list[fstab.Entry], mounted: set[str]) -> list[Mount]:
    """fstab's other entries to mount at boot, parents first (fstab order kept
    among siblings)."""
    wanted = [
        e for e in entries
        if e.target != "/" and not e.noauto and not e.is_swap and e.target not in mounted
    ]  # fmt: skip
    wanted.sort(key=lambda e: e.target.rstrip("/").count("/"))
    plan = []
    for entry in wanted:
        flags, data = fstab.mount_flags(entry.options)
        if entry.is_bind:
            flags |= 4096  # MS_BIND
        plan.append(
            Mount(entry.spec, entry.target, entry.fstype, flags, data, nofail=entry.nofail,
                  why=f"/etc/fstab:{entry.line}")
        )  # fmt: skip
    return plan


def resolve_source(spec: str, root: str = "") -> str | None:
    """UUID=/LABEL=/PARTUUID=/PARTLABEL= through /dev/disk links, else (UUID and
    LABEL of ext4/XFS) through the superblocks; None: not found. Anything else as
    it is."""
    links = (("UUID=", "by-uuid"), ("LABEL=", "by-label"), ("PARTUUID=", "by-partuuid"),
             ("PARTLABEL=", "by-partlabel"))  # fmt: skip
    for prefix, folder in links:
        if spec.startswith(prefix):
            link = f"{root}/dev/disk/{folder}/{spec[len(prefix) :]}"
            if os.path.exists(link):
                return os.path.realpath(link)
            from guestinit.boot import blockid

            return blockid.find(spec, f"{root}/sys/class/block", f"{root}/dev")
    return spec


class Mounter:
    """Executes a plan below ``root`` ("" for the real /) with mount(2)."""

    def __init__(self, root: str = "") -> None:
        self.root = root

    def mount(self, item: Mount) -> None:
        from guestinit.boot import _libc

        target = self.root + item.target if item.target != "/" else self.root or "/"
        if not item.flags & 32:
            os.makedirs(target, mode=item.mode, exist_ok=True)
        source = item.source
        if item.why.startswith("/etc/fstab"):
            resolved = resolve_source(item.source, self.root)
            if resolved is None:
                raise OSError(2, f"{item.source} not found (no /dev/disk link for it)")
            source = resolved
        _libc.mount(source, target, item.fstype, item.flags, item.data)

    def link_dev(self) -> None:
        for link, points_to in DEV_LINKS:
            with contextlib.suppress(FileExistsError):
                os.symlink(points_to, self.root + link)
