"""One cgroup per unit, where the hierarchy lets us make them (side effects).

Then a unit's processes are exactly its cgroup's members: a daemon that
double-forks and calls setsid cannot slip out of KillMode=control-group.
With cgroup v2 we use our own cgroup (in a container, the container's);
with v1 the ``pids`` hierarchy. Everything lives below one folder made for
this run (``guestinit-PID-RANDOM``) and is removed when units stop and at exit.
Where nothing can be made (a read-only /sys/fs/cgroup, as in most
unprivileged containers) guestinit says so once and tracks units by session
and descent instead (service.tracking).
"""

import contextlib
import os

from guestinit import _log

ROOT = "/sys/fs/cgroup"


class UnitCgroups:
    def __init__(self, base: str) -> None:
        self.base = base
        self._made: set[str] = set()

    @classmethod
    def detect(
        cls, log: _log.Log, root: str = ROOT, proc: str = "/proc/self/cgroup"
    ) -> "UnitCgroups | None":
        parent = _our_cgroup(root, proc)
        if parent is None:
            log.info("no cgroup hierarchy to make unit cgroups in: tracking units by session")
            return None
        base = os.path.join(parent, f"guestinit-{os.getpid()}-{os.urandom(3).hex()}")
        try:
            os.mkdir(base)
        except OSError as error:
            log.info(
                f"cannot make unit cgroups in {parent} ({error.strerror}): "
                "tracking units by session"
            )
            return None
        _delegate_controllers(base)
        return cls(base)

    def path(self, unit: str) -> str:
        return os.path.join(self.base, unit.replace("/", "-"))

    def create(self, unit: str) -> str | None:
        """The unit's cgroup folder, made if needed; None if it cannot be."""
        path = self.path(unit)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            return None
        self._made.add(path)
        return path

    def members(self, unit: str) -> set[int]:
        try:
            with open(os.path.join(self.path(unit), "cgroup.procs")) as procs:
                return {int(line) for line in procs if line.strip()}
        except (OSError, ValueError):
            return set()

    def unit_of(self, pid: int, proc: str = "/proc") -> str | None:
        """The unit folder ``pid`` is in (a unit's name with "/" as "-"), if any."""
        marker = f"/{os.path.basename(self.base)}/"
        try:
            with open(f"{proc}/{pid}/cgroup") as lines:
                for line in lines:
                    path = line.rstrip("\n").split(":", 2)[-1]
                    if marker in path:
                        return (path.split(marker, 1)[1] + "/").split("/", 1)[0] or None
        except OSError:
            return None
        return None

    def remove(self, unit: str) -> None:
        """Gone when empty (rmdir fails with EBUSY while processes remain)."""
        path = self.path(unit)
        with contextlib.suppress(OSError):
            os.rmdir(path)
            self._made.discard(path)

    def close(self) -> None:
        for path in list(self._made):
            with contextlib.suppress(OSError):
                os.rmdir(path)
        with contextlib.suppress(OSError):
            os.rmdir(self.base)


def _delegate_controllers(base: str) -> None:
    """v2: pass every controller ``base`` has on to the unit cgroups below it, so
    memory.max and cpu.max files exist there. Best effort: a parent that does
    not pass them to ``base`` (most containers) leaves nothing to pass."""
    try:
        with open(os.path.join(base, "cgroup.controllers")) as file:
            controllers = file.read().split()
    except OSError:
        return  # v1's pids hierarchy
    for name in controllers:
        with (
            contextlib.suppress(OSError),
            open(os.path.join(base, "cgroup.subtree_control"), "w") as control,
        ):
            control.write(f"+{name}")


def _our_cgroup(root: str, proc: str) -> str | None:
    """The folder of our own cgroup: the unified one (v2), else v1's pids."""
    try:
        with open(proc) as lines:
            entries = [line.rstrip("\n").split(":", 2) for line in lines]
    except OSError:
        return None
    unified = os.path.join(root, "cgroup.controllers")
    for hierarchy, _controllers, path in entries:
        if hierarchy == "0" and os.path.exists(unified):
            return _writable(os.path.join(root, path.lstrip("/")))
    for _hierarchy, controllers, path in entries:
        if "pids" in controllers.split(","):
            return _writable(os.path.join(root, "pids", path.lstrip("/")))
    return None


def _writable(folder: str) -> str | None:
    return folder if os.path.isdir(folder) and os.access(folder, os.W_OK) else None
