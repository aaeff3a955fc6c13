"""Running one health check as a child process, so PID 1 never waits on a
network connection: a command goes through the normal service spawn; a tcp:
or http(s):// check is a forked child that connects with the check's timeout
and exits 0 (healthy) or 1. The reaper collects it like any other process."""

import os
from collections.abc import Callable, Iterable

from guestinit import _log
from guestinit._sig import sig
from guestinit.service import health
from guestinit.service import model as svc
from guestinit.service.exec_env import ExecContext, StdioNull
from guestinit.service.health import HealthConfig, tcp_target
from guestinit.service.registry import Unit
from guestinit.service.spawn import spawn_service
from guestinit.service.states import Active


class HealthWatch:
    """The manager's health checks: when each is due, its process, its verdict.
    An unhealthy unit is fed a watchdog trigger (see service.health)."""

    def __init__(
        self,
        log: _log.Log,
        restore: Callable[[], None],
        units: dict[str, Unit],
        feed: Callable[[Unit, svc.Event, float], None],
    ) -> None:
        self._log = log
        self._restore = restore
        self._units = units
        self._feed = feed
        self._pids: dict[int, str] = {}

    def deadlines(self, units: Iterable[Unit]) -> list[float]:
        return [
            unit.health_deadline or unit.health_state.next_check
            for unit in units
            if unit.health_state is not None
        ]

    def on_active_change(self, unit: Unit, active: Active, now: float) -> None:
        if unit.health is not None:
            # Checks run while the unit is active, from a fresh start period.
            unit.health_state = health.begin(unit.health, now) if active is Active.ACTIVE else None

    def tick(self, units: Iterable[Unit], now: float) -> None:
        for unit in units:
            state, config = unit.health_state, unit.health
            if state is None or config is None:
                continue
            if unit.health_pid is not None:
                if unit.health_deadline is not None and now >= unit.health_deadline:
                    _kill(unit.health_pid)  # the timeout: its exit says "failed"
                    unit.health_deadline = None
                continue
            if now >= state.next_check:
                try:
                    pid = start_check(config, self._restore, unit.environment)
                except OSError as error:
                    self._log.warning(f"{unit.name}: cannot run its health check: {error}")
                    unit.health_state = health.record(config, state, False, now)[0]
                    continue
                unit.health_pid, unit.health_deadline = pid, now + config.timeout
                self._pids[pid] = unit.name

    def claim(self, pid: int, status: int, now: float) -> bool:
        """Take a reaped check process; its exit status is the verdict."""
        name = self._pids.pop(pid, None)
        if name is None:
            return False
        unit = self._units[name]
        unit.health_pid = unit.health_deadline = None
        if unit.health is None or unit.health_state is None:
            return True
        ok = os.waitstatus_to_exitcode(status) == 0
        unit.health_state, turned = health.record(unit.health, unit.health_state, ok, now)
        if not ok:
            failures = unit.health_state.failures
            self._log.info(f"{unit.name}: health check failed ({failures}/{unit.health.retries})")
        if turned and unit.state is not None:
            self._log.warning(f"{unit.name}: unhealthy after {unit.health.retries} failed checks")
            self._feed(unit, svc.Notified(watchdog_trigger=True), now)
        return True


def _kill(pid: int) -> None:
    import contextlib

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


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
