"""Type=forking: which process is the main one once the parent has exited.

PIDFile= is read without blocking and trusted as service.main_pid says; else
(GuessMainPID=) the unit's only process is taken, if it may be. Side effects:
reads the PID file and /proc, and logs (rate-limited where a service can
provoke the line at will)."""

from guestinit import _log
from guestinit._ratelimit import LimitedLog
from guestinit.service.main_pid import Source, describe_refusal
from guestinit.service.ownership import Ownership
from guestinit.service.pid_file import read_pid_file
from guestinit.service.registry import Unit
from guestinit.service.tracking import ProcessTable


def find_main_pid(unit: Unit, owner: Ownership, limited: LimitedLog, log: _log.Log) -> int | None:
    service = unit.spec.service if unit.spec else None
    if service is None:
        return None
    if service.pid_file:
        found = read_pid_file(service.pid_file)
        if found.pid is None:
            # Not there (yet?) is ordinary; a FIFO, a device or garbage is not.
            level = _log.INFO if found.missing else _log.WARNING
            text = f"{unit.name}: PID file {service.pid_file}: {found.error}"
            limited.emit(level, f"{unit.name}: PID file unusable", text)
        elif verdict := owner.judge(unit, found.pid, found.trusted):
            return found.pid
        else:
            text = f"{unit.name}: {describe_refusal(Source.PID_FILE, verdict, found.distrust)}"
            limited.warning_of(f"{unit.name}: PID file refused", text)
    if not service.guess_main_pid:
        return None
    members = owner.members(unit, ProcessTable.scan())  # the daemon just forked
    guess = min(members) if len(members) == 1 else None
    if guess is None:
        return None
    if verdict := owner.judge(unit, guess, False):
        return guess
    log.debug(f"{unit.name}: {describe_refusal(Source.GUESS, verdict)}")
    return None
