"""Is this process the init of a machine (a VM guest), or of a container?

Only the first process of the kernel's initial PID namespace is a machine's
init: a container runtime always starts its PID 1 in a new namespace (and
``unshare --pid`` test runs do too), so that fact comes first and alone
decides "no". Container markers are asked as well, for a runtime that shares
the host's PID namespace and still runs us as PID 1 (none does today).

``verdict`` is pure; ``probe`` reads the facts from the running system.
"""

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# The kernel's initial PID namespace has a fixed inode (PROC_PID_INIT_INO, 3.8+).
INITIAL_PID_NAMESPACE = "pid:[4026531836]"
MARKER_FILES = ("/run/.containerenv", "/.dockerenv", "/run/systemd/container")
# Path parts of /proc/1/cgroup that only container managers create.
CGROUP_HINTS = ("docker", "kubepods", "libpod", "lxc", "containerd", "crio", "machine.slice")


class Facts:
    """What ``verdict`` decides from. A plain class: every container's PID 1 runs
    this, and ``dataclasses`` costs ~19 ms of start-up (see guestinit.config)."""

    __slots__ = ("container_env", "init_cgroup", "init_environ", "markers", "pid", "pid_namespace")

    def __init__(
        self,
        pid: int,
        pid_namespace: str | None,  # readlink /proc/self/ns/pid (None: unreadable)
        markers: tuple[str, ...] = (),  # marker files that exist
        container_env: str = "",  # container= in our environment
        init_environ: bytes = b"",  # /proc/1/environ
        init_cgroup: str = "",  # /proc/1/cgroup
    ) -> None:
        self.pid = pid
        self.pid_namespace = pid_namespace
        self.markers = markers
        self.container_env = container_env
        self.init_environ = init_environ
        self.init_cgroup = init_cgroup


def verdict(facts: Facts, forced: bool = False) -> str | None:
    """None when we are a machine's init; otherwise why not (said in logs).
    ``forced`` (--vm) ignores the container markers, never the namespace."""
    if facts.pid != 1:
        return "not PID 1"
    if facts.pid_namespace is None:
        return "cannot read /proc/self/ns/pid"
    if facts.pid_namespace != INITIAL_PID_NAMESPACE:
        return f"PID 1 of a PID namespace ({facts.pid_namespace}), not of the machine"
    if forced:
        return None
    if facts.markers:
        return f"container marker {facts.markers[0]} exists"
    if facts.container_env:
        return f"container={facts.container_env} is set"
    for entry in facts.init_environ.split(b"\0"):
        if entry.startswith(b"container=") and len(entry) > len(b"container="):
            return f"PID 1's environment has {entry.decode(errors='replace')}"
    for line in facts.init_cgroup.splitlines():
        path = line.rpartition(":")[2]
        for hint in CGROUP_HINTS:
            if hint in path:
                return f"PID 1's cgroup {path} names {hint}"
    return None


def probe(env: "Mapping[str, str]", proc: str = "/proc") -> Facts:
    """The facts of the running system; /proc may need mounting first (see run.py)."""
    try:
        namespace: str | None = os.readlink(f"{proc}/self/ns/pid")
    except OSError:
        namespace = None
    return Facts(
        pid=os.getpid(),
        pid_namespace=namespace,
        markers=tuple(path for path in MARKER_FILES if os.path.lexists(path)),
        container_env=env.get("container", ""),
        init_environ=_read(f"{proc}/1/environ"),
        init_cgroup=_read(f"{proc}/1/cgroup").decode(errors="replace"),
    )


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return b""


def is_machine_init(env: "Mapping[str, str]", forced: bool = False) -> bool:
    """The cheap question first: only PID 1 pays for the probe. The kernel
    starts a machine's init with an empty /proc: mount it to ask (a container
    always has one, so this never runs there)."""
    if os.getpid() != 1:
        return False
    if not os.path.exists("/proc/self"):
        from guestinit.boot import _libc

        try:
            _libc.mount("proc", "/proc", "proc", _libc.MS_NOSUID | _libc.MS_NODEV | _libc.MS_NOEXEC)
        except OSError:
            return False
    return verdict(probe(env), forced) is None
