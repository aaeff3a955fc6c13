"""The virtual files as plain files: rendered once, written into a small tmpfs,
bound under the live FUSE view, so a reader never meets the host's file.

guestinit binds these before it starts the main process (its first read of
/proc/meminfo already tells the cgroup's limit, with no FUSE server yet) and
keeps them under the FUSE binds: when the server dies or hangs, its binds are
detached and readers land on these, never on the host's files. The server
rewrites them about once a second while its own binds cover them, so no
reader sees a file half rewritten, and the numbers that move (MemFree, uptime,
/proc/stat's counters) are about a second old when the server goes away.

Importing this module costs nothing: ``PATHS`` is what PID 1 needs before it
forks; the renderers come in with ``render_all``.
"""

import os

from procshim.paths import PATHS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from procshim.snapshot import Snapshots


def open_host_files(paths: tuple[str, ...] = PATHS) -> dict[str, int]:
    """Descriptors of the host's real files, opened before anything is bound
    over them (procfs and sysfs regenerate the text on every read at 0): the
    static render and every FUSE server started later read the host through
    these. Absent files (no PSI here) are left out."""
    fds = {}
    for path in paths:
        try:
            fds[path] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
    return fds


def render_all(host_fds: dict[str, int], pid: int) -> dict[str, bytes]:
    """Every file as the cgroup of ``pid`` (the container's init) sees it now."""
    from procshim.files import Files
    from procshim.host import HostFiles
    from procshim.loadtrack import LoadTracker
    from procshim.snapshot import Snapshots
    from procshim.targets import Targets

    snapshots = Snapshots(
        HostFiles.from_fds(host_fds), Targets(Files(), default_pid=pid), LoadTracker()
    )
    return render_with(snapshots, pid)


def render_with(snapshots: "Snapshots", pid: int) -> dict[str, bytes]:
    rendered = {}
    for path in snapshots.paths():
        data = snapshots.bytes_for(path, pid)
        if data is not None:
            rendered[path] = data
    return rendered


def write_all(directory: str, rendered: dict[str, bytes]) -> None:
    """Write each file at ``directory + path``, in place: a bind mount holds
    the inode, so a new file renamed over it would never be seen. The new
    text is written whole at offset 0, then the file cut to its length."""
    for path, data in rendered.items():
        target = directory + path
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o444)
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)


def make_tree(directory: str, paths: list[str]) -> None:
    for path in paths:
        os.makedirs(os.path.dirname(directory + path), mode=0o755, exist_ok=True)
