"""The keeper's side effects on the real machine (see keeper.ShimSystem)."""

import contextlib
import os
import sys

from guestinit import _log
from guestinit.pid1.signals import SignalSource
from guestinit.pid1.spawn import default_signals


def procshim_root(path: list[str]) -> str | None:
    """The sys.path entry holding the procshim package (fuse/ in a checkout,
    /usr/lib/guestinit when installed), found without importing it."""
    for entry in path:
        if os.path.isfile(os.path.join(entry or ".", "procshim", "__init__.py")):
            return entry
    return None


class OsShimSystem:
    def __init__(self, log: _log.Log, signals: SignalSource, mountpoint: str) -> None:
        self._log = log
        self._signals = signals
        self._mountpoint = mountpoint

    def open_host_files(self) -> dict[str, int]:
        if procshim_root(sys.path) is None:
            return {}
        from procshim.static import open_host_files

        return open_host_files()

    def fork_static(self, host_fds: dict[str, int]) -> int:
        if not host_fds:
            raise OSError(2, "the procshim package is not installed beside guestinit")
        from guestinit.shim.static import fork_static

        return fork_static(host_fds, os.getpid(), self._signals)

    def spawn_shim(self, ready_fd: int, host_fds: dict[str, int], keep_static: bool) -> int:
        root = procshim_root(sys.path)
        if root is None:
            raise OSError(2, "the procshim package is not installed beside guestinit")
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        argv = [sys.executable, "-m", "procshim", "mount", "--mountpoint", self._mountpoint]
        argv += ["--ready-fd", str(ready_fd), "--pid", str(os.getpid())]
        if keep_static:
            from guestinit.shim.static import STATIC_DIR

            argv += ["--static", STATIC_DIR]
        for path, fd in host_fds.items():
            argv += ["--host-fd", f"{path}={fd}"]
        # The same descriptor numbers in the child: no dup2 whose target might
        # collide with one. They lose O_CLOEXEC only for the length of the spawn.
        shared = [ready_fd, *host_fds.values()]
        for fd in shared:
            os.set_inheritable(fd, True)
        try:
            return os.posix_spawn(
                sys.executable,
                argv,
                env,
                setsid=True,  # terminal signals to the foreground group never reach it
                setsigmask=self._signals.original_mask,
                setsigdef=default_signals(self._signals),
            )
        finally:
            for fd in shared:
                os.set_inheritable(fd, False)

    def spawn_unmount(self, points: list[str]) -> int | None:
        # A process of util-linux (or busybox) rather than umount2(2) through
        # ctypes: ctypes stays out of PID 1, and this runs once per crash.
        umount = _find_program("umount")
        if umount is None:
            self._log.warning("procshim: no umount program; stale files stay until restart")
            return None
        return os.posix_spawn(
            umount,
            [umount, "-l", *points],
            os.environ,
            setsigmask=self._signals.original_mask,
            setsigdef=default_signals(self._signals),
        )

    def kill(self, pid: int, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)

    def stopped(self, pid: int) -> bool:
        return process_stopped(pid)

    def mountinfo(self) -> str:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as file:
            return file.read()

    def abort_connection(self, device: str) -> None:
        """fusectl's abort (when /sys/fs/fuse/connections is mounted) fails
        the requests readers are blocked in; without it the lazy unmount and
        the kill free them."""
        minor = device.partition(":")[2]
        try:
            with open(f"/sys/fs/fuse/connections/{minor}/abort", "w") as file:
                file.write("1")
        except OSError:
            pass


def process_stopped(pid: int) -> bool:
    """State T (stopped) or t (traced) in /proc/PID/stat; a gone process is not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            state = file.read().rpartition(b")")[2].split()[:1]
    except OSError:
        return False
    return state in ([b"T"], [b"t"])


def _find_program(name: str) -> str | None:
    """``name`` on PATH or in the usual places (PATH may be unset in PID 1)."""
    folders = [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin", "/bin", "/usr/sbin"]
    for folder in folders:
        candidate = os.path.join(folder, name)
        if folder and os.access(candidate, os.X_OK):
            return candidate
    return None
