"""The manager's side of the control protocol: requests -> the manager's jobs
and state, answered in the shapes of ``results``. Job verbs answer when the
job is over (or at once with ``no_block``), without blocking the loop.
"""

import fnmatch
import os
import time
from collections.abc import Callable

from guestinit import __version__, _log
from guestinit.control import results as r
from guestinit.control.logview import render_entry
from guestinit.control.protocol import LOGS_WAIT, Request, Response, Verb
from guestinit.control.server import DEFER, ControlServer, Deferred, PeerCred
from guestinit.service import model as svc
from guestinit.service.jobs import JobResult
from guestinit.service.registry import Unit
from guestinit.service.states import Active, Sub, Whom
from guestinit.service.tracking import ProcessTable

TYPE_CHECKING = False
if TYPE_CHECKING:
    # The manager builds this handler: a run-time import would be circular.
    from guestinit.manager import Manager
    from guestinit.unitfile import ServiceSpec

_SETTLED = (Active.ACTIVE, Active.INACTIVE, Active.FAILED)
# Lines in one ``logs`` answer: well below the answer size cap; the client
# asks again from the cursor for the rest.
MAX_LOG_ENTRIES = 5000
STATUS_LOG_LINES = 10  # under `status`, as systemctl shows


class _Waiter:
    """A job verb waiting for its units to settle."""

    def __init__(self, request: Request, connection: int, names: list[str]) -> None:
        self.request = request
        self.connection = connection
        self.names = names
        # names[:settled] have settled: each turn goes on from there (a job
        # on 2,000 units must not look at all of them on every turn).
        self.settled = 0


class ControlHandler:
    def __init__(
        self, manager: "Manager", reply: "Callable[[int, Response], bool] | None" = None
    ) -> None:
        self._manager = manager
        self.reply = reply
        self._waiters: list[_Waiter] = []
        # logs with wait=true: (request, connection, give up at) until a line comes.
        self._log_waiters: list[tuple[Request, int, float]] = []
        # Requests waiting for unit files to be read (a job on many units,
        # daemon-reload): the manager reads them over several turns of the loop.
        self._loading: list[tuple[Request, PeerCred]] = []
        self._reloads: list[tuple[Request, PeerCred]] = []
        self._started = time.monotonic()

    # ---- the server calls this ---------------------------------------------------
    def __call__(self, request: Request, peer: PeerCred) -> Response | Deferred:
        verb = request.verb
        now = time.monotonic()
        if verb in (
            Verb.START,
            Verb.STOP,
            Verb.RESTART,
            Verb.TRY_RESTART,
            Verb.RELOAD,
            Verb.RELOAD_OR_RESTART,
        ):
            if self._manager.preload(request.units) and self.reply is not None:
                self._loading.append((request, peer))
                return DEFER
            return self._job(request, peer, now)
        if verb is Verb.DAEMON_RELOAD:
            self._manager.begin_reload()
            self._reloads.append((request, peer))
            return DEFER
        handlers: dict[Verb, Callable[[Request], r.Result]] = {
            Verb.STATUS: self._status,
            Verb.KILL: self._kill,
            Verb.IS_ACTIVE: lambda q: self._states(q, lambda u: u.active.value),
            Verb.IS_FAILED: lambda q: self._states(q, lambda u: u.active.value),
            Verb.IS_ENABLED: lambda q: self._states(q, self._enabled),
            Verb.LIST_UNITS: self._list_units,
            Verb.LIST_TIMERS: self._list_timers,
            Verb.CAT: self._cat,
            Verb.SHOW: self._show,
            Verb.ENABLE: lambda q: self._links(q, enable=True),
            Verb.DISABLE: lambda q: self._links(q, enable=False),
            Verb.HEALTH: self._health,
        }
        if verb is Verb.LOGS:
            return self._logs(request, peer)
        if verb in (Verb.POWEROFF, Verb.REBOOT, Verb.HALT, Verb.EXIT):
            code = request.code if verb is Verb.EXIT else 0
            self._manager.request_exit(code, None if verb is Verb.EXIT else verb.value)
            return r.ok_response(request, None)
        return r.ok_response(request, handlers[verb](request))

    def check(self) -> None:
        """Called every turn of the loop: answer the job verbs that are over."""
        if self.reply is None:
            return
        if self._log_waiters:
            self._check_log_waiters()
        if (self._loading or self._reloads) and not self._manager.loading:
            self._files_read()
        if not self._waiters:
            return
        still: list[_Waiter] = []
        for waiter in self._waiters:
            names = waiter.names
            while waiter.settled < len(names):
                unit = self._manager.units.get(names[waiter.settled])
                if unit is None or not self._settled(unit):
                    break
                waiter.settled += 1
            if waiter.settled == len(names):
                self.reply(waiter.connection, self._jobs_response(waiter.request, names))
            else:
                still.append(waiter)
        self._waiters = still

    def _files_read(self) -> None:
        assert self.reply is not None
        loading, self._loading = self._loading, []
        for request, peer in loading:
            answer = self._job(request, peer, time.monotonic())
            if isinstance(answer, Response):
                self.reply(peer.connection, answer)
        reloads, self._reloads = self._reloads, []
        for request, peer in reloads:
            result = r.ReloadResult(
                units=len(self._manager.units), warnings=self._manager.reload_warnings
            )
            self.reply(peer.connection, r.ok_response(request, result))

    # ---- jobs ------------------------------------------------------------------------
    def _job(self, request: Request, peer: PeerCred, now: float) -> Response | Deferred:
        names, missing = self._resolve(request.units)
        jobs: list[r.Job] = [
            r.Job(unit=name, result="not-found", message="no such unit") for name in missing
        ]
        queued: list[str] = []
        starts: list[str] = []
        for name in names:
            verb = request.verb
            if name not in self._manager.units:
                # A file-less target only looked at so far (not kept): it is
                # at rest, so only a start has anything to do (and keeps it).
                if verb is Verb.TRY_RESTART:
                    jobs.append(r.Job(unit=name, result="skipped", message="not running"))
                    continue
                if verb in (Verb.STOP, Verb.RELOAD):
                    jobs.append(r.Job(unit=name, result="done", message=None))
                    continue
                self._manager.request_start([name], now)
            unit = self._manager.units[name]
            if verb is Verb.TRY_RESTART and unit.at_rest:
                jobs.append(r.Job(unit=name, result="skipped", message="not running"))
                continue
            if verb is Verb.START:
                starts.append(name)  # one closure for all: 2,000 names in one request
            elif verb is Verb.STOP:
                self._manager.request_stop(name, now)
            elif verb is Verb.RELOAD_OR_RESTART:
                reloadable = (
                    unit.spec is not None
                    and unit.spec.service is not None
                    and bool(unit.spec.service.exec_reload)
                )
                event = svc.ReloadJob() if reloadable and not unit.at_rest else svc.RestartJob()
                self._restart_or_reload(unit, event, now)
            else:
                job: svc.Event = svc.ReloadJob() if verb is Verb.RELOAD else svc.RestartJob()
                self._restart_or_reload(unit, job, now)
            queued.append(name)
        if starts:
            self._manager.request_start(starts, now)
        if missing or request.no_block or not queued:
            results = jobs + [r.Job(unit=n, result="queued", message=None) for n in queued]
            if not request.no_block:
                results = jobs + self._outcomes(request, queued)
            return r.ok_response(request, r.JobsResult(jobs=results))
        self._waiters.append(_Waiter(request, peer.connection, queued))
        return DEFER

    def _restart_or_reload(self, unit: Unit, event: svc.Event, now: float) -> None:
        if unit.state is None:
            if isinstance(event, svc.RestartJob):
                self._manager.request_start([unit.name], now)
            return
        if unit.at_rest and isinstance(event, svc.RestartJob):
            self._manager.request_start([unit.name], now)
            return
        self._manager.job(unit.name, event, now)

    def _settled(self, unit: Unit) -> bool:
        pending = self._manager.is_pending(unit.name)
        auto = unit.state is not None and unit.state.sub is Sub.AUTO_RESTART
        return not pending and not auto and unit.active in _SETTLED

    def _jobs_response(self, request: Request, names: list[str]) -> Response:
        return r.ok_response(request, r.JobsResult(jobs=self._outcomes(request, names)))

    def _outcomes(self, request: Request, names: list[str]) -> list[r.Job]:
        jobs: list[r.Job] = []
        for name in names:
            unit = self._unit(name)
            failed = unit.active is Active.FAILED and request.verb is not Verb.STOP
            message = None
            dependency = self._manager.job_results.get(name) is JobResult.DEPENDENCY
            if dependency and unit.at_rest and request.verb is not Verb.STOP:
                jobs.append(r.Job(unit=name, result="dependency", message=None))
                continue
            if failed and unit.state is not None:
                message = f"{name} failed ({unit.state.result.value})"
            elif failed:
                message = f"{name}: {unit.load_error}"
            jobs.append(r.Job(unit=name, result="failed" if failed else "done", message=message))
        return jobs

    def _kill(self, request: Request) -> r.JobsResult:
        names, missing = self._resolve(request.units)
        whom = {"main": Whom.MAIN, "control": Whom.CONTROL}.get(request.whom, Whom.ALL)
        for name in names:
            self._manager.kill(name, request.signal, whom)
        jobs = [r.Job(unit=n, result="done", message=None) for n in names]
        jobs += [r.Job(unit=n, result="not-found", message="no such unit") for n in missing]
        return r.JobsResult(jobs=jobs)

    # ---- logs ------------------------------------------------------------------------
    def _logs(self, request: Request, peer: PeerCred) -> Response | Deferred:
        result = self._log_entries(request)
        if result["entries"] or request.args.get("wait") is not True:
            return r.ok_response(request, result)
        # -f: held, not polled; answered by check() when a line comes (or empty
        # after LOGS_WAIT, so a vanished follower is forgotten).
        self._log_waiters.append((request, peer.connection, time.monotonic() + LOGS_WAIT))
        return DEFER

    def next_deadline(self) -> float | None:
        """When a held ``logs`` request is due its (empty) answer."""
        return min((give_up for _, _, give_up in self._log_waiters), default=None)

    def _check_log_waiters(self) -> None:
        assert self.reply is not None
        now = time.monotonic()
        still: list[tuple[Request, int, float]] = []
        for request, connection, give_up in self._log_waiters:
            result = self._log_entries(request)
            if result["entries"] or now >= give_up:
                self.reply(connection, r.ok_response(request, result))
            else:
                still.append((request, connection, give_up))
        self._log_waiters = still

    def _log_entries(self, request: Request) -> r.LogsResult:
        ring = self._manager.log_ring
        lines = int(request.number("lines"))
        after = int(request.number("after"))
        records = ring.query(
            set(request.units) or None,
            after,
            None if lines < 0 else lines,
            request.number("since") or None,
        )
        more = len(records) > MAX_LOG_ENTRIES
        records = records[:MAX_LOG_ENTRIES]
        cursor = records[-1].seq if more else max(after, ring.last_seq)
        entries = [r.LogEntry(**record.as_dict()) for record in records]  # type: ignore[typeddict-item]
        return r.LogsResult(entries=entries, cursor=cursor, more=more)

    def _status_log(self, unit: Unit) -> list[str]:
        import socket

        host = socket.gethostname()
        records = self._manager.log_ring.query({unit.name}, lines=STATUS_LOG_LINES)
        return [render_entry(record.as_dict(), "short", host) for record in records]

    # ---- queries ----------------------------------------------------------------------
    def _unit(self, name: str) -> Unit:
        """A kept unit, else whatever loading it says (not kept if it has no file)."""
        return self._manager.units.get(name) or self._manager.load_unit(name)

    def _resolve(self, names: list[str]) -> tuple[list[str], list[str]]:
        found, missing = [], []
        for name in names:
            unit = self._unit(name)
            if unit.spec is None and unit.kind != "target" and not unit.bad_file:
                missing.append(name)
            else:
                found.append(unit.name)
        return found, missing

    def _status(self, request: Request) -> r.StatusResult:
        names = request.units or sorted(self._manager.units)
        found, missing = self._resolve(names) if request.units else (names, [])
        table = ProcessTable.scan()  # one /proc walk for every unit asked about
        units = [self._unit_status(self._unit(n), table) for n in found]
        for status in units:
            status["log"] = self._status_log(self._unit(status["name"]))
        return r.StatusResult(units=units, missing=missing)

    def _unit_status(self, unit: Unit, table: ProcessTable | None = None) -> r.UnitStatus:
        state = unit.state
        main_pid = state.main_pid if state else None
        last_exit: r.ExitInfo | None = None
        if state is not None and state.main_exit is not None:
            code, signal = state.main_exit
            last_exit = r.ExitInfo(
                pid=unit.last_main_pid or 0,
                code="killed" if signal is not None else "exited",
                status=signal if signal is not None else (code or 0),
                status_name=None,
            )
        tasks, memory, cpu = _usage(self._manager.unit_pids(unit, table))
        return r.UnitStatus(
            name=unit.name,
            description=unit.spec.description if unit.spec and unit.spec.description else unit.name,
            load_state=self._load_state(unit),
            active_state=unit.active.value,
            sub_state=self._sub_state(unit),
            result=state.result.value if state else "success",
            main_pid=main_pid,
            main_name=_comm(main_pid),
            since=_wall(state.since) if state and state.since else None,
            last_exit=last_exit,
            restarts=state.restarts if state else 0,
            tasks=tasks,
            memory_bytes=memory,
            cpu_seconds=cpu,
            status_text=state.status_text or None if state else None,
            path=unit.spec.path if unit.spec else unit.bad_file,
            enabled=self._enabled(unit),
            load_reasons=list(unit.load_reasons),
            restart_at=_wall(state.deadline)
            if state and state.sub is Sub.AUTO_RESTART and state.deadline is not None
            else None,
        )

    def _states(self, request: Request, pick: Callable[[Unit], str]) -> r.StatesResult:
        rows: list[r.UnitState] = []
        for name in request.units:
            unit = self._unit(name)
            if unit.spec is None and unit.kind != "target":
                rows.append(
                    r.UnitState(
                        name=name,
                        state=("not-found" if request.verb is Verb.IS_ENABLED else "inactive"),
                    )
                )
            else:
                rows.append(r.UnitState(name=name, state=pick(unit)))
        return r.StatesResult(units=rows)

    def _list_units(self, request: Request) -> r.UnitList:
        rows: list[r.UnitRow] = []
        for name in sorted(self._manager.units):
            unit = self._manager.units[name]
            if not request.all and unit.active is Active.INACTIVE:
                continue
            if request.patterns and not any(fnmatch.fnmatch(name, p) for p in request.patterns):
                continue
            rows.append(
                r.UnitRow(
                    name=name,
                    load_state=self._load_state(unit),
                    active_state=unit.active.value,
                    sub_state=self._sub_state(unit),
                    description=unit.spec.description
                    if unit.spec and unit.spec.description
                    else name,
                )
            )
        return r.UnitList(units=rows)

    def _list_timers(self, request: Request) -> r.TimerList:
        rows = [
            r.TimerRow(name=name, activates=unit, next=nxt, last=last)
            for name, unit, nxt, last in sorted(self._manager.timer_rows())
            if not request.patterns or any(fnmatch.fnmatch(name, p) for p in request.patterns)
        ]
        return r.TimerList(timers=rows)

    def _cat(self, request: Request) -> r.CatResult:
        names, missing = self._resolve(request.units)
        entries: list[r.CatEntry] = []
        for name in names:
            spec = self._unit(name).spec
            paths = [spec.path, *spec.dropin_paths] if spec and spec.path else []
            files = [r.UnitFileText(path=p, text=_read(p)) for p in paths]
            entries.append(r.CatEntry(name=name, files=files))
        return r.CatResult(units=entries, missing=missing)

    def _show(self, request: Request) -> r.ShowResult:
        entries: list[r.ShowEntry] = []
        if not request.units:
            props = {
                "Version": __version__,
                "MainPID": str(os.getpid()),
                "NNames": str(len(self._manager.units)),
            }
            entries.append(r.ShowEntry(name="", properties=_filter(props, request.properties)))
        names, _ = self._resolve(request.units)
        for name in names:
            unit = self._unit(name)
            status = self._unit_status(unit)
            service = unit.spec.service if unit.spec else None
            props = {
                "Id": name,
                "Description": status["description"],
                "LoadState": status["load_state"],
                "ActiveState": status["active_state"],
                "SubState": status["sub_state"],
                "Result": status["result"],
                "MainPID": str(status["main_pid"] or 0),
                "NRestarts": str(status["restarts"]),
                "FragmentPath": status["path"] or "",
                "UnitFileState": status["enabled"],
                "StatusText": status["status_text"] or "",
                "Type": service.type.value if service else "",
                "Restart": service.restart.value if service else "",
                "ExecMainStatus": str(status["last_exit"]["status"] if status["last_exit"] else 0),
                # What invoke-rc.d and service(8) ask before they act.
                "CanReload": "yes" if service and _reloadable(service) else "no",
                "CanStart": "yes",
                "CanStop": "yes",
                "SourcePath": "",
                "Triggers": "",
                "NeedDaemonReload": "no",
            }
            entries.append(r.ShowEntry(name=name, properties=_filter(props, request.properties)))
        return r.ShowResult(units=entries)

    def _links(self, request: Request, enable: bool) -> r.ChangesResult:
        changes: list[r.Change] = []
        missing: list[str] = []
        folder = self._manager.enabled_dir
        for name in request.units:
            link = os.path.join(folder, name)
            # The unit's own file, not the link it may have been loaded through.
            source = self._manager.unit_file(name)
            if source is None and not os.path.lexists(link):
                missing.append(name)
                continue
            if enable and source is not None and not os.path.lexists(link):
                os.makedirs(folder, exist_ok=True)
                os.symlink(source, link)
                changes.append(r.Change(type="symlink", path=link, source=source))
            elif not enable and os.path.islink(link):
                os.unlink(link)
                changes.append(r.Change(type="unlink", path=link, source=None))
        return r.ChangesResult(changes=changes, missing=missing)

    def _health(self, request: Request) -> r.HealthResult:
        failed = sorted(
            f"{name} (unhealthy)" if unit.active is not Active.FAILED else name
            for name, unit in self._manager.units.items()
            if unit.active is Active.FAILED
            or (unit.health_state is not None and unit.health_state.healthy is False)
        )
        if self._manager.stopping:
            state = "stopping"
        elif not self._manager.booted:
            state = "starting"
        else:
            state = "degraded" if failed else "running"
        return r.HealthResult(
            state=state,  # type: ignore[typeddict-item]
            units=len(self._manager.units),
            failed=failed,
            uptime_seconds=time.monotonic() - self._started,
            version=__version__,
            pid=os.getpid(),
        )

    # ---- small helpers ------------------------------------------------------------------
    def _enabled(self, unit: Unit) -> str:
        if os.path.lexists(os.path.join(self._manager.enabled_dir, unit.name)):
            return "enabled"
        if unit.spec is None:
            return "static" if unit.kind == "target" else "not-found"
        install = unit.spec.install
        return "disabled" if install.wanted_by or install.required_by or install.alias else "static"

    @staticmethod
    def _load_state(unit: Unit) -> str:
        if unit.bad_file is not None:
            return "bad-setting"
        if unit.spec is None:
            return "loaded" if unit.kind == "target" else "not-found"
        return "error" if unit.load_error and unit.state is None else "loaded"

    @staticmethod
    def _sub_state(unit: Unit) -> str:
        if unit.state is not None:
            return unit.state.sub.value
        return "active" if unit.target_active else "dead"


def _reloadable(service: "ServiceSpec") -> bool:
    return bool(service.exec_reload) or service.type.value == "notify-reload"


def _filter(props: dict[str, str], wanted: list[str]) -> dict[str, str]:
    return {k: v for k, v in props.items() if k in wanted} if wanted else props


def _wall(monotonic: float) -> float:
    return time.time() - (time.monotonic() - monotonic)


def _comm(pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            return source.read()
    except OSError as error:
        return f"# cannot read {path}: {error.strerror}\n"


def _usage(pids: set[int]) -> tuple[int | None, int | None, float | None]:
    """Tasks, resident memory and CPU time of the unit's processes, read
    straight from /proc/PID/statm and /proc/PID/stat: psutil would cost an
    import and ~0.1 ms per process, too much for `status` over 200 units."""
    if not pids:
        return 0, None, None
    page = os.sysconf("SC_PAGE_SIZE")
    ticks = os.sysconf("SC_CLK_TCK")
    memory = 0
    cpu = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                memory += int(statm.read().split()[1]) * page
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            cpu += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue  # it exited while we looked
    return len(pids), memory, cpu / ticks


def open_control(
    manager: "Manager", path: str | None, group: str | None, log: _log.Log
) -> "tuple[ControlServer, ControlHandler] | None":
    """The control socket for ``manager``: None when turned off or when it
    cannot be made (said once; `guestinit ctl` then cannot reach us)."""
    if path is None:
        return None
    from guestinit.control.server import ControlServer

    gid = None
    if group is not None:
        import grp

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            log.error(f"--control-group {group}: no such group")
    handler = ControlHandler(manager)
    try:
        server = ControlServer(path, allowed_gid=gid, handler=handler, log=log)
    except OSError as error:
        log.error(f"control socket {path}: {error.strerror}; guestinit ctl will not work")
        return None
    handler.reply = server.reply
    return server, handler
