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

When a queued job may run (ordering, and a slice of work per turn of PID 1's
loop) is service.dispatch's; this module says what a job means. Side effects
only through the two callbacks the manager gives (begin a start, carry out a
stop) and the log. Each job's outcome looks only at the units that depend on
its unit (the registry's indexes), never at every unit: a start of 2,000
units stays linear.
"""

from collections.abc import Callable, Iterable

from guestinit import _log
from guestinit.service import jobs
from guestinit.service.dispatch import Dispatcher
from guestinit.service.jobs import JobResult
from guestinit.service.registry import Registry, Unit
from guestinit.service.states import Active, Sub

Act = Callable[[Unit, float], None]


class Transaction:
    def __init__(
        self, registry: Registry, log: _log.Log, begin: Act, stop: Act, budget: float
    ) -> None:
        self._registry = registry
        self._units = registry.units
        self._log = log
        self._begin = begin
        # Start jobs under way (begun, not over) and how each unit's last one ended.
        self.running: set[str] = set()
        self.results: dict[str, JobResult] = {}
        self._dispatcher = Dispatcher(registry, self._begin_job, stop, budget, self.running)
        self.pending_start = self._dispatcher.starts
        self.pending_stop = self._dispatcher.stops

    # ---- requests ----------------------------------------------------------------------
    def request_start(self, names: Iterable[str]) -> list[str]:
        """Queue a start of ``names`` and everything they pull in."""
        closure = self._registry.closure(names)
        for name in closure:
            if self._units[name].at_rest and name not in self.pending_start:
                self.pending_start.add(name)
                self.results.pop(name, None)
            self.pending_stop.discard(name)
        return closure

    def request_stop(self, name: str) -> None:
        """Stop ``name`` and what Requires=/BindsTo=/PartOf= it (systemd's
        explicit-stop propagation)."""
        followers = jobs.stop_followers(name, self._registry.dependants, self._is_up)
        for stopping in [name, *followers]:
            if stopping != name:
                self._log.info(f"{stopping}: stopping with {name}")
            self.queue_stop(stopping)

    def running_followers(self, name: str) -> list[str]:
        """The running units an explicit restart of ``name`` restarts too:
        what has Requires=, Requisite=, BindsTo= or PartOf= on it, and so on."""
        dependants = self._registry.dependants
        return jobs.stop_followers(name, dependants, lambda n: not self._units[n].at_rest)

    def queue_stop(self, name: str) -> None:
        self.pending_stop.add(name)
        self.pending_start.discard(name)
        if name in self.running:  # a stop cancels the start job
            self.running.discard(name)
            self.results[name] = JobResult.CANCELED

    def stop_everything(self) -> None:
        self.pending_start.clear()
        self.pending_stop.clear()
        self.pending_stop.update(
            name
            for name, unit in self._units.items()
            if not unit.at_rest or (unit.state is not None and unit.state.sub is Sub.AUTO_RESTART)
        )

    def is_pending(self, name: str) -> bool:
        return name in self.pending_start or name in self.pending_stop or name in self.running

    def busy(self) -> bool:
        return bool(self.pending_start or self.pending_stop)

    # ---- running jobs -----------------------------------------------------------------
    @property
    def has_work(self) -> bool:
        """A run was cut short by its budget: the next turn goes on at once."""
        return self._dispatcher.has_work

    def run(self, now: float) -> None:
        """Begin the queued jobs that wait for nothing, for one slice of time."""
        self._dispatcher.run(now)

    def changed(self, name: str) -> None:
        """``name`` changed state: the jobs waiting for it look again."""
        self._dispatcher.changed(name)

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
        self._dispatcher.changed(unit.name)
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
        up = unit.active in (Active.ACTIVE, Active.RELOADING)
        failed = jobs.cascade(
            unit.name,
            result,
            up,
            lambda name: self._units[name].deps,
            self._registry.dependants,
            lambda name: name in self.pending_start or name in self.running,
        )
        self._fail_with_dependency(failed)

    def _fail_with_dependency(self, names: list[str]) -> None:
        """These units' start jobs fail with result 'dependency': a job still
        queued never starts its unit; one running just ends."""
        for name in names:
            self._log.warning(f"Dependency failed for {name}.")
            self._log.info(f"{name}: Job {name}/start failed with result 'dependency'.")
            self.pending_start.discard(name)
            self.running.discard(name)
            self.results[name] = JobResult.DEPENDENCY

    def _follow_down(self, unit: Unit) -> None:
        """BindsTo= and PartOf= follow a unit down."""
        for name in sorted(self._registry.bound_to(unit.name)):
            other = self._units[name]
            if not other.at_rest and name not in self.pending_stop:
                self._log.info(f"{name}: stopping with {unit.name}")
                self.pending_stop.add(name)

    # ---- small helpers ----------------------------------------------------------------
    def _is_up(self, name: str) -> bool:
        return not self._units[name].at_rest or self.is_pending(name)

    def _settled_down(self, name: str) -> bool:
        other = self._units.get(name)
        return other is not None and other.at_rest and not self.is_pending(name)
