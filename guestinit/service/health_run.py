"""Running one health check as a child process, so PID 1 never waits on a
network connection: a command goes through the normal service spawn; a tcp:
or http(s):// check is a forked child that connects with the check's timeout
and exits 0 (healthy) or 1. The reaper collects it like any other process."""

import os
from collections.abc import Callable

from guestinit._sig import sig
from guestinit.service.exec_env import ExecContext, StdioNull
from guestinit.service.health import HealthConfig, tcp_target
from guestinit.service.spawn import spawn_service


def start_check(
    config: HealthConfig, restore: Callable[[], None], environment: dict[str, str]
) -> int:
    """Start the check; returns the child's pid (its exit status is the verdict)."""
    if config.kind == "command":
        ctx = ExecContext(
            argv=("/bin/sh", "-c", config.check),
            environment=environment,
            stdout=StdioNull(),
            stderr=StdioNull(),
        )
        handle = spawn_service(ctx, restore)
        os.close(handle.error_fd)
        return handle.pid
    blocked = sig.pthread_sigmask(sig.SIG_BLOCK, sig.valid_signals())
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                restore()
                code = 0 if _probe(config) else 1
            finally:
                os._exit(code)
    finally:
        sig.pthread_sigmask(sig.SIG_SETMASK, blocked)
    return pid


def _probe(config: HealthConfig) -> bool:
    """In the child: may block, up to the check's timeout."""
    import socket

    if config.kind == "tcp":
        host, port = tcp_target(config)
        try:
            with socket.create_connection((host, port), timeout=config.timeout):
                return True
        except OSError:
            return False
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(config.check, timeout=config.timeout) as response:
            return int(response.status) < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False
