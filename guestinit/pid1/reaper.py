"""The one reaper: the only place in guestinit that calls ``waitpid``.

Anything else that waited (``subprocess``, psutil's wait) would race this loop
and steal exit codes, including the main process's.
"""

import os


def reap() -> tuple[list[tuple[int, int]], bool]:
    """Collect every child that has exited, without blocking.

    Returns ``[(pid, wait status)]`` and whether no child is left at all
    (ECHILD): as PID 1 or subreaper that means no descendant is left either,
    because orphans are re-parented to us.
    """
    reaped: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped, True
        if pid == 0:
            return reaped, False
        reaped.append((pid, status))
