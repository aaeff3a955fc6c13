"""Small decisions about units the manager makes at boot and per line of
output: which unit is a syslog daemon, what a unit's log lines are called,
and whether to make /run/systemd/system for the systemctl shim."""

import os

from guestinit import _log
from guestinit.service.registry import Unit

_SYSLOG_DAEMONS = frozenset({"rsyslog.service", "syslog-ng.service", "syslog.service"})


def is_syslog_daemon(unit: Unit) -> bool:
    """A unit that will own /dev/log itself (so the built-in syslog stays off)."""
    aliases = set(unit.spec.install.alias) if unit.spec is not None else set()
    return unit.name in _SYSLOG_DAEMONS or "syslog.service" in aliases


def log_name(unit: Unit) -> str:
    """The prefix of the unit's log lines: SyslogIdentifier=, else the name
    without ".service" ("ssh[123]: Server listening on ...")."""
    service = unit.spec.service if unit.spec else None
    if service is not None and service.syslog_identifier:
        return service.syslog_identifier
    return unit.name.removesuffix(".service")


def announce_systemctl_shim(log: _log.Log) -> None:
    """As PID 1 with our systemctl shim on PATH, make /run/systemd/system, the
    directory through which Debian's scripts (rsyslog-rotate, invoke-rc.d)
    decide to call systemctl. Without the shim it would send them to a
    systemctl that cannot work, so then it is left alone."""
    import shutil
    import sys

    if os.getpid() != 1 or os.path.exists("/run/systemd/system"):
        return
    found = shutil.which("systemctl")
    ours = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if found is None or os.path.realpath(found) != ours:
        return
    try:
        os.makedirs("/run/systemd/system", exist_ok=True)
        log.info(
            "systemctl is guestinit's shim: made /run/systemd/system for the scripts that check it"
        )
    except OSError as error:
        log.warning(f"cannot make /run/systemd/system: {error.strerror}")


def exit_code(unit: Unit, failed: bool) -> int:
    """What guestinit exits with for FailureAction=/SuccessAction=exit:
    *ActionExitStatus= if set, else the main process's code (128+N when killed
    by signal N), else 1 for a failure and 0 for a success."""
    assert unit.spec is not None
    spec = unit.spec
    explicit = spec.failure_action_exit_status if failed else spec.success_action_exit_status
    if explicit is not None:
        return explicit
    state = unit.state
    code, signal = state.main_exit if state and state.main_exit else (None, None)
    if signal is not None:
        return 128 + signal
    if code is not None:
        return code
    return 1 if failed else 0
