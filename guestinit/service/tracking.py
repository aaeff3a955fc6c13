"""Which processes belong to a unit, without cgroups (side effects: reads /proc).

Every command of a unit starts in a session of its own (setsid), so a unit's
processes are those in the sessions it started, plus the descendants of its
main and control processes (a daemon that calls setsid again stays below
them until its parent exits; after that it is re-parented to us and only its
session would tell). That is what KillMode=control-group signals and what
"the unit is empty" means here. One /proc scan serves every unit of a turn.
"""

import os
from collections.abc import Container


class ProcessTable:
    """A snapshot of /proc: pid -> (ppid, session)."""

    def __init__(self, entries: dict[int, tuple[int, int]]) -> None:
        self.entries = entries

    @classmethod
    def scan(cls, proc: str = "/proc") -> "ProcessTable":
        entries: dict[int, tuple[int, int]] = {}
        for name in os.listdir(proc):
            if not name.isdigit():
                continue
            fields = _stat_fields(f"{proc}/{name}/stat")
            if fields is not None:
                entries[int(name)] = fields
        return cls(entries)

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


def _stat_fields(path: str) -> tuple[int, int] | None:
    """(ppid, session) from /proc/PID/stat; the name may hold ')' and spaces."""
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
    return int(ppid), int(session)


def signal_all(pids: set[int], number: int) -> int:
    """Send ``number`` (then SIGCONT unless it is SIGKILL) to each pid."""
    reached = 0
    for pid in sorted(pids):
        try:
            os.kill(pid, number)
            if number != 9:
                os.kill(pid, 18)  # SIGCONT: a stopped process must act on it
            reached += 1
        except ProcessLookupError:
            pass
    return reached
