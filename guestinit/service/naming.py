"""Small decisions about units the manager makes at boot and per line of
output: which unit is a syslog daemon, what a unit's log lines are called,
and whether to make /run/systemd/system for the systemctl shim."""

import os

from guestinit import _log
from guestinit.service.registry import Unit
from guestinit.unitfile import UnitAction
from guestinit.unitfile.load import find_unit_file

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


_EXIT_ACTIONS = {UnitAction.EXIT, UnitAction.EXIT_FORCE}
_POWER_ACTIONS = {
    UnitAction.POWEROFF,
    UnitAction.POWEROFF_FORCE,
    UnitAction.POWEROFF_IMMEDIATE,
    UnitAction.REBOOT,
    UnitAction.REBOOT_FORCE,
    UnitAction.REBOOT_IMMEDIATE,
    UnitAction.HALT,
    UnitAction.HALT_FORCE,
    UnitAction.HALT_IMMEDIATE,
}


def exit_request(unit: Unit, failed: bool, essential: bool) -> tuple[int, str | None] | None:
    """FailureAction=/SuccessAction= (or ``--exit-on`` for an ``essential``
    unit) of a unit that failed or finished: guestinit's exit code and what a
    machine's init then does (poweroff, reboot, halt or None); None: nothing."""
    assert unit.spec is not None
    action = unit.spec.failure_action if failed else unit.spec.success_action
    if action not in _EXIT_ACTIONS and action not in _POWER_ACTIONS and not essential:
        return None
    # reboot-force etc.: a machine's init reboots (the stop is orderly anyway).
    power = action.value.split("-")[0] if action in _POWER_ACTIONS else None
    return exit_code(unit, failed), power


# Shipped units (units/): tmpfiles.d at boot, and its safe lines after daemon-reload.
TMPFILES_AT_BOOT = "systemd-tmpfiles-setup.service"
TMPFILES_ON_RELOAD = "guestinit-tmpfiles-create.service"


def tmpfiles_unit(name: str, wanted: bool, unit_path: tuple[str, ...], log: _log.Log) -> list[str]:
    """``[name]`` when tmpfiles.d is ``wanted`` and the unit exists (a
    --unit-path without the shipped units has none: said once, at info)."""
    if not wanted:
        return []
    if find_unit_file(name, unit_path) is None:
        log.info(f"{name} is not on the unit path: tmpfiles.d not applied")
        return []
    return [name]
