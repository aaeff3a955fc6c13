"""One service's supervision as a pure state machine, with systemd's semantics.

``step(config, state, event, now) -> (state, actions)``: events are jobs
(start/stop/restart/reload), process exits, sd_notify messages, the answer to
a PID-file read, "the unit has no processes left" and timer expiry; actions
ask the manager to spawn a command, signal processes, read the PID file or
log. Time comes in as ``now`` (monotonic seconds); the state's ``deadline``
says when the manager must send a Timer event. Nothing here does I/O.

The path of a start (each arrow a labelled transition in the code)::

    DEAD/FAILED -> CONDITION -> START_PRE -> START -> START_POST -> RUNNING|EXITED
    RUNNING -> STOP -> STOP_SIGTERM -> STOP_SIGKILL -> STOP_POST
            -> FINAL_SIGTERM -> FINAL_SIGKILL -> DEAD|FAILED -> AUTO_RESTART -> ...

Simplified on purpose: a service's "processes" are what the manager counts
for it (the sessions its commands started, and their descendants); the
model only waits for the manager's Empty event in the kill states.
"""

import dataclasses
import math
from collections.abc import Callable

from guestinit.service import _rules as rules
from guestinit.service.backoff import StartLimit, restart_delay
from guestinit.service.model_data import (
    Action,
    Empty,
    Event,
    ExecSucceeded,
    Exited,
    Kill,
    MainPidFound,
    Note,
    Notified,
    ReadPidFile,
    ReloadJob,
    RestartJob,
    ServiceConfig,
    Spawn,
    Spawned,
    SpawnFailed,
    StartJob,
    State,
    Step,
    StopJob,
    Timer,
)
from guestinit.service.states import (
    KILL_STATES,
    Active,
    Phase,
    Result,
    Role,
    ServiceType,
    Sub,
    Whom,
)

SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGPIPE, SIGABRT = 1, 2, 9, 15, 13, 6
# No process of the unit should exist in these.
_AT_REST = frozenset({Sub.DEAD, Sub.FAILED, Sub.AUTO_RESTART})

__all__ = [
    "Action",
    "Empty",
    "Event",
    "ExecSucceeded",
    "Exited",
    "Kill",
    "MainPidFound",
    "Note",
    "Notified",
    "Phase",
    "ReadPidFile",
    "ReloadJob",
    "RestartJob",
    "Role",
    "ServiceConfig",
    "Spawn",
    "SpawnFailed",
    "Spawned",
    "StartJob",
    "State",
    "Step",
    "StopJob",
    "Timer",
    "Whom",
    "initial",
    "step",
]


def initial(config: ServiceConfig) -> State:
    return State(start_limit=StartLimit(config.start_limit_interval, config.start_limit_burst))


def step(config: ServiceConfig, state: State, event: Event, now: float) -> Step:
    """The one transition function; see the module docstring for the map."""
    handler = _HANDLERS[type(event)]
    return handler(config, state, event, now)


# ---- jobs --------------------------------------------------------------------
def _on_start(config: ServiceConfig, state: State, event: StartJob, now: float) -> Step:
    if state.sub in (Sub.DEAD, Sub.FAILED, Sub.AUTO_RESTART):
        restarts = 0 if event.manual else state.restarts
        limit, hit = state.start_limit.record(now)
        if hit:
            # DEAD/FAILED/AUTO_RESTART -> FAILED: a crash loop is stopped here.
            failed = dataclasses.replace(
                state,
                sub=Sub.FAILED,
                result=Result.START_LIMIT,
                start_limit=limit,
                deadline=None,
                since=now,
                restarts=restarts,
            )
            return failed, [Note("start request repeated too quickly, refusing", warning=True)]
        fresh = dataclasses.replace(
            state,
            result=Result.SUCCESS,
            start_limit=limit,
            restarts=restarts,
            stop_requested=False,
            start_after_stop=False,
            ready=False,
            main_exit=None,
            status_text="",
            watchdog_deadline=None,
        )
        # DEAD/FAILED/AUTO_RESTART -> CONDITION | START_PRE | START
        return _begin_starting(config, fresh, now)
    if state.active is Active.DEACTIVATING:
        return dataclasses.replace(state, start_after_stop=True, stop_requested=False), []
    return state, []  # already activating or active


def _on_stop(config: ServiceConfig, state: State, event: StopJob, now: float) -> Step:
    return _stop(config, dataclasses.replace(state, start_after_stop=False), now)


def _stop(config: ServiceConfig, state: State, now: float) -> Step:
    state = dataclasses.replace(state, stop_requested=True)
    if state.sub is Sub.AUTO_RESTART:
        # AUTO_RESTART -> DEAD: the pending restart is cancelled.
        return _settle(config, dataclasses.replace(state, result=Result.SUCCESS), now)
    if state.sub in (Sub.DEAD, Sub.FAILED) or state.active is Active.DEACTIVATING:
        return state, []
    if state.sub in (Sub.CONDITION, Sub.START_PRE, Sub.START):
        # starting -> STOP_SIGTERM: never started, so no ExecStop.
        return _enter_signal(config, state, Sub.STOP_SIGTERM, now)
    # START_POST/RUNNING/EXITED/RELOAD -> STOP
    return _enter_stop(config, state, now)


def _on_restart(config: ServiceConfig, state: State, event: RestartJob, now: float) -> Step:
    if state.sub in (Sub.DEAD, Sub.FAILED, Sub.AUTO_RESTART):
        return _on_start(config, state, StartJob(), now)
    # The stop sees start_after_stop, so RestartKillSignal= applies.
    return _stop(config, dataclasses.replace(state, start_after_stop=True), now)


def _on_reload(config: ServiceConfig, state: State, event: ReloadJob, now: float) -> Step:
    if state.sub not in (Sub.RUNNING, Sub.EXITED):
        return state, [Note(f"cannot reload while {state.sub.value}")]
    if config.has(Phase.RELOAD):
        # RUNNING/EXITED -> RELOAD: ExecReload commands run one by one.
        return _run_command(config, state, Sub.RELOAD, Phase.RELOAD, 0, now)
    if config.type is ServiceType.NOTIFY_RELOAD and state.main_pid is not None:
        # RUNNING -> RELOAD: SIGHUP, then wait for RELOADING=1 ... READY=1.
        reloading = dataclasses.replace(
            state,
            sub=Sub.RELOAD,
            phase=None,
            deadline=now + config.timeout_start,
            reloading=False,
        )
        return reloading, [Kill(SIGHUP, Whom.MAIN)]
    return state, [Note("no ExecReload: nothing to do")]


# ---- processes ---------------------------------------------------------------
def _on_spawned(config: ServiceConfig, state: State, event: Spawned, now: float) -> Step:
    if state.sub in _AT_REST:
        return state, [Note(f"ignoring process {event.pid} spawned while {state.sub.value}")]
    if event.role is Role.MAIN:
        state = dataclasses.replace(state, main_pid=event.pid)
        if state.sub is Sub.START and config.type in (ServiceType.SIMPLE, ServiceType.IDLE):
            # START -> START_POST: a simple service counts as started once forked.
            return _enter_start_post(config, state, now)
        return state, []
    return dataclasses.replace(state, control_pid=event.pid), []


def _on_spawn_failed(config: ServiceConfig, state: State, event: SpawnFailed, now: float) -> Step:
    note = Note(f"cannot start {event.role.value} process: {event.reason}", warning=True)
    failed = rules.fail(state, Result.RESOURCES)
    next_state, actions = _after_failure_in(config, failed, now)
    return next_state, [note, *actions]


def _on_exec_ok(config: ServiceConfig, state: State, event: ExecSucceeded, now: float) -> Step:
    if state.sub is Sub.START and config.type is ServiceType.EXEC and event.pid == state.main_pid:
        # START -> START_POST: Type=exec is started once execve() succeeded.
        return _enter_start_post(config, state, now)
    return state, []


def _on_exited(config: ServiceConfig, state: State, event: Exited, now: float) -> Step:
    if event.pid == state.main_pid:
        return _main_exited(config, state, event, now)
    if event.pid == state.control_pid:
        return _control_exited(config, state, event, now)
    return state, []


def _main_exited(config: ServiceConfig, state: State, event: Exited, now: float) -> Step:
    result = rules.judge_main(config, event)
    state = dataclasses.replace(
        state, main_pid=None, main_exit=(event.code, event.signal), watchdog_deadline=None
    )
    if result is not Result.SUCCESS and not state.stop_requested:
        state = rules.fail(state, result)
    note = Note(rules.describe_exit("main process", event), warning=result is not Result.SUCCESS)
    if state.sub is Sub.START:
        if config.type is ServiceType.ONESHOT:
            if result is not Result.SUCCESS:
                # START -> STOP_SIGTERM: a oneshot command failed.
                return rules.noted(note, _enter_signal(config, state, Sub.STOP_SIGTERM, now))
            # START -> START (next ExecStart) or START_POST
            return rules.noted(note, _next_command(config, state, Role.MAIN, now))
        if config.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD, ServiceType.EXEC):
            if result is Result.SUCCESS:
                state = rules.fail(state, Result.PROTOCOL)
            # START -> STOP_SIGTERM: died before it was ready.
            return rules.noted(note, _enter_signal(config, state, Sub.STOP_SIGTERM, now))
        return rules.noted(note, _enter_signal(config, state, Sub.STOP_SIGTERM, now))
    if state.sub in (Sub.RUNNING, Sub.RELOAD):
        if config.remain_after_exit and result is Result.SUCCESS:
            # RUNNING -> EXITED
            exited = dataclasses.replace(state, sub=Sub.EXITED, deadline=None, since=now)
            return exited, [note]
        # RUNNING -> STOP: the stop operation runs even though the process is gone.
        return rules.noted(note, _enter_stop(config, state, now))
    if state.sub in KILL_STATES:
        return state, [note]  # Empty decides when to go on
    return state, [note]  # START_PRE/START_POST/STOP: the control process decides


def _control_exited(config: ServiceConfig, state: State, event: Exited, now: float) -> Step:
    ignored = rules.ignores_failure(config, state.phase, state.index)
    ok = event.code == 0 or ignored
    state = dataclasses.replace(state, control_pid=None)
    label = f"{state.phase.value if state.phase else 'control'} process"
    note = Note(rules.describe_exit(label, event), warning=not ok)
    if state.sub is Sub.CONDITION and not ok:
        if event.code is not None and 1 <= event.code <= 254:
            # CONDITION -> DEAD: ExecCondition said "skip", which is not a failure.
            skipped = dataclasses.replace(state, stop_requested=True)
            return rules.noted(note, _settle(config, skipped, now))
        failed = rules.fail(state, Result.EXIT_CODE)
        return rules.noted(note, _enter_signal(config, failed, Sub.STOP_SIGTERM, now))
    if not ok:
        failed = rules.fail(state, Result.SIGNAL if event.signal else Result.EXIT_CODE)
        return rules.noted(note, _after_failure_in(config, failed, now))
    if state.sub is Sub.START and config.type is ServiceType.FORKING:
        # START -> (PID file read) -> START_POST
        waiting = dataclasses.replace(state, phase=None)
        return waiting, [note, ReadPidFile()]
    if state.sub in KILL_STATES or state.phase is None:
        # No command list is running (a control pid we never asked for): nothing follows.
        return state, [note]
    return rules.noted(note, _next_command(config, state, Role.CONTROL, now))


def _on_pid_found(config: ServiceConfig, state: State, event: MainPidFound, now: float) -> Step:
    if state.sub is not Sub.START:
        return state, []
    found = dataclasses.replace(state, main_pid=event.pid)
    note = [] if event.pid else [Note("main PID not known: following the unit's processes")]
    return rules.all_noted(note, _enter_start_post(config, found, now))


def _on_empty(config: ServiceConfig, state: State, event: Empty, now: float) -> Step:
    if state.sub in (Sub.STOP_SIGTERM, Sub.STOP_SIGKILL):
        # STOP_SIGTERM/STOP_SIGKILL -> STOP_POST
        return _enter_stop_post(config, state, now)
    if state.sub in (Sub.FINAL_SIGTERM, Sub.FINAL_SIGKILL):
        # FINAL_* -> DEAD/FAILED
        return _settle(config, state, now)
    if state.sub is Sub.RUNNING and state.main_pid is None:
        # RUNNING (forking, main PID unknown) -> STOP: everything exited.
        return _enter_stop(config, state, now)
    return state, []


def _on_notified(config: ServiceConfig, state: State, event: Notified, now: float) -> Step:
    actions: list[Action] = []
    if event.status is not None:
        state = dataclasses.replace(state, status_text=event.status)
    if (
        event.main_pid is not None
        and event.main_pid != state.main_pid
        and state.sub not in _AT_REST
    ):
        state = dataclasses.replace(state, main_pid=event.main_pid)
        actions.append(Note(f"main PID is now {event.main_pid}"))
    if event.watchdog_usec is not None:
        state = dataclasses.replace(state, watchdog_sec=event.watchdog_usec / 1e6)
    if event.extend_timeout_usec is not None and state.deadline is not None:
        state = dataclasses.replace(
            state, deadline=max(state.deadline, now + event.extend_timeout_usec / 1e6)
        )
    if event.watchdog and state.watchdog_sec > 0 and state.sub is Sub.RUNNING:
        state = dataclasses.replace(state, watchdog_deadline=now + state.watchdog_sec)
    if event.watchdog_trigger and state.sub is Sub.RUNNING:
        return rules.all_noted(actions, _watchdog_fired(config, state, now))
    notify_types = (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD)
    if event.reloading and state.sub is Sub.RUNNING and config.type in notify_types:
        # RUNNING -> RELOAD: the service reloads on its own initiative.
        state = dataclasses.replace(
            state, sub=Sub.RELOAD, reloading=True, phase=None, deadline=now + config.timeout_start
        )
    elif event.reloading and state.sub is Sub.RELOAD:
        state = dataclasses.replace(state, reloading=True)
    if event.ready:
        if state.sub is Sub.START and config.type in notify_types:
            # START -> START_POST: READY=1
            return rules.all_noted(actions, _enter_start_post(config, state, now))
        if state.sub is Sub.RELOAD and state.phase is None:
            # RELOAD -> RUNNING: READY=1 after RELOADING=1
            back = dataclasses.replace(state, sub=Sub.RUNNING, deadline=None, reloading=False)
            return back, actions
        state = dataclasses.replace(state, ready=True)
    if event.stopping and state.active is Active.ACTIVE:
        actions.append(Note("the service reports it is stopping"))
    return state, actions


def _on_timer(config: ServiceConfig, state: State, event: Timer, now: float) -> Step:
    if state.watchdog_deadline is not None and now >= state.watchdog_deadline:
        return _watchdog_fired(config, state, now)
    if state.deadline is None or now < state.deadline:
        return state, []
    sub = state.sub
    if sub is Sub.AUTO_RESTART:
        # AUTO_RESTART -> (start again)
        return _on_start(config, state, StartJob(manual=False), now)
    if sub in (Sub.CONDITION, Sub.START_PRE, Sub.START, Sub.START_POST):
        timed_out = rules.fail(state, Result.TIMEOUT)
        note = Note(f"start timed out in {sub.value}", warning=True)
        # starting -> STOP_SIGTERM: TimeoutStartSec elapsed.
        return rules.noted(note, _enter_signal(config, timed_out, Sub.STOP_SIGTERM, now))
    if sub is Sub.RELOAD:
        # RELOAD -> RUNNING: a reload that hangs does not take the service down.
        back = dataclasses.replace(state, sub=Sub.RUNNING, deadline=None, phase=None)
        return back, [Note("reload timed out", warning=True), *_kill_control(state)]
    if sub is Sub.STOP:
        # STOP -> STOP_SIGTERM
        return _enter_signal(config, rules.fail(state, Result.TIMEOUT), Sub.STOP_SIGTERM, now)
    if sub is Sub.STOP_SIGTERM:
        warn = Note("processes did not exit after the stop signal", warning=True)
        if config.send_sigkill:
            # STOP_SIGTERM -> STOP_SIGKILL
            return rules.noted(warn, _enter_signal(config, state, Sub.STOP_SIGKILL, now))
        return rules.noted(warn, _enter_stop_post(config, state, now))
    if sub is Sub.STOP_SIGKILL:
        # STOP_SIGKILL -> STOP_POST: give up waiting, processes may linger.
        return rules.noted(
            Note("processes survived SIGKILL", warning=True), _enter_stop_post(config, state, now)
        )
    if sub is Sub.STOP_POST:
        # STOP_POST -> FINAL_SIGTERM
        return _enter_signal(config, rules.fail(state, Result.TIMEOUT), Sub.FINAL_SIGTERM, now)
    if sub is Sub.FINAL_SIGTERM:
        if config.send_sigkill:
            return _enter_signal(config, state, Sub.FINAL_SIGKILL, now)
        return _settle(config, state, now)
    if sub is Sub.FINAL_SIGKILL:
        return _settle(config, state, now)
    return dataclasses.replace(state, deadline=None), []


_HANDLERS: dict[type, Callable[..., Step]] = {
    StartJob: _on_start,
    StopJob: _on_stop,
    RestartJob: _on_restart,
    ReloadJob: _on_reload,
    Spawned: _on_spawned,
    SpawnFailed: _on_spawn_failed,
    ExecSucceeded: _on_exec_ok,
    Exited: _on_exited,
    Notified: _on_notified,
    MainPidFound: _on_pid_found,
    Empty: _on_empty,
    Timer: _on_timer,
}


# ---- entering states -----------------------------------------------------------
def _begin_starting(config: ServiceConfig, state: State, now: float) -> Step:
    state = dataclasses.replace(state, since=now)
    if config.has(Phase.CONDITION):
        return _run_command(config, state, Sub.CONDITION, Phase.CONDITION, 0, now)
    return _enter_start_pre(config, state, now)


def _enter_start_pre(config: ServiceConfig, state: State, now: float) -> Step:
    if config.has(Phase.START_PRE):
        return _run_command(config, state, Sub.START_PRE, Phase.START_PRE, 0, now)
    return _enter_start(config, state, now)


def _enter_start(config: ServiceConfig, state: State, now: float) -> Step:
    if not config.has(Phase.START):
        # Only a oneshot may lack ExecStart (the parser enforces it): straight on.
        return _enter_start_post(config, dataclasses.replace(state, sub=Sub.START), now)
    role = Role.CONTROL if config.type is ServiceType.FORKING else Role.MAIN
    return _run_command(config, state, Sub.START, Phase.START, 0, now, role)


def _enter_start_post(config: ServiceConfig, state: State, now: float) -> Step:
    if config.has(Phase.START_POST):
        return _run_command(config, state, Sub.START_POST, Phase.START_POST, 0, now)
    return _enter_running(config, state, now)


def _enter_running(config: ServiceConfig, state: State, now: float) -> Step:
    state = dataclasses.replace(state, phase=None, deadline=None, ready=True)
    main_alive = state.main_pid is not None
    unknown_forking = config.type is ServiceType.FORKING and state.main_exit is None
    if main_alive or unknown_forking:
        watchdog = state.watchdog_sec or config.watchdog_sec
        wd_deadline = now + watchdog if watchdog > 0 else None
        # -> RUNNING
        running = dataclasses.replace(
            state,
            sub=Sub.RUNNING,
            since=now,
            watchdog_sec=watchdog,
            watchdog_deadline=wd_deadline,
        )
        return running, []
    if config.remain_after_exit and state.result is Result.SUCCESS:
        # -> EXITED (oneshot with RemainAfterExit=yes, or a main that already finished)
        return dataclasses.replace(state, sub=Sub.EXITED, since=now), []
    # -> STOP: nothing left running; the stop operation still runs.
    return _enter_stop(config, state, now)


def _enter_stop(config: ServiceConfig, state: State, now: float) -> Step:
    if config.has(Phase.STOP):
        return _run_command(config, state, Sub.STOP, Phase.STOP, 0, now)
    return _enter_signal(config, state, Sub.STOP_SIGTERM, now)


def _enter_signal(config: ServiceConfig, state: State, sub: Sub, now: float) -> Step:
    """Enter one of the kill states: signal per KillMode, then wait for Empty."""
    state = dataclasses.replace(
        state, sub=sub, phase=None, deadline=now + config.timeout_stop, watchdog_deadline=None
    )
    final = sub in (Sub.STOP_SIGKILL, Sub.FINAL_SIGKILL)
    if final:
        signal = config.final_kill_signal if sub is Sub.FINAL_SIGKILL else SIGKILL
    elif state.start_after_stop and config.restart_kill_signal:
        signal = config.restart_kill_signal
    else:
        signal = config.kill_signal
    return state, rules.kill_actions(config, signal, final)


def _enter_stop_post(config: ServiceConfig, state: State, now: float) -> Step:
    if config.has(Phase.STOP_POST):
        return _run_command(config, state, Sub.STOP_POST, Phase.STOP_POST, 0, now)
    return _enter_signal(config, state, Sub.FINAL_SIGTERM, now)


def _settle(config: ServiceConfig, state: State, now: float) -> Step:
    """The end of a stop: DEAD or FAILED, then maybe AUTO_RESTART or a queued start."""
    failed = state.result is not Result.SUCCESS
    done = dataclasses.replace(
        state,
        sub=Sub.FAILED if failed else Sub.DEAD,
        main_pid=None,
        control_pid=None,
        phase=None,
        deadline=None,
        watchdog_deadline=None,
        since=now,
        ready=False,
    )
    if state.start_after_stop:
        # -> (start again): a restart job or a start queued during the stop.
        return _on_start(config, dataclasses.replace(done, sub=Sub.DEAD), StartJob(), now)
    if not state.stop_requested and rules.should_restart(config, state):
        delay = restart_delay(
            state.restarts, config.restart_sec, config.restart_max_delay, config.restart_steps
        )
        # DEAD/FAILED -> AUTO_RESTART
        waiting = dataclasses.replace(
            done, sub=Sub.AUTO_RESTART, deadline=now + delay, restarts=state.restarts + 1
        )
        note = Note(f"scheduling restart in {delay:.3g}s (restart #{state.restarts + 1})")
        return waiting, [note]
    return done, []


# ---- helpers -------------------------------------------------------------------
def _run_command(
    config: ServiceConfig,
    state: State,
    sub: Sub,
    phase: Phase,
    index: int,
    now: float,
    role: Role = Role.CONTROL,
) -> Step:
    starting = sub in (Sub.CONDITION, Sub.START_PRE, Sub.START, Sub.START_POST)
    timeout = config.timeout_start if starting or sub is Sub.RELOAD else config.timeout_stop
    deadline = None if math.isinf(timeout) or timeout <= 0 else now + timeout
    keep_deadline = sub is state.sub and phase is state.phase
    state = dataclasses.replace(
        state,
        sub=sub,
        phase=phase,
        index=index,
        deadline=state.deadline if keep_deadline else deadline,
    )
    return state, [Spawn(role, phase, index)]


def _next_command(config: ServiceConfig, state: State, role: Role, now: float) -> Step:
    """The current command finished well: run the next of its list, or move on."""
    assert state.phase is not None
    following = state.index + 1
    if following < len(config.commands.get(state.phase, ())):
        return _run_command(config, state, state.sub, state.phase, following, now, role)
    return _after_phase(config, state, now)


def _after_phase(config: ServiceConfig, state: State, now: float) -> Step:
    sub = state.sub
    if sub is Sub.CONDITION:
        return _enter_start_pre(config, state, now)  # CONDITION -> START_PRE
    if sub is Sub.START_PRE:
        return _enter_start(config, state, now)  # START_PRE -> START
    if sub is Sub.START:
        return _enter_start_post(config, state, now)  # START (oneshot) -> START_POST
    if sub is Sub.START_POST:
        return _enter_running(config, state, now)  # START_POST -> RUNNING/EXITED
    if sub is Sub.RELOAD:
        # RELOAD -> RUNNING (or EXITED when the main process had already finished)
        back = Sub.RUNNING if state.main_pid is not None else Sub.EXITED
        return dataclasses.replace(state, sub=back, phase=None, deadline=None), []
    if sub is Sub.STOP:
        return _enter_signal(config, state, Sub.STOP_SIGTERM, now)  # STOP -> STOP_SIGTERM
    if sub is Sub.STOP_POST:
        return _enter_signal(config, state, Sub.FINAL_SIGTERM, now)  # STOP_POST -> FINAL_SIGTERM
    return state, []


def _after_failure_in(config: ServiceConfig, state: State, now: float) -> Step:
    """A command (or spawn) failed in the current state: where to go."""
    sub = state.sub
    if sub in (Sub.CONDITION, Sub.START_PRE, Sub.START):
        return _enter_signal(config, state, Sub.STOP_SIGTERM, now)
    if sub is Sub.START_POST:
        return _enter_stop(config, state, now)
    if sub is Sub.RELOAD:
        # RELOAD -> RUNNING: a failed reload keeps the service running.
        back = Sub.RUNNING if state.main_pid is not None else Sub.EXITED
        kept = dataclasses.replace(
            state, sub=back, phase=None, deadline=None, result=Result.SUCCESS
        )
        return kept, [Note("reload failed", warning=True)]
    if sub is Sub.STOP:
        return _enter_signal(config, state, Sub.STOP_SIGTERM, now)
    if sub is Sub.STOP_POST:
        return _enter_signal(config, state, Sub.FINAL_SIGTERM, now)
    return state, []


def _kill_control(state: State) -> list[Action]:
    return [Kill(SIGKILL, Whom.CONTROL)] if state.control_pid is not None else []


def _watchdog_fired(config: ServiceConfig, state: State, now: float) -> Step:
    note = Note("watchdog timeout: no WATCHDOG=1 in time", warning=True)
    failed = dataclasses.replace(rules.fail(state, Result.WATCHDOG), watchdog_deadline=None)
    entered, actions = _enter_signal(config, failed, Sub.STOP_SIGTERM, now)
    # The watchdog's own signal goes to the main process first (SIGABRT: a core).
    return entered, [note, Kill(config.watchdog_signal, Whom.MAIN), *actions]
