"""The service manager: loads units, runs start and stop transactions in
dependency order, feeds every event through service.model and executes what
it returns. It lives inside PID 1's loop (pid1.loop.Services): it never
blocks (unit files are read and jobs run a slice per turn: service.loading,
service.transaction), and only pid1/reaper waits for processes.

Unit kinds: services run; targets are synchronization points, active once
what they are ordered after is up; timers start services when they elapse;
sockets listen and start their service on traffic (service.socket_units);
other kinds (path, mount, syslog.socket) are accepted as inert so
dependencies on them hold, with one note each.
"""

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterable

from guestinit import _log
from guestinit._ratelimit import LimitedLog
from guestinit.control.handler import open_control
from guestinit.logs.ring import LogRing
from guestinit.logs.router import LogRouter
from guestinit.pid1 import model as init_model
from guestinit.pid1.signals import SignalSource
from guestinit.service import executor, forking, naming, starting
from guestinit.service import model as svc
from guestinit.service.cgroups import UnitCgroups
from guestinit.service.from_spec import REACHED_AT_BOOT
from guestinit.service.health_run import HealthWatch
from guestinit.service.loading import Loader
from guestinit.service.notify_route import NotifyRoute
from guestinit.service.notify_socket import NotifySocket
from guestinit.service.ownership import Ownership
from guestinit.service.registry import Registry, Unit, default_unit_path
from guestinit.service.socket_units import SocketUnits
from guestinit.service.spawn import SetupFailed, read_spawn_error
from guestinit.service.states import Active, Role, ServiceType, Whom
from guestinit.service.timers import Timers
from guestinit.service.tracking import ProcessTable, nearest_known, signal_all, signal_process
from guestinit.service.transaction import Transaction
from guestinit.service.watch import Watchlist
from guestinit.unitfile import StdKind

# How often unit emptiness is checked while a unit waits for its processes to
# go (a process that is not our child dies without telling us): often at
# first, when most daemons' last processes are just exiting (a stop then ends
# in milliseconds, not at the next 100 ms poll), then less.
_EMPTY_POLL = 0.1
_EMPTY_POLL_FIRST = 0.01
_EMPTY_POLL_FIRST_FOR = 0.2

# At most this much manager work (reading unit files, starting queued units)
# per turn of the loop; the rest waits for the next turn, so that reaping and
# signal forwarding are never held up long by a start of thousands of units.
_TURN_BUDGET = 0.01


@dataclasses.dataclass(frozen=True)
class ManagerOptions:
    unit_path: tuple[str, ...] = dataclasses.field(default_factory=default_unit_path)
    enabled_dir: str = "/etc/guestinit/units"
    start: tuple[str, ...] = ()
    exit_on: tuple[str, ...] = ()
    runtime_dir: str = "/run/guestinit"
    control_socket: str | None = "/run/guestinit/control.sock"
    control_group: str | None = None
    log_format: str = "prefixed"
    log_dir: str | None = None
    log_max_bytes: int = 10 * 1024 * 1024
    log_keep: int = 5
    # The built-in syslog's socket (None: no built-in syslog) and its filter.
    syslog_socket: str | None = "/dev/log"
    syslog_min_severity: int = 7
    # journald's native socket: StandardOutput=journal goes there if it listens.
    journal_socket: str = "/run/systemd/journal/socket"
    # One cgroup per unit where the hierarchy is writable (else: sessions).
    unit_cgroups: bool = True
    # Persistent= timer stamps live in STATE_DIR/timers.
    state_dir: str = "/var/lib/guestinit"
    # Apply tmpfiles.d: at boot, and again (safe lines only) on daemon-reload.
    tmpfiles: bool = False


class Manager:
    """pid1.loop.Services for systemd units."""

    def __init__(self, options: ManagerOptions, log: _log.Log, signals: SignalSource) -> None:
        self._options = options
        self._log = log
        self._signals = signals
        self._registry = Registry(options.unit_path, options.enabled_dir, log)
        # The same dict as the registry's: loading a unit makes it visible here.
        self._units = self._registry.units
        self._loader = Loader(self._registry)
        self._watch = Watchlist()
        # Starts that wait for unit files to be read: the boot's, tmpfiles.d's after a reload.
        self._boot_roots: list[str] | None = None
        self._tmpfiles_after_reload = False
        self._jobs = Transaction(
            self._registry, log, self._begin_start, self._carry_out_stop, _TURN_BUDGET
        )
        self.job_results = self._jobs.results  # how each unit's last start job ended
        self._pids: dict[int, tuple[str, Role]] = {}
        # One /proc walk per turn of the loop, shared by everything in it:
        # a walk per unit (stopping 200 units, 200 READY=1 with
        # NotifyAccess=all) made those quadratic.
        self._scan: ProcessTable | None = None
        self._empty_wait_since: float | None = None  # when some unit began to wait for empty
        self._health = HealthWatch(log, signals.restore_in_child, self._units, self._feed)
        self._timers = Timers(
            log, self._units, os.path.join(options.state_dir, "timers"), self._start_by_timer
        )
        self._sockets = SocketUnits(
            log,
            self._units,
            self._start_by_timer,
            self._registry.get,
            lambda name: self.stopping or self.is_pending(name),
            self._registry.forget,
        )
        self._error_fds: dict[int, tuple[str, int, Role]] = {}
        self._boot: set[str] = set()
        self._events: list[init_model.Event] = []
        self._ready_reported = False
        self._stopping_all = False
        self._stopped_reported = False
        self._exit_requested = False
        notify_path = os.path.join(options.runtime_dir, "notify.sock")
        self._notify = NotifySocket(notify_path)
        self._logs = LogRouter(
            log, options.log_format, options.log_dir, options.log_max_bytes, options.log_keep
        )
        self._logs.unit_of_pid = self._unit_of_pid
        if self._logs.open_journal(options.journal_socket):
            log.info(f"StandardOutput=journal goes to journald at {options.journal_socket}")
        self._control = open_control(self, options.control_socket, options.control_group, log)
        self._cgroups = UnitCgroups.detect(log) if options.unit_cgroups else None
        self._owner = Ownership(self._units, self._pids, self._cgroups, self._process_table)
        # Warnings any service (as any user) can provoke at will are rate-limited.
        self._limited = LimitedLog(log)
        self._notified = NotifyRoute(
            self._notify,
            self._units,
            self._pids,
            self._owner,
            self._limited,
            self._feed,
            self._process_table,
        )

    # ---- Services protocol -------------------------------------------------------
    def readers(self) -> dict[int, Callable[[], None]]:
        readers: dict[int, Callable[[], None]] = {self._notify.fileno(): self._notified.on_readable}
        for fd in self._error_fds:
            readers[fd] = functools.partial(self._on_spawn_report, fd)
        readers.update(self._logs.readers())
        readers.update(self._sockets.readers())
        if self._control is not None:
            server = self._control[0]
            for fd in server.fds():
                readers[fd] = functools.partial(server.handle, fd)
        return readers

    def writers(self) -> dict[int, Callable[[], None]]:
        writers = self._logs.writers()
        if self._control is not None:
            server = self._control[0]
            writers.update({fd: functools.partial(server.handle, fd) for fd in server.write_fds()})
        return writers

    def next_deadline(self) -> float | None:
        due = [
            d
            for unit in self._watch
            if unit.state is not None and (d := unit.state.next_deadline()) is not None
        ]
        if self._watch.waiting_for_empty():
            now = time.monotonic()
            if self._empty_wait_since is None:
                self._empty_wait_since = now
            fresh = now - self._empty_wait_since < _EMPTY_POLL_FIRST_FOR
            due.append(now + (_EMPTY_POLL_FIRST if fresh else _EMPTY_POLL))
        else:
            self._empty_wait_since = None
        if self._jobs.busy():
            due.append(time.monotonic() + _EMPTY_POLL)
        if self._loader.busy or self._jobs.has_work:
            due.append(time.monotonic())  # work left over from the last turn
        partial = self._logs.next_deadline()
        if partial is not None:
            due.append(partial)
        due.extend(self._health.deadlines(self._watch))
        due.extend(self._timers.deadlines())
        if (flush := self._limited.next_deadline()) is not None:
            due.append(flush)
        if self._control is not None:
            # A held ``logs`` request's answer; an idle or unfinished connection's end.
            server, handler = self._control
            due.extend(d for d in (handler.next_deadline(), server.next_deadline()) if d)
        return min(due) if due else None

    def tick(self, now: float) -> None:
        self._loader.work(time.monotonic() + _TURN_BUDGET)
        self._files_read(now)
        for unit in self._watch:
            deadline = unit.state.next_deadline() if unit.state is not None else None
            if deadline is not None and now >= deadline:
                self._feed(unit, svc.Timer(), now)
        self._check_empty(now)
        self._jobs.run(now)
        self._report_progress()
        self._logs.tick(now)
        self._scan = None  # the next turn looks at /proc afresh
        self._health.tick(self._watch, now)
        self._timers.tick(now)
        self._sockets.tick()
        self._limited.flush()
        if self._control is not None:
            self._control[1].check()
            self._control[0].expire(now)

    def claim(self, pid: int, status: int, now: float) -> bool:
        if self._health.claim(pid, status, now):
            return True
        owner = self._pids.pop(pid, None)
        if owner is None:
            return False
        unit = self._units[owner[0]]
        if owner[1] is Role.MAIN:
            unit.last_main_pid = pid
        code = os.waitstatus_to_exitcode(status)
        event = svc.Exited(pid, None, -code) if code < 0 else svc.Exited(pid, code)
        self._feed(unit, event, now)
        return True

    def start(self, now: float) -> None:
        naming.announce_systemctl_shim(self._log)
        for name in REACHED_AT_BOOT:
            target = self._registry.get(name)
            if target is not None and target.kind == "target":
                target.target_active = True
        roots = list(self._registry.enabled_units()) + list(self._options.start)
        roots = [*self._tmpfiles_unit(naming.TMPFILES_AT_BOOT), *roots]
        if not roots:
            self._log.info("no units to start")
        self._boot_roots = roots
        self._loader.preload(roots)
        self._files_read(now)

    def _files_read(self, now: float) -> None:
        """The starts that waited for unit files, once those are read."""
        if self._loader.busy:
            return
        if self._tmpfiles_after_reload:
            self._tmpfiles_after_reload = False
            if not self.stopping:
                self.request_start(self._tmpfiles_unit(naming.TMPFILES_ON_RELOAD), now)
        roots, self._boot_roots = self._boot_roots, None
        if roots is None:
            return
        self._boot = set(self.request_start(roots, now))
        syslog = self._options.syslog_socket
        if syslog and not any(naming.is_syslog_daemon(self._units[name]) for name in self._boot):
            self._logs.open_syslog(syslog, self._options.syslog_min_severity)
        self._jobs.run(now)
        self._report_progress()

    def stop_all(self, now: float) -> None:
        self._stopping_all = True
        self._boot_roots = None
        self._jobs.stop_everything()
        self._jobs.run(now)
        self._report_progress()

    def has_events(self) -> bool:
        return bool(self._events)

    def main_spawned(self, pid: int) -> None:
        """The container's main process: no unit may ever claim or signal it."""
        self._owner.protect(pid, "the container's main process")

    def events(self) -> list[init_model.Event]:
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        self._limited.flush(everything=True)  # counts are not lost at exit
        if self._cgroups is not None:
            self._cgroups.close()
        self._logs.close()
        self._sockets.close()
        self._notify.close()
        if self._control is not None:
            self._control[0].close()
        for fd in list(self._error_fds):
            os.close(fd)
        self._error_fds.clear()

    # ---- public queries and jobs (the control socket uses these) ----------------
    @property
    def units(self) -> dict[str, Unit]:
        return self._units

    def request_start(self, names: Iterable[str], now: float) -> list[str]:
        """Queue a start of ``names`` and everything they pull in."""
        return self._jobs.request_start(names)

    def _start_by_timer(self, name: str, now: float) -> None:
        if self._stopping_all or self._exit_requested:
            return
        self.request_start([name], now)
        self._jobs.run(now)

    def timer_rows(self) -> list[tuple[str, str, float | None, float | None]]:
        return self._timers.rows()

    def request_stop(self, name: str, now: float) -> None:
        self._jobs.request_stop(name)
        self._jobs.run(now)

    def job(self, name: str, event: svc.Event, now: float) -> None:
        """Restart/reload (and their variants) go straight to the model; a
        restart restarts the running units that need this one too."""
        unit = self._units.get(name)
        if unit is not None and unit.state is not None:
            self._feed(unit, event, now)
        if isinstance(event, svc.RestartJob):
            for other in self._jobs.running_followers(name):
                self._log.info(f"{other}: restarting with {name}")
                follower = self._units[other]
                if follower.state is not None:
                    self._feed(follower, event, now)

    def kill(self, name: str, number: int, whom: Whom) -> None:
        unit = self._units[name]
        self._kill(unit, number, whom)

    def request_exit(self, code: int, power: str | None = None) -> None:
        """``ctl exit``/``poweroff``: stop everything, exit with ``code`` (a
        machine's init then does ``power``: poweroff, reboot or halt)."""
        self._exit_requested = True
        self._events.append(init_model.ExitRequested(code, power))

    def is_pending(self, name: str) -> bool:
        return self._jobs.is_pending(name)

    def unit_pids(self, unit: Unit, table: ProcessTable | None = None) -> set[int]:
        """The unit's processes; pass one ``table`` when asking for many units."""
        if not unit.sessions:
            return set()
        return self._members(unit, table or self._process_table())

    def load_unit(self, name: str) -> Unit:
        """The unit, loading its file if needed (without starting it)."""
        return self._registry.get(name)

    def preload(self, names: Iterable[str]) -> bool:
        """Read the files a job on ``names`` needs, over the next turns;
        True while some are left (see ``loading``)."""
        return self._loader.preload(names)

    @property
    def loading(self) -> bool:
        return self._loader.busy

    def begin_reload(self) -> None:
        """daemon-reload, over the next turns; ``reload_warnings`` once
        ``loading`` is over (then tmpfiles.d's safe lines are applied again)."""
        self._loader.reload()
        self._tmpfiles_after_reload = True

    @property
    def reload_warnings(self) -> list[str]:
        return self._loader.reload_warnings

    def _tmpfiles_unit(self, name: str) -> list[str]:
        wanted, path = self._options.tmpfiles, self._registry.unit_path
        return naming.tmpfiles_unit(name, wanted, path, self._log)

    @property
    def log_ring(self) -> LogRing:
        return self._logs.ring

    @property
    def enabled_dir(self) -> str:
        return self._options.enabled_dir

    def unit_file(self, name: str) -> str | None:
        return self._registry.unit_file(name)

    @property
    def stopping(self) -> bool:
        return self._stopping_all or self._exit_requested

    @property
    def booted(self) -> bool:
        return self._ready_reported

    # ---- jobs -----------------------------------------------------------------------
    def _carry_out_stop(self, unit: Unit, now: float) -> None:
        if unit.state is not None:
            self._feed(unit, svc.StopJob(), now)
        elif unit.target_active:
            unit.target_active = False
            self._timers.stop(unit)
            self._sockets.stop(unit)
            self._jobs.changed(unit.name)

    def _begin_start(self, unit: Unit, now: float) -> None:
        for conflict in unit.deps.conflicts:
            if conflict in self._units and not self._units[conflict].at_rest:
                self._jobs.queue_stop(conflict)
        if unit.kind == "socket":
            self._sockets.start(unit, now)
            return
        if unit.kind != "service" or unit.spec is None:
            unit.target_active = unit.load_error is None
            unit.start_failed = unit.load_error is not None
            if unit.kind == "timer" and unit.target_active:
                self._timers.start(unit, now)
            return
        if unit.state is None:
            unit.start_failed = True  # refused at load time
            return
        if starting.prepare_service(unit, self._log):
            self._feed(unit, svc.StartJob(), now)

    # ---- events into the model, actions out ---------------------------------------------
    def _feed(self, unit: Unit, event: svc.Event, now: float) -> None:
        assert unit.state is not None and unit.config is not None
        unit.state, actions = svc.step(unit.config, unit.state, event, now)
        self._note_change(unit, now)
        for action in actions:
            try:
                self._execute(unit, action, now)
            except Exception:
                _log.print_traceback(self._log, f"{unit.name}: while executing {action!r}")
        self._note_change(unit, now)
        self._watch.update(unit)

    def _note_change(self, unit: Unit, now: float) -> None:
        before, after = unit.reported, unit.active
        if after is not before:
            unit.reported = after
            self._on_active_change(unit, before, after, now)

    def _execute(self, unit: Unit, action: svc.Action, now: float) -> None:
        if isinstance(action, svc.Spawn):
            self._spawn(unit, action, now)
        elif isinstance(action, svc.Kill):
            self._kill(unit, action.signal, action.whom)
        elif isinstance(action, svc.ReadPidFile):
            self._read_pid_file(unit, now)
        elif isinstance(action, svc.Note):
            self._log.emit(
                _log.WARNING if action.warning else _log.INFO, f"{unit.name}: {action.text}"
            )

    def _spawn(self, unit: Unit, action: svc.Spawn, now: float) -> None:
        assert unit.spec is not None
        command = executor.command_of(unit.spec, action.phase, action.index)
        environment = unit.environment
        main_pid = unit.state.main_pid if unit.state else None
        if main_pid is not None:
            # Control processes see $MAINPID (ExecReload=/bin/kill -HUP $MAINPID).
            environment = {**environment, "MAINPID": str(main_pid)}
        read_fd, write_fd = self._logs.new_pipe()
        try:
            cgroup = self._cgroups.create(unit.name) if self._cgroups else None
            ctx = executor.exec_context(
                unit.spec, command, environment, self._notify.path, write_fd, cgroup
            )
            if action.role is Role.MAIN:
                ctx = self._sockets.pass_fds(unit, ctx)
            handle = executor.spawn(ctx, self._signals.restore_in_child)
        except (SetupFailed, OSError, ValueError) as error:
            os.close(read_fd)
            os.close(write_fd)
            self._feed(unit, svc.SpawnFailed(action.role, str(error)), now)
            return
        os.close(write_fd)
        journal = unit.spec.service is not None and (
            unit.spec.service.standard_output.kind is StdKind.JOURNAL
        )
        self._logs.attach(read_fd, naming.log_name(unit), handle.pid, journal, unit.name)
        self._pids[handle.pid] = (unit.name, action.role)
        if action.role is Role.MAIN:
            self._owner.spawned_main(unit)
        self._error_fds[handle.error_fd] = (unit.name, handle.pid, action.role)
        unit.sessions.add(handle.pid)
        argv = " ".join(ctx.argv)
        self._log.debug(f"{unit.name}: {action.phase.value} started as {handle.pid}: {argv}")
        self._feed(unit, svc.Spawned(action.role, handle.pid), now)

    def _on_spawn_report(self, fd: int) -> None:
        name, pid, role = self._error_fds.pop(fd)
        try:
            error = read_spawn_error(fd)
        finally:
            os.close(fd)
        unit = self._units[name]
        if error is not None:
            self._log.error(f"{name}: process {pid} could not start: {error.describe()}")
            return
        config = unit.config
        if role is Role.MAIN and config is not None and config.type is ServiceType.EXEC:
            self._feed(unit, svc.ExecSucceeded(pid), time.monotonic())

    def _kill(self, unit: Unit, number: int, whom: Whom) -> None:
        """Signal the unit's processes, and only those (see service.ownership)."""
        if unit.state is None:
            return
        if whom in (Whom.MAIN, Whom.CONTROL):
            owner = self._owner
            target = owner.main_target(unit) if whom is Whom.MAIN else owner.control_target(unit)
            if target is not None:
                signal_process(target[0], number, target[1])
            return
        # The turn's /proc walk may predate a process spawned since: the
        # main and control processes are included by pid in any case.
        targets = self._owner.targets(unit, self._process_table())
        if whom is Whom.REST and unit.state.main_pid is not None:
            targets.pop(unit.state.main_pid, None)
        signal_all(set(targets), number, {p: t for p, t in targets.items() if t is not None})

    def _unit_of_pid(self, pid: int) -> str | None:
        """The unit a syslog sender belongs to: its main or control process,
        or a descendant of one."""
        found = nearest_known(pid, self._pids)
        return self._pids[found][0] if found is not None else None

    def _process_table(self) -> ProcessTable:
        if self._scan is None:
            self._scan = ProcessTable.scan()
        return self._scan

    def _members(self, unit: Unit, table: ProcessTable) -> set[int]:
        return self._owner.members(unit, table)

    def _read_pid_file(self, unit: Unit, now: float) -> None:
        pid = forking.find_main_pid(unit, self._owner, self._limited, self._log)
        if pid is not None:
            self._owner.adopt(unit, pid)
        self._feed(unit, svc.MainPidFound(pid), now)

    def _check_empty(self, now: float) -> None:
        waiting = self._watch.waiting_for_empty()
        if not waiting:
            return
        table = self._scan = ProcessTable.scan()  # emptiness needs a fresh look
        for unit in waiting:
            if not self._members(unit, table):
                unit.sessions.clear()
                self._feed(unit, svc.Empty(), now)

    # ---- consequences of state changes ---------------------------------------------
    def _on_active_change(self, unit: Unit, before: Active, after: Active, now: float) -> None:
        self._log.debug(f"{unit.name}: {before.value} -> {after.value}")
        self._jobs.on_active_change(unit, after)
        self._health.on_active_change(unit, after, now)
        self._timers.on_unit_change(unit, before, after, now)
        if after is Active.ACTIVE and before is not Active.RELOADING:
            self._log.info(f"{unit.name}: started")
        if after in (Active.INACTIVE, Active.FAILED) and unit.spec is not None:
            running = (o.spec for o in self._units.values() if o is not unit and not o.at_rest)
            executor.remove_runtime_directories(unit.spec, running)
            if self._cgroups is not None:
                self._cgroups.remove(unit.name)
        if after is Active.FAILED:
            self._log.warning(
                f"{unit.name}: failed ({unit.state.result.value if unit.state else '?'})"
            )
            self._unit_action(unit, failed=True)
        elif after is Active.INACTIVE and before is Active.DEACTIVATING:
            self._unit_action(unit, failed=False)

    def _unit_action(self, unit: Unit, failed: bool) -> None:
        if unit.spec is None or self._stopping_all or self._exit_requested:
            return
        request = naming.exit_request(unit, failed, unit.name in self._options.exit_on)
        if request is not None:
            code, power = request
            self._log.info(
                f"{unit.name}: {'failed' if failed else 'finished'}, exiting with {code}"
            )
            self._exit_requested = True
            self._events.append(init_model.ExitRequested(code, power))

    def _report_progress(self) -> None:
        waiting = self._jobs.pending_start or self._boot_roots is not None
        booted = all(self._units[name].active is not Active.ACTIVATING for name in self._boot)
        if not self._ready_reported and not waiting and booted:
            self._ready_reported = True
            self._events.append(init_model.UnitsReady())
        stopped = all(unit.at_rest for unit in self._units.values())
        stopping = self._stopping_all and not self._stopped_reported
        if stopping and not self._jobs.pending_stop and stopped:
            self._stopped_reported = True
            self._events.append(init_model.UnitsStopped())
