"""One init as PID 1 of a fresh PID namespace, and what /proc says about it.

``unshare --pid --fork --mount-proc --kill-child INIT ...``: unshare's child is
PID 1 inside. SIGKILL to that child from here ends the whole namespace (the
kernel kills every process in it), which is how every run is cleaned up;
``--kill-child`` covers the moment before we know the child's pid.
"""

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence

UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


class LineReader:
    """Lines from a pipe, with a timeout, so a stuck workload fails the bench
    instead of hanging it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._fd], [], [], remaining)[0]:
                raise TimeoutError(f"no line after {timeout:g}s; so far {self._buffer!r}")
            chunk = os.read(self._fd, 4096)
            if not chunk:
                raise EOFError(f"pipe closed; so far {self._buffer!r}")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\n")
        return text.decode()


class Pid1Run:
    def __init__(self, process: "subprocess.Popen[bytes]") -> None:
        self.process = process
        self._init_pid: int | None = None
        self.stdout = LineReader(process.stdout.fileno()) if process.stdout else None

    def init_pid(self, timeout: float = 10.0) -> int:
        """The host pid of the init: unshare's child, once it has exec'd."""
        if self._init_pid is not None:
            return self._init_pid
        unshare_exe = os.readlink(f"/proc/{self.process.pid}/exe")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in children_of(self.process.pid):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/exe") != unshare_exe:
                        self._init_pid = pid
                        return pid
            time.sleep(0.002)
        raise TimeoutError("the init did not start")

    def send_line(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()

    def wait(self, timeout: float) -> int:
        if self.process.stdin is not None:
            self.process.stdin.close()
        return self.process.wait(timeout)

    def kill(self) -> None:
        """End the namespace and reap unshare; safe to call twice.

        unshare must outlive the init long enough to reap it: killed together,
        the init's zombie would pass to the machine's PID 1, which may never
        reap it. So unshare itself is killed only as the fallback."""
        if self.process.poll() is None and self._init_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._init_pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        if self.process.poll() is None:
            # --kill-child passes this on to the init, if it exists yet.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def pid1(
    argv: Sequence[str], *, stdin: int | None = None, stdout: int | None = None
) -> Iterator[Pid1Run]:
    """Run ``argv`` as PID 1 of a new PID namespace; killed on leaving, even on error.
    Pass ``subprocess.PIPE`` for stdin/stdout to talk to the main process."""
    process = subprocess.Popen(
        [*UNSHARE, *argv],
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        stdout=subprocess.DEVNULL if stdout is None else stdout,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C of the bench must not reach the init first
    )
    run = Pid1Run(process)
    try:
        yield run
    finally:
        run.kill()


def children_of(parent: int) -> list[int]:
    """This kernel has no /proc/PID/task/TID/children: walk every stat."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _stat_fields(int(name))[1:2] == [str(parent)]:
            found.append(int(name))
    return found


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat from field 3 (state) on; the name may hold spaces and ')'."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return []
    return text[text.rfind(")") + 2 :].split()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")


def cpu_ticks(pid: int) -> int:
    """utime + stime in clock ticks (fields 14 and 15 of stat)."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])


def cpu_ns(pid: int) -> int:
    """CPU time to the nanosecond (se.sum_exec_runtime of /proc/PID/sched, in
    ms with six decimals): clock ticks are 10 ms here, too coarse for a burst."""
    with open(f"/proc/{pid}/sched") as sched:
        for line in sched:
            if line.startswith("se.sum_exec_runtime"):
                milliseconds, _, fraction = line.split(":")[1].strip().partition(".")
                return int(milliseconds) * 1_000_000 + int(fraction.ljust(6, "0")[:6])
    raise ValueError(f"no se.sum_exec_runtime for {pid}")
