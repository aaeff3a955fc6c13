"""Start the main process with fork + exec of our own (never ``subprocess``,
whose wait would race the reaper, nor posix_spawn: see spawn_main).

Signals are blocked across the fork so that nothing is delivered to the child
while it still runs our handlers (they would write to our wakeup pipe); the
child resets dispositions and mask just before exec.
"""

import errno
import os

from guestinit import _log
from guestinit._sig import sig
from guestinit.config import SESSION, InitConfig
from guestinit.pid1.signals import SignalSource


def spawn_main(config: InitConfig, signals: SignalSource, cwd_fd: int | None = None) -> int:
    """Start ``config.command``; returns the child's pid.

    Always fork + exec, never posix_spawn: glibc's posix_spawn (2.36) leaves
    signals 32 and 33 *ignored* in the child, and the main process must start
    with exactly the signal state tini or dumb-init would give it. A failed exec
    is reported by the child (one line naming the path), which exits 127 or 126
    as a shell would (dumb-init: 2). ``cwd_fd``: the directory the child starts
    in when we have left it already (dumb-init's chdir("/")).
    """
    return _fork_exec(config, signals, cwd_fd)


def default_signals(signals: SignalSource) -> list[int]:
    """Signals a child must get back at their defaults (posix_spawn's setsigdef)."""
    return [
        n
        for n in (*signals.caught, sig.SIGPIPE, sig.SIGXFSZ, sig.SIGTTIN, sig.SIGTTOU)
        if n not in signals.inherited_ignored
    ]


def _fork_exec(config: InitConfig, signals: SignalSource, cwd_fd: int | None) -> int:
    blocked = sig.pthread_sigmask(sig.SIG_BLOCK, sig.valid_signals())
    try:
        pid = os.fork()
        if pid == 0:
            _become_main(config, signals, cwd_fd)  # never returns
    finally:
        sig.pthread_sigmask(sig.SIG_SETMASK, blocked)
    return pid


def _become_main(config: InitConfig, signals: SignalSource, cwd_fd: int | None) -> None:
    code = 1
    try:
        if cwd_fd is not None:
            os.fchdir(cwd_fd)
        _isolate(config)
        signals.restore_in_child()
        _exec(config.command)
    except OSError as error:
        code = config.exec_failure_code or (127 if error.errno == errno.ENOENT else 126)
        _report_exec_failure(config.log, config.command[0], error)
    except BaseException:
        _log.print_traceback(config.log, "while starting the main process")
    finally:
        os._exit(code)


def _isolate(config: InitConfig) -> None:
    """Own process group (or session) and, with a terminal, the foreground,
    so Ctrl-C and Ctrl-Z reach the main process as they would from a shell."""
    if config.spawn_mode == SESSION:
        try:
            os.setsid()
        except OSError as error:
            config.log.error(f"Unable to setsid (errno={error.errno} {error.strerror}). Exiting.")
            os._exit(1)
        _take_controlling_terminal(config.log)
        return
    os.setpgid(0, 0)
    if os.isatty(0):
        try:
            # SIGTTOU is blocked here, so a background group may take the terminal.
            os.tcsetpgrp(0, os.getpgrp())
        except OSError as error:
            config.log.debug(f"tcsetpgrp failed: {error.strerror} (going on without job control)")


def _take_controlling_terminal(log: _log.Log) -> None:
    """Make stdin's terminal ours, as dumb-init's child does (always tried;
    without a terminal it fails with ENOTTY, a debug line)."""
    import fcntl
    import termios

    try:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    except OSError as error:
        log.debug(f"Unable to attach to controlling tty (errno={error.errno} {error.strerror}).")
    log.debug("setsid complete.")


def _exec(argv: list[str]) -> None:
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        if error.errno != errno.ENOEXEC:
            raise
    # A file with neither ELF header nor #!: run it with the shell, as glibc's
    # execvp (and so tini and every shell) does.
    path = argv[0] if "/" in argv[0] else _which(argv[0])
    os.execv("/bin/sh", ["/bin/sh", path, *argv[1:]])


def _which(name: str) -> str:
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.access(candidate, os.X_OK):
            return candidate
    return name


def missing_command(name: str) -> OSError | None:
    """Why ``name`` (argv[0]) cannot be run, found before anything starts
    (execvp's search: a name without "/" is looked up in $PATH), or None."""
    if "/" in name:
        candidates = [name]
    else:
        candidates = [
            os.path.join(folder or ".", name)
            for folder in os.environ.get("PATH", os.defpath).split(os.pathsep)
        ]
    denied = False
    for candidate in candidates:
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return None
            denied = True
    code = errno.EACCES if denied else errno.ENOENT
    return OSError(code, os.strerror(code))


def report_missing_command(log: _log.Log, name: str, error: OSError) -> int:
    """Say why the main command cannot run; the exit code that goes with it."""
    _report_exec_failure(log, name, error)
    return 126 if error.errno == errno.EACCES else 127


def _report_exec_failure(log: _log.Log, path: str, error: OSError) -> None:
    reason = error.strerror or str(error)
    if log.style == _log.TINI:
        log.error(f"exec {path} failed: {reason}")
    elif log.style == _log.DUMB_INIT:
        log.error(f"{path}: {reason}")
    else:
        log.error(f"cannot run {path}: {reason}")
