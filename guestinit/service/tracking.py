"""Which processes belong to a unit, without cgroups (side effects: reads /proc).

Every command of a unit starts in a session of its own (setsid), so a unit's
processes are those in the sessions it started, plus the descendants of its
main and control processes (a daemon that calls setsid again stays below
them until its parent exits; after that it is re-parented to us and only its
session would tell). That is what KillMode=control-group signals and what
"the unit is empty" means here. One /proc scan serves every unit of a turn.
"""

import contextlib
import os
from collections.abc import Container

from guestinit._sig import sig

_SIGKILL, _SIGCONT = 9, 18


class ProcessTable:
    """A snapshot of /proc: pid -> (ppid, session), and when each started."""

    def __init__(
        self, entries: dict[int, tuple[int, int]], starts: dict[int, int] | None = None
    ) -> None:
        self.entries = entries
        # pid -> start time (clock ticks since boot): with the pid, a process's
        # identity, so a signal never reaches a process that reused the pid.
        self.starts = starts or {}

    @classmethod
    def scan(cls, proc: str = "/proc") -> "ProcessTable":
        entries: dict[int, tuple[int, int]] = {}
        starts: dict[int, int] = {}
        for name in os.listdir(proc):
            if not name.isdigit():
                continue
            fields = _stat_fields(f"{proc}/{name}/stat")
            if fields is not None:
                entries[int(name)] = fields[:2]
                if fields[2] is not None:
                    starts[int(name)] = fields[2]
        return cls(entries, starts)

    def members(self, sessions: set[int], roots: set[int]) -> set[int]:
        """Processes in ``sessions`` or below ``roots`` (roots included if alive)."""
        children: dict[int, list[int]] = {}
        found: set[int] = set()
        for pid, (ppid, session) in self.entries.items():
            children.setdefault(ppid, []).append(pid)
            if session in sessions:
                found.add(pid)
        queue = [pid for pid in roots if pid in self.entries]
        visited: set[int] = set()
        while queue:
            pid = queue.pop()
            if pid in visited:
                continue
            visited.add(pid)
            found.add(pid)
            queue.extend(children.get(pid, []))
        return found


def nearest_known(pid: int, known: Container[int], depth: int = 16) -> int | None:
    """``pid`` or its nearest ancestor that is in ``known`` (a syslog line
    from sshd's session child belongs to sshd's unit): a few /proc/PID/stat
    reads, never a walk of all of /proc."""
    for _ in range(depth):
        if pid in known:
            return pid
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                text = stat.read()
            # A zombie still names its parent: a sender that has exited
            # but is not reaped yet is still attributed.
            parent = int(text[text.rfind(b")") + 2 :].split()[1])
        except (OSError, IndexError, ValueError):
            return None
        if parent <= 1:
            return None
        pid = parent
    return None


def start_time(pid: int, proc: str = "/proc") -> int | None:
    """When ``pid`` started (ticks since boot); None if gone or a zombie."""
    fields = _stat_fields(f"{proc}/{pid}/stat")
    return fields[2] if fields is not None else None


def _stat_fields(path: str) -> tuple[int, int, int | None] | None:
    """(ppid, session, start time) from /proc/PID/stat; the name may hold ')'
    and spaces."""
    try:
        with open(path, "rb") as stat:
            text = stat.read()
    except OSError:
        return None  # exited while we looked
    fields = text[text.rfind(b")") + 2 :].split()
    if len(fields) < 4:
        return None
    state, ppid, _pgrp, session = fields[:4]
    if state in (b"Z", b"X"):
        return None  # a zombie is already dead; only its reaping is left
    started = int(fields[19]) if len(fields) > 19 else None  # field 22, starttime
    return int(ppid), int(session), started


def signal_process(pid: int, number: int, started: int | None) -> bool:
    """Send ``number`` (then SIGCONT unless it is SIGKILL) to ``pid`` if it is
    still the process that started at ``started`` (None: any process with that
    pid, for our own unreaped children, whose pids cannot be reused).

    A pidfd pins the process between the check and the signal: a pid freed
    and reused in between cannot receive it (kernels before 5.3 lack pidfds;
    there the check and kill() are a few microseconds apart)."""
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:
        pidfd = None
    try:
        if started is not None and start_time(pid) != started:
            return False
        for number_ in (number,) if number == _SIGKILL else (number, _SIGCONT):
            if pidfd is None:
                os.kill(pid, number_)
            else:
                sig.pidfd_send_signal(pidfd, number_)
        return True
    except ProcessLookupError:
        return False
    finally:
        if pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(pidfd)


def signal_all(pids: set[int], number: int, starts: dict[int, int] | None = None) -> int:
    """``signal_process`` for each pid; ``starts`` holds the start times seen
    when the pids were found (a pid missing there is sent unchecked)."""
    starts = starts or {}
    return sum(signal_process(pid, number, starts.get(pid)) for pid in sorted(pids))
