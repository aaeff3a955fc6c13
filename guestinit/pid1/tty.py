"""dumb-init's terminal hand-off: before starting the main process in a new
session, let go of our controlling terminal so the child can take it
(TIOCSCTTY in spawn.py) and run a shell with job control.

Giving up the terminal as session leader makes the kernel send SIGHUP and
SIGCONT to the terminal's foreground group, which is us: those two, once each,
are not forwarded (the child would hang up right after starting).
"""

import os

from guestinit import _log
from guestinit._sig import sig


def detach_controlling_tty(log: _log.Log) -> set[int]:
    """TIOCNOTTY on stdin; returns the signals to ignore once each."""
    import fcntl
    import termios

    try:
        fcntl.ioctl(0, termios.TIOCNOTTY)
    except OSError as error:
        log.debug(f"Unable to detach from controlling tty (errno={error.errno} {error.strerror}).")
        return set()
    if os.getsid(0) == os.getpid():
        log.debug(
            "Detached from controlling tty, ignoring the first SIGHUP and SIGCONT we receive."
        )
        return {int(sig.SIGHUP), int(sig.SIGCONT)}
    log.debug("Detached from controlling tty, but was not session leader.")
    return set()


def leave_working_directory(log: _log.Log) -> int | None:
    """chdir("/") so that we hold no reference to the directory we were
    started in (it may be unmounted later); returns an O_PATH descriptor of
    that directory for the child to fchdir back to before exec, closed by the
    caller once the child runs.

    dumb-init changes directory after forking, so a child that looks at once
    may still see it in the old one; leaving before the fork closes that race
    with the same end state: we are in "/", the child where we started.
    """
    try:
        old = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        old = None  # the child inherits the directory as it is
    try:
        os.chdir("/")
    except OSError as error:
        log.debug(f'Unable to chdir("/") (errno={error.errno} {error.strerror})')
        if old is not None:
            os.close(old)
        return None
    return old
