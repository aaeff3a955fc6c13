"""The loaded units: reading unit files on demand, what a start pulls in, the
ordering edges between them, daemon-reload. Side effects: reads unit files
(through guestinit.unitfile.load) and logs their diagnostics."""

import collections
import dataclasses
import os
import sys
from collections.abc import Iterable, Mapping, Sequence

from guestinit import _log
from guestinit.service import from_spec, jobs, ordering
from guestinit.service import model as svc
from guestinit.service.health import HealthConfig, HealthState, parse_health
from guestinit.service.sockets import SocketConfig, parse_socket
from guestinit.service.states import Active
from guestinit.timer.timer_unit import TimerConfig, TimerState, parse_timer
from guestinit.unitfile import Diagnostic, Severity, UnitSpec, load

# syslog.socket is journald's forwarding socket (/run/systemd/journal/syslog):
# with no journald nothing arrives there, so a syslog daemon handed it would
# log nothing. It stays inert: the daemon opens /dev/log itself, or the
# built-in syslog owns /dev/log.
_INERT_SOCKETS = frozenset({"syslog.socket"})


def default_unit_path() -> tuple[str, ...]:
    """Ours first, then the distribution's, then the units shipped with guestinit
    (units/ of a checkout, or share/guestinit/units of an installation)."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shipped = os.path.join(checkout, "units")
    if not os.path.isdir(shipped):
        shipped = os.path.join(sys.prefix, "share", "guestinit", "units")
    paths = ["/etc/guestinit/units", "/etc/systemd/system", "/lib/systemd/system"]
    return (*paths, shipped) if os.path.isdir(shipped) else tuple(paths)


@dataclasses.dataclass(slots=True)
class Unit:
    """One unit's runtime record."""

    name: str
    spec: UnitSpec | None
    deps: ordering.Deps
    config: svc.ServiceConfig | None = None
    state: svc.State | None = None
    kind: str = "service"  # "service", "target", "timer", "socket" or "inert"
    target_active: bool = False
    load_error: str | None = None
    # A start was refused before any process ran (not found, refused type,
    # assertion, environment file): failed, as systemd shows it. A unit that
    # was only looked at (ctl is-active ghost) stays inactive.
    start_failed: bool = False
    skipped: bool = False  # a condition failed at the last start
    sessions: set[int] = dataclasses.field(default_factory=set)
    # The active state last acted upon (feeds nest: a spawn feeds Spawned).
    reported: Active = Active.INACTIVE
    last_main_pid: int | None = None
    # X-HealthCheck=: the configuration, where the checks stand, the running one.
    health: "HealthConfig | None" = None
    health_state: "HealthState | None" = None
    health_pid: int | None = None
    health_deadline: float | None = None
    # Timer units: configuration, state, the next elapse (monotonic).
    timer: "TimerConfig | None" = None
    timer_state: "TimerState | None" = None
    timer_next: float | None = None
    environment: dict[str, str] = dataclasses.field(default_factory=dict)
    # Socket units: what to listen on and what to start.
    socket: "SocketConfig | None" = None
    # A unit file that exists but could not be used: where it is and why
    # ("FILE:LINE: message" each); systemd's load state "bad-setting".
    bad_file: str | None = None
    load_reasons: tuple[str, ...] = ()

    @property
    def active(self) -> Active:
        if self.start_failed:
            return Active.FAILED  # a start was asked for and could not happen
        if self.state is not None:
            return self.state.active
        return Active.ACTIVE if self.target_active else Active.INACTIVE

    @property
    def at_rest(self) -> bool:
        return self.active in (Active.INACTIVE, Active.FAILED)


def _file_of(name: str, unit_path: tuple[str, ...]) -> str | None:
    try:
        return load.find_unit_file(name, unit_path)
    except ValueError:  # not a valid unit name
        return None


# A broken file can hold a million bad lines: past this many diagnostics per
# unit, the rest are counted, not printed.
MAX_DIAGNOSTICS = 20


def _shown(diagnostics: Sequence[Diagnostic]) -> Sequence[Diagnostic]:
    """The diagnostics worth printing: errors first (why a unit is refused)."""
    if len(diagnostics) <= MAX_DIAGNOSTICS:
        return diagnostics
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    rest = [d for d in diagnostics if d.severity is not Severity.ERROR]
    return (errors + rest)[:MAX_DIAGNOSTICS]


class Registry:
    """Every unit loaded so far, by name, and the ordering edges between them.

    The edges are recomputed lazily, once after a batch of loads rather than
    after each: a start of 2,000 units loads 2,000 files, and recomputing the
    whole graph after every one of them made the start quadratic."""

    def __init__(self, unit_path: tuple[str, ...], enabled_dir: str, log: _log.Log) -> None:
        self.unit_path = unit_path
        self.enabled_dir = enabled_dir
        self.units: dict[str, Unit] = {}
        self._log = log
        self._edges: dict[str, set[str]] = {}
        self._stop_edges: dict[str, set[str]] = {}
        self._bound_by: dict[str, set[str]] = {}
        self._dependants: dict[str, set[str]] = {}
        self._stale = False
        # Set while a batch of files is being read over several turns: the
        # ordering is computed once at its end, not after every slice.
        self.hold = False
        # Bumped at each recomputation: who caches decisions made on the
        # edges (the manager's job queues) looks again when it changes.
        self.generation = 0
        # A cycle is reported once, when first found, not at every load.
        self._reported_cycles: set[frozenset[str]] = set()

    @property
    def edges(self) -> Mapping[str, set[str]]:
        """For each unit, the units that must finish starting before it starts."""
        self._refresh()
        return self._edges

    @property
    def stop_edges(self) -> Mapping[str, set[str]]:
        """For each unit, the units that must finish stopping before it stops."""
        self._refresh()
        return self._stop_edges

    @property
    def stale(self) -> bool:
        """The next look at the ordering recomputes it (tens of ms for
        thousands of units: a turn of its own is best)."""
        return self._stale and not self.hold

    def bound_to(self, name: str) -> set[str]:
        """The units that say BindsTo= or PartOf= ``name``: they stop with it."""
        self._refresh()
        return self._bound_by.get(name, set())

    @property
    def dependants(self) -> Mapping[str, set[str]]:
        """For each unit, the units with Requires=/Requisite=/BindsTo=/PartOf= on it."""
        self._refresh()
        return self._dependants

    def enabled_units(self) -> list[str]:
        try:
            entries = sorted(os.listdir(self.enabled_dir))
        except OSError:
            return []
        return [name for name in entries if "." in name and not name.endswith((".d", ".wants"))]

    def closure(self, roots: Iterable[str]) -> list[str]:
        queue = collections.deque(roots)
        seen: dict[str, None] = {}
        while queue:
            name = queue.popleft()
            if name in seen:
                continue
            seen[name] = None
            unit = self.units.get(name) or self.load(name)
            queue.extend(sorted(unit.deps.pulls))
        return list(seen)

    def load(self, name: str, keep: bool = True) -> Unit:
        """Read ``name``'s files into a Unit, kept in ``units``; one without
        files is kept only if ``keep`` (a start's dependency, not a query)."""
        result = load.load_unit(name, search_path=self.unit_path)
        quiet = result.spec is None and name.endswith(".target")  # known without a file
        shown = () if quiet else _shown(result.diagnostics)
        for diagnostic in shown:
            level = _log.ERROR if diagnostic.severity is Severity.ERROR else _log.WARNING
            self._log.emit(level, f"{diagnostic.file}:{diagnostic.line}: {diagnostic.message}")
        if not quiet and len(shown) < len(result.diagnostics):
            hidden = len(result.diagnostics) - len(shown)
            self._log.warning(f"{name}: {hidden} more diagnostics not shown")
        spec = result.spec
        found = _file_of(name, self.unit_path) if spec is None else None
        if spec is None and found is None and not keep:
            placeholder = Unit(name, None, ordering.Deps())
            placeholder.kind = "target" if name.endswith(".target") else "inert"
            return placeholder
        if spec is None and found is not None:
            unit = Unit(name, None, ordering.Deps(), bad_file=found)
            unit.load_reasons = tuple(
                f"{d.file}:{d.line}: {d.message}" if d.line else f"{d.file}: {d.message}"
                for d in result.diagnostics
                if d.severity is Severity.ERROR
            )
            unit.load_error = f"Unit {name} has a bad unit file setting."
            self._log.error(f"{name}: bad unit file setting; not started")
        elif spec is None:
            unit = Unit(name, None, ordering.Deps())
            if name.endswith(".target"):
                unit.kind = "target"  # targets are known without files
            else:
                unit.load_error = "unit not found or not loadable"
                self._log.error(f"{name}: {unit.load_error}; not started")
        else:
            unit = Unit(name, spec, from_spec.deps(spec))
            if spec.service is not None and name.endswith(".service"):
                refusal = from_spec.refusal(spec)
                if refusal:
                    unit.load_error = refusal
                    self._log.error(f"{spec.path}: {name}: {refusal}")
                else:
                    unit.config = from_spec.service_config(spec)
                    unit.state = svc.initial(unit.config)
                    unit.health, problems = parse_health(spec)
                    for problem in problems:
                        self._log.warning(problem)
            elif name.endswith(".target"):
                unit.kind = "target"
            elif name.endswith(".timer"):
                unit.kind = "timer"
                unit.timer, problems = parse_timer(spec)
                for problem in problems:
                    self._log.warning(problem)
                if unit.timer is None:
                    unit.load_error = "no usable trigger"
            elif name.endswith(".socket") and name not in _INERT_SOCKETS:
                self._load_socket(unit, spec)
            else:
                unit.kind = "inert"
                self._log.info(f"{name}: this unit type is not run by guestinit; counted as up")
        self.units[name] = unit
        self._stale = True
        return unit

    def _load_socket(self, unit: Unit, spec: UnitSpec) -> None:
        unit.kind = "socket"
        unit.socket, problems = parse_socket(spec)
        for problem in problems:
            self._log.warning(problem)
        if unit.socket is None:
            unit.load_error = "nothing to listen on"
        elif not unit.socket.accepts:
            # systemd's implicit Before= on the service it triggers: a service
            # started along with its socket finds the descriptors open.
            before = unit.deps.before | {unit.socket.service}
            unit.deps = dataclasses.replace(unit.deps, before=before)

    def forget(self, name: str) -> None:
        """Drop a unit that ended and is not wanted again (an Accept=yes instance)."""
        if self.units.pop(name, None) is not None:
            self._stale = True

    def _refresh(self) -> None:
        if not self._stale or self.hold:
            return
        self._stale = False
        self.generation += 1
        graph = {name: unit.deps for name, unit in self.units.items()}
        edges, cycles = ordering.break_cycles(ordering.waits_for(graph, graph), graph)
        for cycle in cycles:
            key = frozenset(cycle)
            if key not in self._reported_cycles:
                self._reported_cycles.add(key)
                self._log.warning(f"ordering cycle {' -> '.join([*cycle, cycle[0]])}: broken")
        self._edges = edges
        self._stop_edges = ordering.stop_waits_for(edges)
        bound: dict[str, set[str]] = {}
        for name, deps in graph.items():
            for other in deps.binds_to | deps.part_of:
                bound.setdefault(other, set()).add(name)
        self._bound_by = bound
        self._dependants = jobs.dependants(graph)

    def unit_file(self, name: str) -> str | None:
        """The file that defines ``name`` apart from an enable link (what
        ``enable`` links to, also after a ``disable`` removed the link the
        unit was loaded through)."""
        folder = self.enabled_dir.rstrip("/")
        return _file_of(name, tuple(p for p in self.unit_path if p.rstrip("/") != folder))

    def get(self, name: str) -> Unit:
        """The unit, loading its file if needed (without starting it). A name
        without files gets a placeholder that is not kept: queries for names
        that do not exist must not grow the table."""
        unit = self.units.get(name)
        if unit is None:
            unit = self.load(name, keep=False)
        return unit

    def reload_one(self, name: str) -> list[str]:
        """Read ``name``'s files again; running processes and states are kept,
        new settings apply from the next start. Returns its diagnostics."""
        unit = self.units.get(name)
        if unit is None:
            return []
        if unit.spec is None and unit.kind != "target" and unit.at_rest:
            # Not found or unusable before: a package may have brought or fixed it.
            self.load(name)
            return []
        result = load.load_unit(name, search_path=self.unit_path)
        shown = _shown(result.diagnostics)
        warnings = [f"{d.file}:{d.line}: {d.message}" for d in shown]
        if len(shown) < len(result.diagnostics):
            warnings.append(f"{name}: {len(result.diagnostics) - len(shown)} more not shown")
        if result.spec is not None:
            unit.spec = result.spec
            unit.deps = from_spec.deps(result.spec)
            if unit.config is not None and result.spec.service is not None:
                unit.config = from_spec.service_config(result.spec)
        return warnings

    def reloaded(self) -> None:
        """A reload is over: the ordering is computed afresh."""
        self._stale = True
