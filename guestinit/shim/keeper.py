"""Supervise the procshim child from PID 1: a static layer first, then the
live view over it; watch, detach, restart.

Two layers over each file (procshim.static says why): at start a forked child
renders the files once and binds them over /proc and /sys (BINDING); the main
process may start as soon as it is done, its first read already the cgroup's.
Then the FUSE server starts and binds its live files on top. When the server
dies or hangs only its binds are detached, so readers fall back to the static
layer, never to the host's files, until the next server binds again.

The child's protocol (procshim/cli.py, ``procshim mount``): it mounts the FUSE
filesystem at ``--mountpoint``, binds each virtual file over the real one, then
writes ``READY guard=PID`` on the descriptor ``--ready-fd`` and ``ALIVE`` about
four times a second after reading one of its files back through FUSE. Its
guard (a fork of it, procshim.serve.Guard) detaches its mounts the moment it
dies and holds the pipe open until done. Exit status
69 (EX_UNAVAILABLE) before READY means "cannot run here" (no binding library,
the mount refused); it has said why on stderr.

States (one at a time):
    IDLE     -> BINDING    start(): static child forked
    BINDING  -> STARTING   static child reaped (bound or not): server spawned
    IDLE     -> STARTING   start() when no static child could be forked
    STARTING -> UP         READY read
    UP/STARTING -> KILLED  silent too long: SIGCONT + SIGTERM (a stopped
                           server answers what it holds, removes its binds,
                           exits), SIGKILL if still there after KILL_AFTER
    UP/STARTING/KILLED -> EXITING  child reaped before its pipe ended (its
                           guard still detaching): wait for the pipe's end
                           (GUARD_WAIT at most)
    UP/STARTING/KILLED/EXITING -> (dead)  whatever is still mounted is
                           detached (one unmount helper at a time), then
    (dead)   -> WAITING    restart after a backoff (the first at once), or
    (dead)   -> GONE       when stopping, or when the child cannot run here
    WAITING  -> STARTING   the backoff is over and no unmount is in flight

The loop's Services shape lets it stand alone or beside the service manager
(pid1.combined): it reports UnitsReady once the static files are bound (or,
without them or with --procshim=required, once the server's are, or the shim
is given up), so the main process starts seeing the cgroup's numbers.
"""

import os
import time

from procshim.mounttable import stale_mounts

from guestinit import _log
from guestinit.pid1 import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol
else:
    Protocol = object

EX_UNAVAILABLE = 69
# A child that says nothing for this long while stopped (SIGSTOP, a debugger:
# state T in /proc/PID/stat) is hung, and its readers are blocked until then.
# Heartbeats come every 0.25 s (procshim.serve), so this is four missed.
HUNG_AFTER = 1.0
# Silent but not stopped (a deadlock, or starved on a saturated machine):
# hung only after this long, so an overloaded machine does not restart a
# server that is merely late (each restart costs it a Python start).
HUNG_AFTER_RUNNING = 3.0
# While silent, the child's state is looked at this often.
STATE_POLL = 0.25
MAX_DETACH_RETRIES = 3
# A dead server's guard detaches its mounts within a wakeup; we wait at most
# this long for it (its end of the ready pipe closing) before looking ourselves.
GUARD_WAIT = 2.0
# After SIGCONT + SIGTERM a hung child has this long to go by itself before SIGKILL.
KILL_AFTER = 0.5
READY_TIMEOUT = 10.0
# The main process waits for the shim at most this long after start(): a shim
# that keeps failing is retried in the background, never a reason not to run.
FIRST_READY_WAIT = 5.0
# Restart delays after consecutive failures; the first restart is immediate so
# readers get the shim back within about a second of a crash.
BACKOFF = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# Up this long counts as healthy again: the next failure restarts at once.
HEALTHY_AFTER = 10.0


class Phase:
    """The keeper's states (plain strings: ``enum`` costs start-up in PID 1)."""

    IDLE = "idle"
    BINDING = "binding"  # the static child is rendering and binding
    STARTING = "starting"
    UP = "up"
    KILLED = "killed"  # hung and killed; its reap decides what next
    EXITING = "exiting"  # reaped; its guard is still detaching what it left
    WAITING = "waiting"
    GONE = "gone"


class ShimSystem(Protocol):
    """Every side effect of the keeper, behind one object (tests use a fake)."""

    def open_host_files(self) -> dict[str, int]:
        """Descriptors of the real files, opened before any bind hides them."""

    def fork_static(self, host_fds: dict[str, int]) -> int:
        """Fork the child that renders and binds the static layer; its pid."""

    def spawn_shim(self, ready_fd: int, host_fds: dict[str, int], keep_static: bool) -> int:
        """Start ``procshim mount`` with ``ready_fd`` as its --ready-fd; its pid.
        ``keep_static``: it keeps the static layer (bound) fresh."""

    def spawn_unmount(self, points: list[str]) -> int | None:
        """Detach ``points`` lazily in a helper process; its pid (None: no helper)."""

    def kill(self, pid: int, number: int) -> None: ...

    def stopped(self, pid: int) -> bool:
        """Whether ``pid`` is stopped (state T or t in /proc/PID/stat)."""

    def mountinfo(self) -> str: ...

    def abort_connection(self, device: str) -> None:
        """Fail every pending request of the FUSE connection on ``device``."""


class ShimKeeper:
    def __init__(
        self,
        system: ShimSystem,
        log: _log.Log,
        mountpoint: str,
        required: bool,
        static: bool = True,
        clock: "Callable[[], float]" = time.monotonic,
    ) -> None:
        self._system = system
        self._clock = clock  # injected: tests step a fake clock
        self._log = log
        self._mountpoint = mountpoint
        self._required = required
        self.phase = Phase.IDLE
        self.pid: int | None = None
        self._pipe: int | None = None
        self._partial = b""
        self._heard = 0.0  # when the child last said anything (monotonic)
        self._up_since = 0.0
        self._failures = 0
        self._restart_at: float | None = None
        self._helpers: set[int] = set()  # unmount helpers we started
        # A detach asked for while a helper runs: done once it has (two helpers
        # at once would unmount one path twice, the second time the static layer).
        self._detach_again = False
        self._detach_retries = 0
        # The static layer outlives us (nothing unmounts it): only where our
        # mount namespace ends with us, i.e. as PID 1.
        self._static = static
        self._static_pid: int | None = None
        self.static_bound = False
        self._host_fds: dict[str, int] = {}
        self._kill_at: float | None = None
        # (status, pid, phase at its death) between the reap and the guard's end
        self._exit: tuple[int, int | None, str] | None = None
        self._guard_until = 0.0
        self._ever_ready = False
        self._reported_ready = False
        self._stopping = False
        self._waited_until: float | None = None  # when the main process stops waiting
        self._events: list[model.Event] = []
        # Set when the machine cannot mount it at all: start() gives up at once.
        self.unavailable: str | None = None

    # -- the loop's Services shape ------------------------------------------------

    def readers(self) -> "dict[int, Callable[[], None]]":
        return {self._pipe: self._on_output} if self._pipe is not None else {}

    def writers(self) -> "dict[int, Callable[[], None]]":
        return {}

    def next_deadline(self) -> float | None:
        due = self._phase_deadline()
        if not self._reported_ready and self._waited_until is not None:
            return self._waited_until if due is None else min(due, self._waited_until)
        return due

    def _phase_deadline(self) -> float | None:
        if self.phase in (Phase.STARTING, Phase.BINDING):
            return self._heard + READY_TIMEOUT
        if self.phase == Phase.UP:
            if self._clock() < self._heard + HUNG_AFTER:
                return self._heard + HUNG_AFTER
            return min(self._heard + HUNG_AFTER_RUNNING, self._clock() + STATE_POLL)
        if self.phase == Phase.WAITING and not self._helpers:
            return self._restart_at
        if self.phase == Phase.KILLED:
            return self._kill_at
        if self.phase == Phase.EXITING:
            return self._guard_until
        return None

    def start(self, now: float) -> None:
        if self.unavailable is not None:
            self._log.error(f"procshim: cannot run here: {self.unavailable}")
            self._give_up()
            return
        self._waited_until = now + FIRST_READY_WAIT
        self._host_fds = self._system.open_host_files()
        if not self._static:
            self._spawn(now)  # IDLE -> STARTING: the main process waits for the server
            return
        try:
            self._static_pid = self._system.fork_static(self._host_fds)
        except OSError as error:
            self._log.warning(f"procshim: cannot fork for the static files: {error.strerror}")
            self._spawn(now)  # IDLE -> STARTING: the main process waits for the server
            return
        self.phase, self._heard = Phase.BINDING, now  # IDLE -> BINDING

    def tick(self, now: float) -> None:
        waited = self._waited_until
        if not self._reported_ready and waited is not None and now >= waited:
            self._log.warning(f"procshim: not ready after {FIRST_READY_WAIT:g}s; going on")
            self._fail_if_required()
            self._report_ready()
        if self.phase == Phase.WAITING and self._restart_at is not None:
            if now >= self._restart_at and not self._helpers:
                self._spawn(now)  # WAITING -> STARTING
        elif self.phase == Phase.KILLED and self._kill_at is not None and now >= self._kill_at:
            self._kill_hard()
        elif self.phase == Phase.EXITING and now >= self._guard_until:
            self._log.warning(f"procshim: the guard did not finish in {GUARD_WAIT:g}s")
            self._close_pipe()
            self._finish_exit(now)
        elif self.phase == Phase.BINDING and now >= self._heard + READY_TIMEOUT:
            if self._static_pid is not None:  # its reap starts the server
                self._log.warning(f"procshim: static files not bound in {READY_TIMEOUT:g}s")
                self._system.kill(self._static_pid, 9)
                self._heard = now  # once
        elif self.phase == Phase.STARTING and now >= self._heard + READY_TIMEOUT:
            self._hung(f"not ready after {READY_TIMEOUT:g}s")
        elif self.phase == Phase.UP and now >= self._heard + HUNG_AFTER:
            silent = now - self._heard
            if silent >= HUNG_AFTER_RUNNING:
                self._hung(f"silent for {silent:.1f}s")
            elif self.pid is not None and self._system.stopped(self.pid):
                self._hung(f"stopped and silent for {silent:.1f}s")

    def claim(self, pid: int, status: int, now: float) -> bool:
        if pid in self._helpers:
            self._helpers.discard(pid)
            if status != 0:
                self._log.warning(f"procshim: unmounting stale files failed ({_describe(status)})")
                # Look again (a helper killed midway leaves dead binds over the
                # static layer), a few times in a row at most.
                self._detach_retries += 1
                self._detach_again = (
                    self._detach_again or self._detach_retries <= MAX_DETACH_RETRIES
                )
            else:
                self._detach_retries = 0
            if not self._helpers and self._detach_again:
                self._detach_again = False
                self._detach()
            self.tick(now)  # a restart may have waited for this helper
            return True
        if pid == self._static_pid:
            self._on_static_exit(status, now)
            return True
        if pid != self.pid:
            return False
        self._on_exit(status, now)
        return True

    def stop_all(self, now: float) -> None:
        """No more restarts. The child itself stays until the drain's SIGTERM:
        units stopping and the main process exiting still read /proc, and on
        SIGTERM it removes its binds before its own mount."""
        self._stopping = True
        if self.phase == Phase.WAITING:
            self.phase = Phase.GONE  # WAITING -> GONE
        self._events.append(model.UnitsStopped())

    def events(self) -> "list[model.Event]":
        events, self._events = self._events, []
        return events

    def has_events(self) -> bool:
        return bool(self._events)

    def main_spawned(self, pid: int) -> None:
        pass  # it claims only processes of its own

    def close(self) -> None:
        self._close_pipe()
        for fd in self._host_fds.values():
            os.close(fd)
        self._host_fds = {}

    # -- transitions ------------------------------------------------------------

    def _on_static_exit(self, status: int, now: float) -> None:
        self._static_pid = None
        self.static_bound = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        if self.static_bound:
            self._log.debug("procshim: static files bound over /proc and /sys")
            # The main process may start: it reads the cgroup's values. Not
            # when required: a server that cannot run must still stop it.
            if not self._required:
                self._report_ready()
        else:
            self._log.warning(
                f"procshim: static files not bound ({_describe(status)}); waiting for the server"
            )
        if self._stopping:
            self.phase = Phase.GONE  # BINDING -> GONE
            return
        self._spawn(now)  # BINDING -> STARTING

    def _spawn(self, now: float) -> None:
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        try:
            self.pid = self._system.spawn_shim(write_end, self._host_fds, self.static_bound)
        except OSError as error:
            os.close(read_end)
            self.pid = None
            self._log.error(f"procshim: cannot start: {error.strerror or error}")
            self._give_up()
            return
        finally:
            os.close(write_end)
        os.set_blocking(read_end, False)
        self._pipe, self._partial = read_end, b""
        self.phase, self._heard, self._restart_at = Phase.STARTING, now, None
        self._kill_at = None
        self._log.debug(f"procshim: started {self.pid}")

    def _on_output(self) -> None:
        assert self._pipe is not None
        try:
            data = os.read(self._pipe, 4096)
        except BlockingIOError:
            return
        if not data:
            self._close_pipe()  # the child's exit will follow; its reap decides
            if self.phase == Phase.EXITING:
                self._finish_exit(self._clock())  # the guard is done
            return
        self._heard = self._clock()
        *lines, self._partial = (self._partial + data).split(b"\n")
        ready = any(line.startswith(b"READY") for line in lines)  # "READY guard=PID"
        if ready and self.phase == Phase.STARTING:
            self.phase, self._up_since = Phase.UP, self._heard  # STARTING -> UP
            self._ever_ready = True
            self._log.info(f"procshim: {self.pid} serving cgroup views over /proc and /sys")
            self._report_ready()

    def _on_exit(self, status: int, now: float) -> None:
        """Reaped. Its guard, if it forked one (it may have, even before
        READY), is detaching what it left and holds the ready pipe open until
        it is done: wait for the pipe's end (or GUARD_WAIT) before looking at
        the mounts ourselves, or two detaches of one path would take away
        the static layer under it."""
        self._exit, self.pid = (status, self.pid, self.phase), None
        if self._pipe is not None:
            self.phase, self._guard_until = Phase.EXITING, now + GUARD_WAIT  # -> EXITING
            return
        self._close_pipe()
        self._finish_exit(now)

    def _finish_exit(self, now: float) -> None:
        assert self._exit is not None
        (status, pid, phase), self._exit = self._exit, None
        self._detach()
        unavailable = os.WIFEXITED(status) and os.WEXITSTATUS(status) == EX_UNAVAILABLE
        if self._stopping:
            self.phase = Phase.GONE  # -> GONE: shutting down
            return
        if unavailable and not self._ever_ready:
            self._log.warning("procshim: not available here (see above); going on without it")
            self._give_up()
            return
        if phase == Phase.UP and now - self._up_since >= HEALTHY_AFTER:
            self._failures = 0
        delay = BACKOFF[min(self._failures, len(BACKOFF) - 1)]
        self._failures += 1
        self._log.warning(f"procshim: {pid} {_describe(status)}; restarting in {delay:g}s")
        self.phase, self._restart_at = Phase.WAITING, now + delay  # -> WAITING

    def _hung(self, why: str) -> None:
        """SIGCONT + SIGTERM: a stopped server answers the requests its readers
        are blocked in, then removes its own binds (readers fall back to the
        static layer) and exits; its reap restarts it. The keeper detaches
        nothing while it may still be doing so itself."""
        self._log.warning(f"procshim: {self.pid} {why}: stopping it")
        if self.pid is not None:
            self._system.kill(self.pid, 18)  # SIGCONT
            self._system.kill(self.pid, 15)  # SIGTERM
        self.phase = Phase.KILLED  # UP/STARTING -> KILLED
        self._kill_at = self._clock() + KILL_AFTER

    def _kill_hard(self) -> None:
        """Still there: fail what its readers wait for, then SIGKILL; the
        reap detaches what it left."""
        self._kill_at = None
        self._log.warning(f"procshim: {self.pid} did not stop in {KILL_AFTER:g}s: killing it")
        try:
            _, device = stale_mounts(self._system.mountinfo(), self._mountpoint)
        except OSError:
            device = None
        if device is not None:
            self._system.abort_connection(device)
        if self.pid is not None:
            self._system.kill(self.pid, 9)

    def _detach(self) -> None:
        """Lazily unmount what the dead child left (its binds, then its mount):
        readers get the static layer at once. One helper at a time."""
        if self._helpers:
            self._detach_again = True
            return
        try:
            points, _ = stale_mounts(self._system.mountinfo(), self._mountpoint)
        except OSError as error:
            self._log.warning(f"procshim: cannot read mountinfo: {error.strerror}")
            return
        if points:
            helper = self._system.spawn_unmount(points)
            if helper is not None:
                self._helpers.add(helper)

    def _give_up(self) -> None:
        self.phase = Phase.GONE  # -> GONE
        self._fail_if_required()
        self._report_ready()

    def _fail_if_required(self) -> None:
        if self._required and not self._ever_ready and not self._reported_ready:
            self._log.error("procshim: required (--procshim=required) but not available")
            self._events.append(model.ExitRequested(1))

    def _report_ready(self) -> None:
        if not self._reported_ready:
            self._reported_ready = True
            self._events.append(model.UnitsReady())

    def _close_pipe(self) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.WEXITSTATUS(status)}"
