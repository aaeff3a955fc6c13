"""One line per event on stderr, in the style of the tool being emulated.

Hand-written rather than the stdlib ``logging`` package: that import alone costs
several milliseconds of start-up, and PID 1 needs three formats and nothing else.
Writes never raise and never let a broken stderr pipe raise SIGPIPE at us (we
forward SIGPIPE to the main process, so a self-inflicted one would reach it).
"""

import os
import sys

from guestinit._sig import sig

ERROR, WARNING, INFO, DEBUG, TRACE = 1, 2, 3, 4, 5
LEVEL_NAMES = {"error": ERROR, "warning": WARNING, "info": INFO, "debug": DEBUG, "trace": TRACE}

GUESTINIT, TINI, DUMB_INIT = "guestinit", "tini", "dumb-init"
_TINI_TAGS = {ERROR: "FATAL", WARNING: "WARN ", INFO: "INFO ", DEBUG: "DEBUG", TRACE: "TRACE"}


class Log:
    """Levelled stderr (and, for tini's INFO and below, stdout) lines."""

    def __init__(self, level: int = WARNING, style: str = GUESTINIT) -> None:
        self.level = level
        self.style = style

    def enabled(self, level: int) -> bool:
        return level <= self.level

    def error(self, text: str) -> None:
        self.emit(ERROR, text)

    def warning(self, text: str) -> None:
        self.emit(WARNING, text)

    def info(self, text: str) -> None:
        self.emit(INFO, text)

    def debug(self, text: str) -> None:
        self.emit(DEBUG, text)

    def trace(self, text: str) -> None:
        self.emit(TRACE, text)

    def emit(self, level: int, text: str) -> None:
        if level > self.level:
            return
        line, fd = self.format(level, text)
        write_quietly(fd, line)

    def format(self, level: int, text: str) -> tuple[str, int]:
        """The line and the fd it goes to; tini prints INFO and below on stdout."""
        if self.style == TINI:
            fd = 2 if level <= WARNING else 1
            return f"[{_TINI_TAGS[level]} tini ({os.getpid()})] {text}\n", fd
        if self.style == DUMB_INIT:
            return f"[dumb-init] {text}\n", 2
        return f"guestinit: {text}\n", 2


def write_quietly(fd: int, text: str) -> None:
    """Write all of ``text`` to ``fd``; on any error give up silently."""
    data = text.encode("utf-8", "replace")
    old = sig.pthread_sigmask(sig.SIG_BLOCK, [sig.SIGPIPE])
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        # EPIPE left a SIGPIPE pending on this thread: consume it, it was ours.
        sig.sigtimedwait([sig.SIGPIPE], 0)
    finally:
        sig.pthread_sigmask(sig.SIG_SETMASK, old)


def print_traceback(log: Log, context: str) -> None:
    """Log the exception being handled with its traceback (imports lazily)."""
    import traceback

    text = "".join(traceback.format_exception(*sys.exc_info()))
    log.error(f"{context}:\n{text.rstrip()}")
