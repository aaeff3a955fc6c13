"""Which processes are a unit's, which pids a unit may claim as its main
process, and which it may have signalled (side effects: reads /proc and the
unit cgroups). The rules themselves are in service.main_pid (pure).

Everything a stop, ``ctl kill`` or ``KillMode=`` signals passes through
``targets()``: the unit's members (its cgroup, else its sessions and the
descendants of its processes) and its main and control processes, each with
the start time that proves it is still the same process, never PID 1, never
us and never the container's main process.
"""

import dataclasses
import os
from collections.abc import Callable

from guestinit.service.cgroups import UnitCgroups
from guestinit.service.main_pid import Candidate, Verdict, judge
from guestinit.service.registry import Unit
from guestinit.service.states import Role
from guestinit.service.tracking import ProcessTable, start_time


class Ownership:
    def __init__(
        self,
        units: dict[str, Unit],
        pids: dict[int, tuple[str, Role]],
        cgroups: UnitCgroups | None,
        table: Callable[[], ProcessTable] = ProcessTable.scan,
    ) -> None:
        self._units = units
        self._table = table  # the turn's /proc walk
        self._pids = pids  # our own unreaped children (and adopted main pids), by unit
        self._cgroups = cgroups
        self._protected: dict[int, str] = {1: "PID 1", os.getpid(): "the manager itself"}
        # unit -> (pid, start time) of a main process we did not spawn: its
        # pid could be freed and reused without our reaping it.
        self._adopted: dict[str, tuple[int, int]] = {}
        # Refusals of this turn (same /proc walk), so a unit repeating one
        # MAINPID= thousands of times costs one look, not thousands.
        self._refused: dict[tuple[str, int, bool], Verdict] = {}
        self._refused_in: ProcessTable | None = None

    def protect(self, pid: int, what: str) -> None:
        """``pid`` can never be claimed or signalled by any unit. (Nor its exit
        status taken: a pid adopted earlier from outside our tree may have been
        freed without our reaping it, and reused for this very process.)"""
        self._protected[pid] = what
        self._pids.pop(pid, None)

    def members(self, unit: Unit, table: ProcessTable) -> set[int]:
        state = unit.state
        roots = {pid for pid in (state.main_pid, state.control_pid) if pid} if state else set()
        members = table.members(unit.sessions, roots)
        if self._cgroups is not None:
            members |= self._cgroups.members(unit.name)
        return members - self._protected.keys()

    # ---- claims -------------------------------------------------------------------
    def judge(self, unit: Unit, pid: int, trusted: bool) -> Verdict:
        """May ``unit`` take ``pid`` as its main process (see service.main_pid)?"""
        table = self._table()
        if table is not self._refused_in:
            self._refused, self._refused_in = {}, table
        key = (unit.name, pid, trusted)
        if (known := self._refused.get(key)) is not None:
            return known
        verdict = self._judge(unit, pid, trusted, table)
        if not verdict:
            self._refused[key] = verdict
        return verdict

    def _judge(self, unit: Unit, pid: int, trusted: bool, table: ProcessTable) -> Verdict:
        """Cheap facts first: a unit may send MAINPID= as often as it likes, and
        most refusals need no look beyond the pid itself and its own unit."""
        exact = self._cgroups is not None
        control = unit.state.control_pid if unit.state else None
        owner = self._pids.get(pid)
        candidate = Candidate(
            pid=pid,
            alive=start_time(pid) is not None,
            in_unit=False,
            protected=self._protected.get(pid),
            other_unit=owner[0] if owner is not None and owner[0] != unit.name else None,
            is_control=pid == control,
        )
        early = candidate.protected or candidate.is_control or candidate.other_unit
        if early or not candidate.alive:
            return judge(candidate, trusted, exact)  # refused whatever else holds
        if pid not in table.entries:
            table = ProcessTable.scan()  # newer than the turn's walk (a daemon just forked)
        candidate = dataclasses.replace(candidate, in_unit=pid in self.members(unit, table))
        if candidate.in_unit:
            return judge(candidate, trusted, exact)
        same_user = not exact and _runs_as(pid, _unit_uid(unit))
        candidate = dataclasses.replace(candidate, same_user=same_user)
        if not (verdict := judge(candidate, trusted, exact)):
            return verdict
        # It would be accepted from outside the unit: only now ask every other unit.
        other = self._other_owner(unit, pid, table)
        return judge(dataclasses.replace(candidate, other_unit=other), trusted, exact)

    def adopt(self, unit: Unit, pid: int) -> None:
        """``pid`` (judged acceptable) is now ``unit``'s main process."""
        started = start_time(pid)
        if started is not None:
            self._adopted[unit.name] = (pid, started)
        self._pids[pid] = (unit.name, Role.MAIN)

    def spawned_main(self, unit: Unit) -> None:
        """A main process of our own replaces any adopted one."""
        self._adopted.pop(unit.name, None)

    # ---- signals --------------------------------------------------------------------
    def main_target(self, unit: Unit) -> tuple[int, int | None] | None:
        """The main pid to signal and its start time (None: our own unreaped
        child, which cannot have been reused), or None when it must not be."""
        pid = unit.state.main_pid if unit.state else None
        if pid is None or pid in self._protected:
            return None
        adopted = self._adopted.get(unit.name)
        if adopted is not None and adopted[0] == pid:
            return adopted
        if self._pids.get(pid) == (unit.name, Role.MAIN):
            return pid, None
        return None  # a main pid of unknown origin is never signalled

    def control_target(self, unit: Unit) -> tuple[int, int | None] | None:
        pid = unit.state.control_pid if unit.state else None
        if pid is None or pid in self._protected:
            return None
        if self._pids.get(pid) == (unit.name, Role.CONTROL):
            return pid, None
        return None

    def targets(self, unit: Unit, table: ProcessTable) -> dict[int, int | None]:
        """Every process of ``unit`` to signal, with its start time where known
        (from the scan: a pid reused since is then left alone)."""
        found: dict[int, int | None] = {
            pid: table.starts.get(pid) for pid in self.members(unit, table)
        }
        for target in (self.main_target(unit), self.control_target(unit)):
            if target is not None:
                found[target[0]] = target[1]
        return found

    # ---- helpers --------------------------------------------------------------------
    def _other_owner(self, unit: Unit, pid: int, table: ProcessTable) -> str | None:
        owner = self._pids.get(pid)
        if owner is not None and owner[0] != unit.name:
            return owner[0]
        if self._cgroups is not None:
            name = self._cgroups.unit_of(pid)
            if name is not None and name != os.path.basename(self._cgroups.path(unit.name)):
                return name
        session = table.entries.get(pid, (0, 0))[1]
        for other in self._units.values():
            if other is unit or other.state is None or other.at_rest:
                continue
            if session in other.sessions or pid in self.members(other, table):
                return other.name
        return None


def _unit_uid(unit: Unit) -> int | None:
    """The uid of the unit's User=, or None for root or an unknown user."""
    user = unit.spec.service.user if unit.spec and unit.spec.service else None
    if user is None:
        return None
    import pwd

    try:
        uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
    except KeyError:
        return None
    return uid or None


def _runs_as(pid: int, uid: int | None) -> bool:
    """Could ``uid`` signal ``pid`` itself (the kernel's rule: the target's
    real or saved uid is the sender's)?"""
    if uid is None:
        return False
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Uid:"):
                    real, _effective, saved = (int(x) for x in line.split()[1:4])
                    return uid in (real, saved)
    except (OSError, ValueError):
        return False
    return False
