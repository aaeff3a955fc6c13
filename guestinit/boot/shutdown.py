"""The end of a machine, after the loop has stopped the units and drained every
process: save the entropy seed, sync, unmount innermost first (what cannot be
unmounted is remounted read-only), and reboot(2) with the command asked for.

``unmount_plan`` is pure; ``finish`` executes it and never returns.
"""

import os
from dataclasses import dataclass

from guestinit import _log
from guestinit.boot import fstab
from guestinit.boot.power import REBOOT_COMMAND, Power

# File systems without a block device behind them: nothing to flush, and
# failing to unmount them (our own /dev/console is open) is harmless.
VIRTUAL = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs",
     "debugfs", "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl",
     "efivarfs", "binfmt_misc", "autofs", "ramfs", "rpc_pipefs", "nsfs"}
)  # fmt: skip


@dataclass(frozen=True)
class Unmount:
    target: str
    fstype: str

    @property
    def virtual(self) -> bool:
        return self.fstype in VIRTUAL or self.fstype.startswith("fuse")


def unmount_plan(mounts_text: str) -> list[Unmount]:
    """Every mount but /, newest first: a mount made later may sit inside an older
    one, never the other way round (/proc/self/mounts lists in mount order).
    Mounts hidden under a later mount on the same point come after it."""
    entries: list[Unmount] = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            entries.append(Unmount(fstab._unescape(fields[1]), fields[2]))
    return [entry for entry in reversed(entries) if entry.target != "/"]


def execute_unmounts(plan: list[Unmount], log: _log.Log) -> list[str]:
    """Unmount each; a real file system that stays busy is remounted read-only.
    Returns what is still writable (said in the log)."""
    from guestinit.boot import _libc

    writable: list[str] = []
    for entry in plan:
        try:
            _libc.umount(entry.target)
            log.debug(f"unmounted {entry.target}")
            continue
        except OSError as error:
            if entry.virtual:
                log.debug(f"{entry.target} stays mounted: {error.strerror}")
                continue
            log.warning(f"cannot unmount {entry.target}: {error.strerror}; remounting read-only")
        try:
            _libc.mount("", entry.target, "", _libc.MS_REMOUNT | _libc.MS_RDONLY)
        except OSError as error:
            log.error(f"{entry.target} stays writable: {error.strerror}")
            writable.append(entry.target)
    return writable


def remount_root_read_only(log: _log.Log) -> bool:
    from guestinit.boot import _libc

    try:
        _libc.mount("", "/", "", _libc.MS_REMOUNT | _libc.MS_RDONLY)
        return True
    except OSError as error:
        log.error(f"cannot remount / read-only: {error.strerror}")
        return False


def finish(power: Power, log: _log.Log) -> None:
    """Everything after the drain; reboot(2) does not return on success."""
    from guestinit.boot import _libc, system

    try:
        system.save_seed()
    except OSError as error:
        log.debug(f"entropy seed not saved: {error.strerror}")
    os.sync()
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as file:
            plan = unmount_plan(file.read())
    except OSError:
        plan = []
    execute_unmounts(plan, log)
    remount_root_read_only(log)
    os.sync()
    log.warning(f"{power.value}: file systems done, handing over to the kernel")
    _libc.reboot(REBOOT_COMMAND[power])
