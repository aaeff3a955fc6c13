"""Running the FUSE server: mount, bind over /proc and /sys, say READY, keep alive, stop.

Threads: libfuse's loop (one request at a time; with ``--threads`` libfuse's
pool, which measured half the throughput, its workers only queueing for the
GIL; either starts with every signal blocked), the load sampler, and the main
thread, which does the binds, the heartbeat and the stop. Signals reach only
the main thread: they are blocked while the other threads start, and
TERM/INT/HUP have Python handlers before libfuse looks (libfuse installs its
own only over default ones), so a stop always removes the binds before the
FUSE mount itself — readers never see a bind of a dead mount.
"""

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType, ModuleType

from procshim import _libc
from procshim.binding import Unavailable
from procshim.mounttable import stale_mounts
from procshim.ops import ShimOperations
from procshim.snapshot import Snapshots

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
MOUNT_TIMEOUT = 10.0
# guestinit's keeper calls us hung after 1 s of silence when we are stopped
# (3 s when running): readers of a stopped server are blocked about that long.
# A read back costs ~0.2 ms.
HEARTBEAT_INTERVAL = 0.25
# The static layer under our binds is rewritten this often (13 renders, ~1 ms).
STATIC_EVERY = 1.0
# Files and directories never change, so the kernel may keep their attributes;
# the contents are never cached (direct_io on every open).
FUSE_OPTIONS = {
    "allow_other": True,  # every user of the container reads them, not only root
    "ro": True,
    "fsname": "procshim",
    "subtype": "procshim",
    "attr_timeout": 60,
    "entry_timeout": 60,
    "negative_timeout": 60,
}


class Stop(Exception):
    """A stop signal arrived (raised in the main thread by its handler)."""


def _raise_stop(number: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(number).name)


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def say(text: str) -> None:
    with contextlib.suppress(OSError):
        sys.stderr.write(f"procshim: {text}\n")
        sys.stderr.flush()


class Server:
    def __init__(
        self, mountpoint: str, snapshots: Snapshots, binding: ModuleType, threads: bool = True
    ) -> None:
        self.mountpoint = mountpoint.rstrip("/") or "/"
        self.snapshots = snapshots
        self._binding = binding
        self._threads = threads
        self._initialized = threading.Event()
        self.ops = ShimOperations(snapshots, self._caller, self._initialized.set)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.bound: list[str] = []
        self.static_dir: str | None = None  # guestinit's static layer, kept fresh
        self.static_pid = 1  # whose view the static layer shows (the container's init)
        self.guard: Guard | None = None
        self.guarded = False  # fork a Guard at start (procshim mount)

    def _caller(self) -> int:
        return int(self._binding.fuse_get_context()[2])

    # -- mount -------------------------------------------------------------------

    def start(self) -> None:
        """Mount and wait until requests are served; Unavailable if the mount fails."""
        if not self.snapshots.paths():
            raise Unavailable("none of the /proc and /sys files to serve could be opened")
        for name in STOP_SIGNALS:
            signal.signal(name, _raise_stop)
        # Leftovers first: makedirs stats the mount point, and the dead mount
        # of a killed instance answers ENOTCONN (makedirs then raises EEXIST).
        clear_leftovers(self.mountpoint)
        os.makedirs(self.mountpoint, mode=0o755, exist_ok=True)
        if self.guarded:
            self.guard = Guard(self.mountpoint)  # before any thread: a plain fork
        self._thread = threading.Thread(target=self._serve, name="procshim-fuse", daemon=True)
        with stop_signals_blocked():
            self._thread.start()
            self.snapshots.loads.run_sampler()
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not self._initialized.wait(0.02):
            if not self._thread.is_alive():
                # libfuse has said why on stderr ("fuse: device not found", ...).
                raise Unavailable(f"cannot mount FUSE at {self.mountpoint} (see above)")
            if time.monotonic() > deadline:
                raise Unavailable(f"FUSE at {self.mountpoint} not ready in {MOUNT_TIMEOUT:g}s")
        self.read_back()  # the first request after INIT: the loop serves

    def _serve(self) -> None:
        try:
            self._binding.FUSE(
                self.ops,
                self.mountpoint,
                foreground=True,
                nothreads=not self._threads,
                raw_fi=True,
                **FUSE_OPTIONS,
            )
        except BaseException as error:  # reported by start() or by the heartbeat
            self._error = error

    def read_back(self) -> None:
        """Read one of our files through FUSE: it raises or blocks if we are broken."""
        paths = self.snapshots.paths()
        name = "/proc/uptime" if "/proc/uptime" in paths else paths[0]
        with open(self.mountpoint + name, "rb") as file:
            file.read()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- binds -------------------------------------------------------------------

    def bind_all(self) -> list[str]:
        """Bind every virtual file over its real path; the ones that failed, with why."""
        failed = []
        for path in self.snapshots.paths():
            try:
                _libc.bind(self.mountpoint + path, path)
            except OSError as error:
                failed.append(f"{path} ({error.strerror})")
                continue
            self.bound.append(path)
        return failed

    def refresh_static(self) -> None:
        """Rewrite the static layer while our binds cover it (no reader sees a
        file half written): when we go, readers get numbers this fresh."""
        if self.static_dir is None or not self.bound:
            return
        from procshim.static import render_with, write_all

        rendered = render_with(self.snapshots, self.static_pid)
        try:
            write_all(self.static_dir, {p: d for p, d in rendered.items() if p in self.bound})
        except OSError as error:
            say(f"static files not refreshed: {error}")
            self.static_dir = None

    # -- stop --------------------------------------------------------------------

    def stop(self) -> None:
        """Binds first (newest first), then the FUSE mount; each lazily."""
        if self.guard is not None:
            self.guard.stand_down()
        self.snapshots.loads.stop()
        for path in reversed(self.bound):
            with contextlib.suppress(OSError):
                _libc.detach(path)
        self.bound.clear()
        with contextlib.suppress(OSError):
            _libc.detach(self.mountpoint)
        if self._thread is not None:
            # libfuse's loop ends once the kernel closes the connection; an
            # open handle keeps it, and the process exit then ends it.
            self._thread.join(timeout=1.0)


def clear_leftovers(mountpoint: str) -> None:
    """A previous instance's mount (and its binds) at our mount point: detach them."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as file:
            points, _ = stale_mounts(file.read(), mountpoint)
    except OSError:
        return
    for point in points:
        with contextlib.suppress(OSError):
            _libc.detach(point)


class Guard:
    """A forked copy of us that detaches our mounts the moment we die.

    Forked before any thread starts, it only waits on a pipe whose other end
    we hold: our death (even SIGKILL) closes it, and it runs
    ``clear_leftovers`` at once, so readers leave the dead mount within one
    wakeup, with no process to start and no watcher to wake first. A clean
    stop tells it to stand down first (a detach after ours would take away
    what lies under our binds). It keeps every descriptor we had, the ready
    pipe to guestinit's keeper too: the keeper sees that pipe's end only once
    the guard is done, and detaches nothing itself before.
    """

    def __init__(self, mountpoint: str) -> None:
        read_end, self._fd = os.pipe2(os.O_CLOEXEC)
        self.pid = os.fork()
        if self.pid == 0:  # the guard
            code = 0
            try:
                os.close(self._fd)
                _hurry()
                if not os.read(read_end, 1):  # EOF: we are dead
                    clear_leftovers(mountpoint)
            except BaseException:  # a stop signal (the drain's), anything: no detach
                code = 1
            finally:
                os._exit(code)
        os.close(read_end)

    def stand_down(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.write(self._fd, b"X")
                os.close(self._fd)
            self._fd = -1


def _hurry() -> None:
    """Run first when woken: readers get ENOTCONN until the guard has run, and
    on a busy machine an ordinary wakeup can wait tens of milliseconds. It
    works for about a millisecond once, then exits. Without CAP_SYS_NICE
    (Docker's default) this fails and the guard runs at normal priority."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -20)


def keep_alive(server: Server, ready_fd: int | None) -> None:
    """The heartbeat: read a file back through FUSE, then say ALIVE, 4 times a second.

    A hung server never says it, and whoever watches the descriptor (guestinit's
    keeper) stops us and restarts us. Returns when FUSE's loop ended. Every
    ``STATIC_EVERY`` seconds the static layer under our binds is rewritten.
    """
    refreshed = time.monotonic()
    server.refresh_static()
    while server.alive():
        time.sleep(HEARTBEAT_INTERVAL)
        if time.monotonic() - refreshed >= STATIC_EVERY:
            server.refresh_static()
            refreshed = time.monotonic()
        try:
            server.read_back()
        except OSError as error:
            say(f"reading back through FUSE failed: {error.strerror}")
            continue
        if ready_fd is not None:
            with contextlib.suppress(OSError):
                os.write(ready_fd, b"ALIVE\n")
