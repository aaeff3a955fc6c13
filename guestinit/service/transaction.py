"""The job queue of the service manager: start and stop jobs in dependency
order, and what their outcome does to other units (systemd's job engine,
trimmed to what guestinit needs; the rules are in service.jobs).

- Queued start jobs begin once no unit they are ordered after (After=, or
  Before= on the other side) has a start job queued or running; queued stop
  jobs run the start order backwards.
- A start job runs until its unit is up, down or failed; a failure fails the
  pending start jobs of what Requires=/BindsTo=/Requisite= the unit.
- An explicit stop takes the units that need it along; a unit that goes down
  takes its BindsTo=/PartOf= dependants along; a unit bound to a unit that is
  down is stopped once it is up.

Side effects only through the two callbacks the manager gives (begin a
start, carry out a stop) and the log.
"""

from collections.abc import Callable, Iterable

from guestinit import _log
from guestinit.service import jobs, ordering
from guestinit.service.jobs import JobResult
from guestinit.service.registry import Registry, Unit
from guestinit.service.states import Active

Act = Callable[[Unit, float], None]


class Transaction:
    def __init__(self, registry: Registry, log: _log.Log, begin: Act, stop: Act) -> None:
        self._registry = registry
        self._units = registry.units
        self._log = log
        self._begin = begin
        self._stop = stop
        self.pending_start: list[str] = []
        self.pending_stop: set[str] = set()
        # Start jobs under way (begun, not over) and how each unit's last one ended.
        self.running: set[str] = set()
        self.results: dict[str, JobResult] = {}

    # ---- requests ----------------------------------------------------------------------
    def request_start(self, names: Iterable[str]) -> list[str]:
        """Queue a start of ``names`` and everything they pull in."""
        closure = self._registry.closure(names)
        for name in closure:
            unit = self._units[name]
            if unit.at_rest and name not in self.pending_start:
                self.pending_start.append(name)
                self.results.pop(name, None)
            self.pending_stop.discard(name)
        return closure

    def request_stop(self, name: str) -> None:
        """Stop ``name`` and what Requires=/BindsTo=/PartOf= it (systemd's
        explicit-stop propagation)."""
        followers = jobs.stop_followers(name, self._graph(), self._is_up)
        for stopping in [name, *followers]:
            if stopping != name:
                self._log.info(f"{stopping}: stopping with {name}")
            self.queue_stop(stopping)

    def running_followers(self, name: str) -> list[str]:
        """The running units an explicit restart of ``name`` restarts too:
        what has Requires=, Requisite=, BindsTo= or PartOf= on it, and so on."""
        return jobs.stop_followers(name, self._graph(), lambda n: not self._units[n].at_rest)

    def queue_stop(self, name: str) -> None:
        self.pending_stop.add(name)
        if name in self.pending_start:
            self.pending_start.remove(name)
        if name in self.running:  # a stop cancels the start job
            self.running.discard(name)
            self.results[name] = JobResult.CANCELED

    def stop_everything(self) -> None:
        self.pending_start.clear()
        # Not at rest includes a unit waiting to restart (activating).
        self.pending_stop = {name for name, unit in self._units.items() if not unit.at_rest}

    def is_pending(self, name: str) -> bool:
        return name in self.pending_start or name in self.pending_stop or name in self.running

    def busy(self) -> bool:
        return bool(self.pending_start or self.pending_stop)

    # ---- running jobs -----------------------------------------------------------------
    def dispatch(self, now: float) -> None:
        progressed = True
        while progressed:
            progressed = self._dispatch_stops(now) | self._dispatch_starts(now)

    def _dispatch_starts(self, now: float) -> bool:
        progressed = False
        for name in list(self.pending_start):
            if name not in self.pending_start:
                continue  # failed with a dependency in this very pass
            unit = self._units[name]
            waiting = [
                other
                for other in self._registry.edges.get(name, ())
                if other in self.pending_start
                or other in self.running
                or self._units[other].active is Active.ACTIVATING
            ]
            # Requisite= without After= still waits for a unit still starting.
            waiting += [
                other
                for other in unit.deps.requisite
                if other in self._units and self._units[other].active is Active.ACTIVATING
            ]
            if waiting:
                continue
            self.pending_start.remove(name)
            progressed = True
            self._begin_job(unit, now)
        return progressed

    def _dispatch_stops(self, now: float) -> bool:
        progressed = False
        reverse = ordering.stop_waits_for(self._registry.edges)
        for name in sorted(self.pending_stop):
            later = [
                other
                for other in reverse.get(name, ())
                if other in self.pending_stop or self._units[other].active is Active.DEACTIVATING
            ]
            if later:
                continue
            self.pending_stop.discard(name)
            progressed = True
            self._stop(self._units[name], now)
        return progressed

    def _begin_job(self, unit: Unit, now: float) -> None:
        missing = [
            dep
            for dep in sorted(unit.deps.requisite)
            if self._units.get(dep) is None
            or self._units[dep].active not in (Active.ACTIVE, Active.RELOADING)
        ]
        if missing:
            self._log.info(f"{unit.name}: Requisite= {', '.join(missing)} is not active")
            self._fail_with_dependency([unit.name])
            return
        self.running.add(unit.name)
        self._begin(unit, now)
        result = jobs.start_result(unit.active)
        if unit.name in self.running and result is not None:
            # Refused, skipped, a target, or a start that is over at once.
            self._finish(unit, result)

    # ---- consequences -------------------------------------------------------------------
    def on_active_change(self, unit: Unit, after: Active) -> None:
        result = jobs.start_result(after)
        if unit.name in self.running and result is not None:
            self._finish(unit, result)
        if after is Active.ACTIVE:
            for bound in jobs.unbound(unit.deps, self._settled_down):
                self._log.info(f"{unit.name}: bound to inactive unit {bound}: stopping, too")
                self.pending_stop.add(unit.name)
        if after in (Active.INACTIVE, Active.FAILED):
            self._follow_down(unit)

    def _finish(self, unit: Unit, result: JobResult) -> None:
        self.running.discard(unit.name)
        self.results[unit.name] = result
        pending = set(self.pending_start) | self.running
        up = unit.active in (Active.ACTIVE, Active.RELOADING)
        self._fail_with_dependency(jobs.cascade(unit.name, result, up, self._graph(), pending))

    def _fail_with_dependency(self, names: list[str]) -> None:
        """These units' start jobs fail with result 'dependency': a job still
        queued never starts its unit; one running just ends."""
        for name in names:
            self._log.warning(f"Dependency failed for {name}.")
            self._log.info(f"{name}: Job {name}/start failed with result 'dependency'.")
            if name in self.pending_start:
                self.pending_start.remove(name)
            self.running.discard(name)
            self.results[name] = JobResult.DEPENDENCY

    def _follow_down(self, unit: Unit) -> None:
        """BindsTo= and PartOf= follow a unit down."""
        for other in self._units.values():
            bound = unit.name in other.deps.binds_to or unit.name in other.deps.part_of
            if bound and not other.at_rest and other.name not in self.pending_stop:
                self._log.info(f"{other.name}: stopping with {unit.name}")
                self.pending_stop.add(other.name)

    # ---- small helpers ----------------------------------------------------------------
    def _graph(self) -> dict[str, ordering.Deps]:
        return {name: unit.deps for name, unit in self._units.items()}

    def _is_up(self, name: str) -> bool:
        return not self._units[name].at_rest or self.is_pending(name)

    def _settled_down(self, name: str) -> bool:
        other = self._units.get(name)
        return other is not None and other.at_rest and not self.is_pending(name)
