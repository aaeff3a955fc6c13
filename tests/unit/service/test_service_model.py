"""Every labelled transition of the service model, with a fake clock."""

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from guestinit.service import model
from guestinit.service.model import (
    Empty,
    ExecSucceeded,
    Exited,
    Kill,
    MainPidFound,
    Notified,
    ReadPidFile,
    ReloadJob,
    RestartJob,
    ServiceConfig,
    Spawn,
    Spawned,
    StartJob,
    StopJob,
    Timer,
)
from guestinit.service.states import (
    Active,
    KillMode,
    Phase,
    Restart,
    Result,
    Role,
    ServiceType,
    Sub,
    Whom,
)

TERM, KILL, HUP, ABRT = 15, 9, 1, 6


class Unit:
    """A service driven through events; remembers the actions of the last step."""

    def __init__(self, config: ServiceConfig, now: float = 0.0) -> None:
        self.config = config
        self.state = model.initial(config)
        self.now = now
        self.actions: list[model.Action] = []

    def send(self, event: model.Event, at: float | None = None) -> list[model.Action]:
        if at is not None:
            self.now = at
        self.state, self.actions = model.step(self.config, self.state, event, self.now)
        return [a for a in self.actions if not isinstance(a, model.Note)]

    def sub(self) -> Sub:
        """A call, not a property, so the type checker does not narrow it."""
        return self.state.sub

    def drain_kills(self) -> None:
        """Answer every kill state with Empty until the unit settles."""
        for _ in range(10):
            if self.sub() not in (
                Sub.STOP_SIGTERM,
                Sub.STOP_SIGKILL,
                Sub.FINAL_SIGTERM,
                Sub.FINAL_SIGKILL,
            ):
                return
            self.send(Empty())


def cfg(**changes: object) -> ServiceConfig:
    commands = changes.pop("commands", {Phase.START: (False,)})
    return dataclasses.replace(ServiceConfig(commands=commands), **changes)  # type: ignore[arg-type]


def running(config: ServiceConfig, pid: int = 100) -> Unit:
    unit = Unit(config)
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, pid))
    if config.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD):
        unit.send(Notified(ready=True))
    assert unit.sub() is Sub.RUNNING
    return unit


# ---- starting ------------------------------------------------------------------
def test_simple_start_spawns_main_and_runs_once_forked() -> None:
    unit = Unit(cfg())
    assert unit.send(StartJob()) == [Spawn(Role.MAIN, Phase.START, 0)]
    assert (unit.sub(), unit.state.active) == (Sub.START, Active.ACTIVATING)
    unit.send(Spawned(Role.MAIN, 100))
    assert (unit.sub(), unit.state.main_pid, unit.state.active) == (Sub.RUNNING, 100, Active.ACTIVE)


def test_start_pre_commands_run_in_order_then_start() -> None:
    unit = Unit(cfg(commands={Phase.START_PRE: (False, False), Phase.START: (False,)}))
    assert unit.send(StartJob()) == [Spawn(Role.CONTROL, Phase.START_PRE, 0)]
    unit.send(Spawned(Role.CONTROL, 50))
    assert unit.send(Exited(50, 0)) == [Spawn(Role.CONTROL, Phase.START_PRE, 1)]
    unit.send(Spawned(Role.CONTROL, 51))
    assert unit.send(Exited(51, 0)) == [Spawn(Role.MAIN, Phase.START, 0)]
    assert unit.sub() is Sub.START


def test_failed_start_pre_fails_the_unit_but_dash_prefix_ignores_it() -> None:
    unit = Unit(cfg(commands={Phase.START_PRE: (False,), Phase.START: (False,)}))
    unit.send(StartJob())
    unit.send(Spawned(Role.CONTROL, 50))
    assert unit.send(Exited(50, 1)) == [Kill(TERM, Whom.ALL)]
    assert unit.sub() is Sub.STOP_SIGTERM
    unit.drain_kills()
    assert (unit.sub(), unit.state.result) == (Sub.FAILED, Result.EXIT_CODE)

    lenient = Unit(cfg(commands={Phase.START_PRE: (True,), Phase.START: (False,)}))
    lenient.send(StartJob())
    lenient.send(Spawned(Role.CONTROL, 50))
    assert lenient.send(Exited(50, 1)) == [Spawn(Role.MAIN, Phase.START, 0)]


def test_start_post_runs_after_the_main_process_started() -> None:
    unit = Unit(cfg(commands={Phase.START: (False,), Phase.START_POST: (False,)}))
    unit.send(StartJob())
    assert unit.send(Spawned(Role.MAIN, 100)) == [Spawn(Role.CONTROL, Phase.START_POST, 0)]
    assert unit.sub() is Sub.START_POST
    unit.send(Spawned(Role.CONTROL, 60))
    unit.send(Exited(60, 0))
    assert unit.sub() is Sub.RUNNING


def test_notify_waits_for_ready() -> None:
    unit = Unit(cfg(type=ServiceType.NOTIFY))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    assert unit.sub() is Sub.START
    unit.send(Notified(status="warming up"))
    assert (unit.sub(), unit.state.status_text) == (Sub.START, "warming up")
    unit.send(Notified(ready=True))
    assert unit.sub() is Sub.RUNNING


def test_notify_start_timeout_fails_with_timeout() -> None:
    unit = Unit(cfg(type=ServiceType.NOTIFY, timeout_start=3.0))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    assert unit.state.deadline == 3.0
    assert unit.send(Timer(), at=2.0) == []
    assert unit.send(Timer(), at=3.0) == [Kill(TERM, Whom.ALL)]
    assert (unit.sub(), unit.state.result) == (Sub.STOP_SIGTERM, Result.TIMEOUT)


def test_extend_timeout_pushes_the_start_deadline() -> None:
    unit = Unit(cfg(type=ServiceType.NOTIFY, timeout_start=3.0))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    unit.send(Notified(extend_timeout_usec=10_000_000), at=2.0)
    assert unit.state.deadline == 12.0


def test_notify_main_exiting_before_ready_is_a_protocol_failure() -> None:
    unit = Unit(cfg(type=ServiceType.NOTIFY))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    unit.send(Exited(100, 0))
    unit.drain_kills()
    assert (unit.sub(), unit.state.result) == (Sub.FAILED, Result.PROTOCOL)


def test_exec_type_is_started_once_exec_succeeded() -> None:
    unit = Unit(cfg(type=ServiceType.EXEC))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    assert unit.sub() is Sub.START
    unit.send(ExecSucceeded(100))
    assert unit.sub() is Sub.RUNNING


def test_exec_type_exec_failure_fails() -> None:
    unit = Unit(cfg(type=ServiceType.EXEC))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    unit.send(Exited(100, 203))
    unit.drain_kills()
    assert (unit.sub(), unit.state.result) == (Sub.FAILED, Result.EXIT_CODE)


def test_oneshot_runs_each_exec_start_then_exits_or_stays() -> None:
    for remain, final in ((True, Sub.EXITED), (False, Sub.DEAD)):
        unit = Unit(
            cfg(
                type=ServiceType.ONESHOT,
                remain_after_exit=remain,
                commands={Phase.START: (False, False)},
            )
        )
        assert unit.send(StartJob()) == [Spawn(Role.MAIN, Phase.START, 0)]
        assert unit.state.deadline is None or unit.state.deadline > 0
        unit.send(Spawned(Role.MAIN, 100))
        assert unit.send(Exited(100, 0)) == [Spawn(Role.MAIN, Phase.START, 1)]
        unit.send(Spawned(Role.MAIN, 101))
        unit.send(Exited(101, 0))
        unit.drain_kills()
        assert (unit.sub(), unit.state.result) == (final, Result.SUCCESS)


def test_oneshot_failure_fails() -> None:
    unit = Unit(cfg(type=ServiceType.ONESHOT))
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    unit.send(Exited(100, 2))
    unit.drain_kills()
    assert (unit.sub(), unit.state.result) == (Sub.FAILED, Result.EXIT_CODE)


def test_forking_reads_the_pid_file_after_the_parent_exits() -> None:
    unit = Unit(cfg(type=ServiceType.FORKING))
    assert unit.send(StartJob()) == [Spawn(Role.CONTROL, Phase.START, 0)]
    unit.send(Spawned(Role.CONTROL, 70))
    assert unit.send(Exited(70, 0)) == [ReadPidFile()]
    unit.send(MainPidFound(123))
    assert (unit.sub(), unit.state.main_pid) == (Sub.RUNNING, 123)


def test_forking_without_a_main_pid_runs_until_empty() -> None:
    unit = Unit(cfg(type=ServiceType.FORKING))
    unit.send(StartJob())
    unit.send(Spawned(Role.CONTROL, 70))
    unit.send(Exited(70, 0))
    unit.send(MainPidFound(None))
    assert (unit.sub(), unit.state.main_pid) == (Sub.RUNNING, None)
    unit.send(Empty())
    unit.drain_kills()
    assert unit.sub() is Sub.DEAD


def test_exec_condition_skip_is_not_a_failure() -> None:
    config = cfg(
        commands={Phase.CONDITION: (False,), Phase.START: (False,)}, restart=Restart.ALWAYS
    )
    unit = Unit(config)
    assert unit.send(StartJob()) == [Spawn(Role.CONTROL, Phase.CONDITION, 0)]
    unit.send(Spawned(Role.CONTROL, 40))
    unit.send(Exited(40, 1))
    assert (unit.sub(), unit.state.result) == (Sub.DEAD, Result.SUCCESS)
    unit = Unit(config)
    unit.send(StartJob())
    unit.send(Spawned(Role.CONTROL, 40))
    unit.send(Exited(40, 255))
    unit.drain_kills()
    assert unit.sub() is Sub.AUTO_RESTART  # a real failure, and Restart=always


# ---- running and ending ----------------------------------------------------------
def test_main_exit_runs_the_stop_operation_then_settles() -> None:
    config = cfg(commands={Phase.START: (False,), Phase.STOP: (False,), Phase.STOP_POST: (False,)})
    unit = running(config)
    assert unit.send(Exited(100, 0)) == [Spawn(Role.CONTROL, Phase.STOP, 0)]
    unit.send(Spawned(Role.CONTROL, 80))
    assert unit.send(Exited(80, 0)) == [Kill(TERM, Whom.ALL)]
    assert unit.send(Empty()) == [Spawn(Role.CONTROL, Phase.STOP_POST, 0)]
    unit.send(Spawned(Role.CONTROL, 81))
    assert unit.send(Exited(81, 0)) == [Kill(TERM, Whom.ALL)]
    assert unit.sub() is Sub.FINAL_SIGTERM
    unit.send(Empty())
    assert (unit.sub(), unit.state.active) == (Sub.DEAD, Active.INACTIVE)


def test_remain_after_exit_keeps_a_finished_main_active() -> None:
    unit = running(cfg(remain_after_exit=True))
    unit.send(Exited(100, 0))
    assert (unit.sub(), unit.state.active) == (Sub.EXITED, Active.ACTIVE)


def test_clean_signals_and_success_exit_status_are_success() -> None:
    for event in (Exited(100, None, TERM), Exited(100, 42)):
        unit = running(cfg(success_exit_status=frozenset({42})))
        unit.send(event)
        unit.drain_kills()
        assert (unit.sub(), unit.state.result) == (Sub.DEAD, Result.SUCCESS)
    unit = running(cfg())
    unit.send(Exited(100, None, 11))
    unit.drain_kills()
    assert unit.state.result is Result.CORE_DUMP


def test_stop_job_sigterm_then_sigkill_after_timeout() -> None:
    unit = running(cfg(timeout_stop=2.0, restart=Restart.ALWAYS))
    assert unit.send(StopJob(), at=10.0) == [Kill(TERM, Whom.ALL)]
    assert unit.state.deadline == 12.0
    assert unit.send(Timer(), at=12.0) == [Kill(KILL, Whom.ALL)]
    assert unit.sub() is Sub.STOP_SIGKILL
    unit.send(Exited(100, None, KILL))
    unit.drain_kills()
    assert unit.sub() is Sub.DEAD, "a requested stop never restarts"


def test_stop_without_send_sigkill_skips_it() -> None:
    unit = running(cfg(timeout_stop=1.0, send_sigkill=False))
    unit.send(StopJob())
    unit.send(Timer(), at=1.0)
    assert unit.sub() is Sub.FINAL_SIGTERM


def test_kill_modes_and_sighup() -> None:
    expected = {
        KillMode.CONTROL_GROUP: [Kill(TERM, Whom.ALL), Kill(HUP, Whom.ALL)],
        KillMode.MIXED: [
            Kill(TERM, Whom.MAIN),
            Kill(TERM, Whom.CONTROL),
            Kill(HUP, Whom.MAIN),
            Kill(HUP, Whom.CONTROL),
        ],
        KillMode.PROCESS: [
            Kill(TERM, Whom.MAIN),
            Kill(TERM, Whom.CONTROL),
            Kill(HUP, Whom.MAIN),
            Kill(HUP, Whom.CONTROL),
        ],
        KillMode.NONE: [],
    }
    for mode, kills in expected.items():
        unit = running(cfg(kill_mode=mode, send_sighup=True))
        assert unit.send(StopJob()) == kills, mode
    mixed = running(cfg(kill_mode=KillMode.MIXED, timeout_stop=1.0))
    mixed.send(StopJob())
    assert mixed.send(Timer(), at=1.0) == [Kill(KILL, Whom.ALL)]


def test_stop_while_starting_skips_exec_stop() -> None:
    unit = Unit(
        cfg(type=ServiceType.NOTIFY, commands={Phase.START: (False,), Phase.STOP: (False,)})
    )
    unit.send(StartJob())
    unit.send(Spawned(Role.MAIN, 100))
    assert unit.send(StopJob()) == [Kill(TERM, Whom.ALL)]


def test_exec_stop_timeout_moves_to_sigterm() -> None:
    unit = running(cfg(commands={Phase.START: (False,), Phase.STOP: (False,)}, timeout_stop=1.0))
    unit.send(StopJob())
    unit.send(Spawned(Role.CONTROL, 80))
    assert unit.send(Timer(), at=1.0) == [Kill(TERM, Whom.ALL)]
    assert unit.state.result is Result.TIMEOUT


# ---- restarts --------------------------------------------------------------------
def test_on_failure_restarts_with_doubling_backoff() -> None:
    unit = running(cfg(restart=Restart.ON_FAILURE))
    delays = []
    for attempt in range(4):
        unit.send(Exited(unit.state.main_pid or 0, 1))
        unit.drain_kills()
        assert unit.sub() is Sub.AUTO_RESTART
        assert unit.state.deadline is not None
        delays.append(round(unit.state.deadline - unit.now, 3))
        assert unit.send(Timer(), at=unit.state.deadline) == [Spawn(Role.MAIN, Phase.START, 0)]
        unit.send(Spawned(Role.MAIN, 200 + attempt))
    assert delays == [0.1, 0.2, 0.4, 0.8]


def test_on_failure_does_not_restart_a_clean_exit_but_always_does() -> None:
    unit = running(cfg(restart=Restart.ON_FAILURE))
    unit.send(Exited(100, 0))
    unit.drain_kills()
    assert unit.sub() is Sub.DEAD
    unit = running(cfg(restart=Restart.ALWAYS))
    unit.send(Exited(100, 0))
    unit.drain_kills()
    assert unit.sub() is Sub.AUTO_RESTART


def test_restart_policies_table() -> None:
    cases = [
        (Restart.ON_SUCCESS, Exited(100, 0), True),
        (Restart.ON_SUCCESS, Exited(100, 1), False),
        (Restart.ON_ABNORMAL, Exited(100, 1), False),
        (Restart.ON_ABNORMAL, Exited(100, None, 11), True),
        (Restart.ON_ABORT, Exited(100, None, 9), True),
        (Restart.ON_ABORT, Exited(100, 3), False),
        (Restart.ON_WATCHDOG, Exited(100, 3), False),
        (Restart.NO, Exited(100, 3), False),
    ]
    for policy, event, restarts in cases:
        unit = running(cfg(restart=policy))
        unit.send(event)
        unit.drain_kills()
        assert (unit.sub() is Sub.AUTO_RESTART) == restarts, (policy, event)


def test_prevent_and_force_exit_status() -> None:
    unit = running(cfg(restart=Restart.ALWAYS, restart_prevent=frozenset({255})))
    unit.send(Exited(100, 255))
    unit.drain_kills()
    assert unit.sub() is Sub.FAILED
    unit = running(cfg(restart=Restart.NO, restart_force=frozenset({7})))
    unit.send(Exited(100, 7))
    unit.drain_kills()
    assert unit.sub() is Sub.AUTO_RESTART


def test_start_limit_stops_a_crash_loop() -> None:
    unit = running(cfg(restart=Restart.ALWAYS, start_limit_burst=3, start_limit_interval=10.0))
    for _ in range(5):
        unit.send(Exited(unit.state.main_pid or 0, 1))
        unit.drain_kills()
        if unit.sub() is not Sub.AUTO_RESTART:
            break
        unit.send(Timer(), at=unit.state.deadline)
        if unit.sub() is Sub.START:
            unit.send(Spawned(Role.MAIN, 300))
    assert (unit.sub(), unit.state.result) == (Sub.FAILED, Result.START_LIMIT)


def test_stop_during_auto_restart_cancels_it() -> None:
    unit = running(cfg(restart=Restart.ALWAYS))
    unit.send(Exited(100, 1))
    unit.drain_kills()
    unit.send(StopJob())
    assert (unit.sub(), unit.state.deadline) == (Sub.DEAD, None)


def test_restart_job_stops_with_restart_kill_signal_then_starts() -> None:
    unit = running(cfg(restart_kill_signal=HUP))
    assert unit.send(RestartJob()) == [Kill(HUP, Whom.ALL)]
    unit.send(Exited(100, None, HUP))
    unit.send(Empty())
    assert unit.send(Empty()) == [Spawn(Role.MAIN, Phase.START, 0)]


def test_start_during_stop_is_queued() -> None:
    unit = running(cfg())
    unit.send(StopJob())
    assert unit.send(StartJob()) == []
    unit.send(Empty())
    assert unit.send(Empty()) == [Spawn(Role.MAIN, Phase.START, 0)]


def test_start_when_active_is_a_no_op() -> None:
    unit = running(cfg())
    assert unit.send(StartJob()) == []


# ---- reload, notify, watchdog -------------------------------------------------------
def test_reload_with_exec_reload() -> None:
    unit = running(cfg(commands={Phase.START: (False,), Phase.RELOAD: (False,)}))
    assert unit.send(ReloadJob()) == [Spawn(Role.CONTROL, Phase.RELOAD, 0)]
    assert unit.state.active is Active.RELOADING
    unit.send(Spawned(Role.CONTROL, 90))
    unit.send(Exited(90, 0))
    assert unit.sub() is Sub.RUNNING
    unit.send(ReloadJob())
    unit.send(Spawned(Role.CONTROL, 91))
    unit.send(Exited(91, 1))
    assert (unit.sub(), unit.state.result) == (Sub.RUNNING, Result.SUCCESS)


def test_notify_reload_sends_sighup_and_waits_for_ready() -> None:
    unit = running(cfg(type=ServiceType.NOTIFY_RELOAD))
    assert unit.send(ReloadJob()) == [Kill(HUP, Whom.MAIN)]
    unit.send(Notified(reloading=True))
    assert unit.sub() is Sub.RELOAD
    unit.send(Notified(ready=True))
    assert unit.sub() is Sub.RUNNING


def test_reload_when_not_running_does_nothing() -> None:
    unit = Unit(cfg())
    assert unit.send(ReloadJob()) == []
    assert unit.sub() is Sub.DEAD


def test_mainpid_and_status_from_notify() -> None:
    unit = running(cfg(type=ServiceType.NOTIFY))
    unit.send(Notified(main_pid=555, status="serving"))
    assert (unit.state.main_pid, unit.state.status_text) == (555, "serving")


def test_watchdog_expiry_aborts_and_restarts_on_watchdog() -> None:
    unit = running(cfg(type=ServiceType.NOTIFY, watchdog_sec=2.0, restart=Restart.ON_WATCHDOG))
    assert unit.state.watchdog_deadline == 2.0
    unit.send(Notified(watchdog=True), at=1.5)
    assert unit.state.watchdog_deadline == 3.5
    assert unit.send(Timer(), at=3.5) == [Kill(ABRT, Whom.MAIN), Kill(TERM, Whom.ALL)]
    unit.send(Exited(100, None, ABRT))
    unit.drain_kills()
    assert (unit.sub(), unit.state.result) == (Sub.AUTO_RESTART, Result.WATCHDOG)


def test_watchdog_trigger_fires_at_once() -> None:
    unit = running(cfg(type=ServiceType.NOTIFY))
    unit.send(Notified(watchdog_trigger=True))
    assert (unit.sub(), unit.state.result) == (Sub.STOP_SIGTERM, Result.WATCHDOG)


def test_stray_exits_and_empty_while_running_change_nothing() -> None:
    unit = running(cfg())
    assert unit.send(Exited(999, 0)) == []
    assert unit.send(Empty()) == []
    assert unit.sub() is Sub.RUNNING


# ---- properties ------------------------------------------------------------------
_pids = st.sampled_from([100, 101, 50, 999])
_events = st.one_of(
    st.builds(StartJob, st.booleans()),
    st.just(StopJob()),
    st.just(RestartJob()),
    st.just(ReloadJob()),
    st.builds(Spawned, st.sampled_from(list(Role)), _pids),
    st.builds(Exited, _pids, st.one_of(st.none(), st.integers(0, 255)), st.none()),
    st.builds(Exited, _pids, st.none(), st.integers(1, 31)),
    st.builds(ExecSucceeded, _pids),
    st.builds(
        Notified,
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.none(),
        st.none(),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(MainPidFound, st.one_of(st.none(), _pids)),
    st.just(Empty()),
    st.just(Timer()),
)
_configs = st.builds(
    cfg,
    type=st.sampled_from(list(ServiceType)),
    restart=st.sampled_from(list(Restart)),
    kill_mode=st.sampled_from(list(KillMode)),
    remain_after_exit=st.booleans(),
    commands=st.fixed_dictionaries(
        {Phase.START: st.lists(st.booleans(), min_size=1, max_size=2).map(tuple)},
        optional={
            p: st.lists(st.booleans(), min_size=1, max_size=2).map(tuple)
            for p in Phase
            if p is not Phase.START
        },
    ),
)


@given(_configs, st.lists(st.tuples(_events, st.floats(0, 5)), max_size=40))
def test_any_event_sequence_keeps_the_model_consistent(
    config: ServiceConfig, events: list[tuple[model.Event, float]]
) -> None:
    unit = Unit(config)
    for event, delay in events:
        unit.send(event, at=unit.now + delay)
        state = unit.state
        if state.sub in (Sub.DEAD, Sub.FAILED):
            assert state.main_pid is None and state.control_pid is None
            assert state.deadline is None
        if state.sub is Sub.AUTO_RESTART:
            assert state.deadline is not None
