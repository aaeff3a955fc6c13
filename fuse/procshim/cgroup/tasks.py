"""Threads of a cgroup subtree and their states, via /proc (side effects, behind FileSource).

The load average counts runnable (R) and uninterruptible (D) tasks, as the
kernel's does; /proc/stat's procs_running counts R alone.
"""

from dataclasses import dataclass

from procshim.cgroup import parse
from procshim.files import FileSource

# Guard against a cgroup tree that changes while we walk it (or a bind loop).
_MAX_DEPTH = 32


@dataclass(frozen=True)
class TaskStates:
    total: int
    running: int | None  # None when no task's /proc entry could be read
    blocked: int | None


def subtree_ids(files: FileSource, directory: str, list_name: str) -> list[int]:
    """Ids listed in ``list_name`` of ``directory`` and of every cgroup below it."""
    ids: list[int] = []
    pending = [(directory, 0)]
    while pending:
        current, depth = pending.pop()
        ids.extend(parse.parse_ids(files.read(f"{current}/{list_name}")))
        if depth < _MAX_DEPTH:
            pending.extend((f"{current}/{name}", depth + 1) for name in files.subdirs(current))
    return ids


def task_states(files: FileSource, tids: list[int]) -> TaskStates:
    """Count states; a task gone since the listing counts as neither."""
    unique = set(tids)
    running = blocked = seen = 0
    for tid in unique:
        state = parse.parse_task_state(files.read(f"/proc/{tid}/stat"))
        if state is None:
            continue
        seen += 1
        running += state == "R"
        blocked += state == "D"
    if unique and not seen:
        # No /proc for these ids (another PID namespace, or none mounted).
        return TaskStates(len(unique), None, None)
    return TaskStates(len(unique), running, blocked)


def process_start_ticks(files: FileSource, pid: int | str = 1) -> int | None:
    """When ``pid`` started, in clock ticks after boot: the container's start for its init."""
    return parse.parse_start_ticks(files.read(f"/proc/{pid}/stat"))
