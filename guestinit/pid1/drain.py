"""Who "everything else" is when the main process is gone.

As PID 1 that is every process in the PID namespace, reached with ``kill(-1)``
(allowed only there: outside a namespace it would signal the whole machine).
As a subreaper it is our descendants, found by walking /proc's parent links
(this kernel lacks /proc/PID/task/TID/children, so the walk reads every stat).
"""

import os

from guestinit._sig import sig


def signal_everyone_else(number: int) -> int:
    """Send ``number`` to all processes but us; returns how many were reached
    (as PID 1 the kernel does not say: 1 if any, 0 if none)."""
    if os.getpid() == 1:
        return _signal_namespace(number)
    return _signal_descendants(number)


def _signal_namespace(number: int) -> int:
    assert os.getpid() == 1, "kill(-1) outside a PID namespace would hit the machine"
    try:
        os.kill(-1, number)
        if number != sig.SIGKILL:
            os.kill(-1, int(sig.SIGCONT))
    except ProcessLookupError:
        return 0
    return 1


def _signal_descendants(number: int) -> int:
    reached = 0
    for pid in descendants(os.getpid()):
        try:
            os.kill(pid, number)
            if number != sig.SIGKILL:
                os.kill(pid, int(sig.SIGCONT))
            reached += 1
        except ProcessLookupError:
            pass  # exited between the walk and the kill: fine
    return reached


def descendants(root: int, proc: str = "/proc") -> list[int]:
    """Every process below ``root``, parents before children."""
    children: dict[int, list[int]] = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        ppid = parent_of(f"{proc}/{name}/stat")
        if ppid is not None:
            children.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    queue = list(children.get(root, []))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def parent_of(stat_path: str) -> int | None:
    """The ppid field of /proc/PID/stat; the command name may hold spaces and
    parentheses, so split after the last ')'."""
    try:
        with open(stat_path, "rb") as stat:
            text = stat.read()
    except OSError:
        return None  # the process exited while we looked
    fields = text[text.rfind(b")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None
