"""Every transition of the PID-1 lifecycle, with a fake clock."""

import os
import signal

import pytest

from guestinit import _log
from guestinit.config import InitConfig
from guestinit.pid1 import model
from guestinit.pid1.model import Exit, Forward, Notify, SignalRest

TERM, KILL, USR1, QUIT = (
    int(s) for s in (signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1, signal.SIGQUIT)
)
MAIN = 42
STOP = int(signal.SIGSTOP)


def policy(drain: bool = True, **options: object) -> model.Policy:
    return model.Policy(InitConfig(["x"], **options), drain=drain)  # type: ignore[arg-type]


def exited(code: int) -> int:
    return code << 8  # a wait status for "exited with code"


def killed(number: int) -> int:
    return number


def run(
    events: list[model.Event], pol: model.Policy, clock: list[float] | None = None
) -> tuple[model.State, list[model.Action]]:
    state = model.start(MAIN)
    actions: list[model.Action] = []
    times = clock or [0.0] * len(events)
    for event, now in zip(events, times, strict=True):
        state, new = model.step(state, event, now, pol)
        actions.extend(a for a in new if not isinstance(a, model.Log))
    return state, actions


def test_signal_is_forwarded_to_the_main_process() -> None:
    state, actions = run([model.Signal(USR1)], policy())
    assert state.phase == model.RUNNING
    assert actions == [Forward(USR1, MAIN)]


def test_group_forwarding_targets_the_negative_pid() -> None:
    _, actions = run([model.Signal(USR1)], policy(forward_to_group=True))
    assert actions == [Forward(USR1, -MAIN)]


def test_rewrite_and_drop() -> None:
    pol = policy(rewrites={USR1: QUIT, int(signal.SIGHUP): 0})
    _, actions = run([model.Signal(USR1), model.Signal(int(signal.SIGHUP))], pol)
    assert actions == [Forward(QUIT, MAIN)]


def test_running_to_stopping_on_sigterm_arms_the_deadline() -> None:
    state, actions = run([model.Signal(TERM)], policy(grace=5.0), [10.0])
    assert state.phase == model.STOPPING
    assert state.deadline == 15.0
    assert actions == [Forward(TERM, MAIN), Notify("STOPPING=1")]


def test_rewritten_sigterm_still_starts_the_stop() -> None:
    state, actions = run([model.Signal(TERM)], policy(rewrites={TERM: QUIT}))
    assert state.phase == model.STOPPING
    assert Forward(QUIT, MAIN) in actions


def test_no_stop_timeout_keeps_running_on_sigterm() -> None:
    state, actions = run([model.Signal(TERM)], policy(stop_timeout=False))
    assert state.phase == model.RUNNING
    assert actions == [Forward(TERM, MAIN)]


def test_running_to_draining_when_main_exits() -> None:
    state, actions = run([model.Reaped(MAIN, exited(3))], policy(grace=2.0), [1.0])
    assert (state.phase, state.exit_code, state.deadline) == (model.DRAINING, 3, 3.0)
    assert actions == [Notify("STOPPING=1"), SignalRest(TERM)]


def test_stopping_to_draining_keeps_the_original_deadline() -> None:
    events: list[model.Event] = [model.Signal(TERM), model.Reaped(MAIN, exited(0))]
    state, actions = run(events, policy(grace=5.0), [0.0, 4.0])
    assert (state.phase, state.deadline) == (model.DRAINING, 5.0)
    assert actions[-1] == SignalRest(TERM)
    assert actions.count(Notify("STOPPING=1")) == 1


def test_draining_to_done_when_no_children_are_left() -> None:
    events: list[model.Event] = [model.Reaped(MAIN, exited(7)), model.NoChildren()]
    state, actions = run(events, policy())
    assert state.phase == model.DONE
    assert actions[-1] == Exit(7)


def test_no_children_while_running_changes_nothing() -> None:
    state, actions = run([model.NoChildren()], policy())
    assert (state.phase, actions) == (model.RUNNING, [])


def test_draining_to_killing_at_the_deadline_then_done() -> None:
    events: list[model.Event] = [
        model.Reaped(MAIN, exited(0)),
        model.Tick(),
        model.Tick(),
        model.NoChildren(),
    ]
    state, actions = run(events, policy(grace=1.0), [0.0, 0.5, 1.0, 1.2])
    assert state.phase == model.DONE
    assert actions == [Notify("STOPPING=1"), SignalRest(TERM), SignalRest(KILL), Exit(0)]


def test_killing_sweeps_again_until_nothing_is_left() -> None:
    events: list[model.Event] = [model.Reaped(MAIN, exited(0)), model.Tick(), model.Tick()]
    state, actions = run(events, policy(grace=1.0), [0.0, 1.0, 1.0 + model.KILL_SWEEP_INTERVAL])
    assert state.phase == model.KILLING
    assert actions[-2:] == [SignalRest(KILL), SignalRest(KILL)]


def test_stopping_to_killing_when_main_outlives_grace() -> None:
    events: list[model.Event] = [
        model.Signal(TERM),
        model.Tick(),
        model.Reaped(MAIN, killed(KILL)),
        model.NoChildren(),
    ]
    state, actions = run(events, policy(grace=2.0), [0.0, 2.0, 2.01, 2.02])
    assert state.phase == model.DONE
    assert Forward(KILL, MAIN) in actions
    assert actions[-1] == Exit(128 + KILL)


def test_without_drain_exit_follows_main_at_once() -> None:
    state, actions = run([model.Reaped(MAIN, exited(5))], policy(drain=False))
    assert state.phase == model.DONE
    assert actions == [Exit(5)]


def test_dumb_init_terms_the_group_through_the_rewrite_table() -> None:
    pol = policy(drain=False, term_group_on_exit=True, forward_to_group=True, rewrites={TERM: QUIT})
    _, actions = run([model.Reaped(MAIN, exited(0))], pol)
    assert actions == [Forward(QUIT, -MAIN), Exit(0)]


def test_dumb_init_single_child_terms_only_the_child_on_exit() -> None:
    pol = policy(drain=False, term_group_on_exit=True)
    _, actions = run([model.Reaped(MAIN, exited(0))], pol)
    assert actions == [Forward(TERM, MAIN), Exit(0)]


def test_dumb_init_goodbye_comes_after_the_term() -> None:
    log = _log.Log(_log.DEBUG, style=_log.DUMB_INIT)
    pol = policy(drain=False, term_group_on_exit=True, forward_to_group=True, log=log)
    _, actions = model.step(model.start(MAIN), model.Reaped(MAIN, killed(TERM)), 0.0, pol)
    texts = [a.text if isinstance(a, model.Log) else a for a in actions]
    assert texts == [
        f"A child with PID {MAIN} was terminated by signal 15.",
        Forward(TERM, -MAIN),
        "Child exited with status 143. Goodbye.",
        Exit(143),
    ]


@pytest.mark.parametrize("number", [signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU])
def test_dumb_init_tty_signals_stop_the_group_then_us(number: int) -> None:
    pol = policy(forward_to_group=True, suspend_on_tty_signals=True, rewrites={int(number): STOP})
    _, actions = run([model.Signal(int(number))], pol)
    assert actions == [Forward(STOP, -MAIN), model.SuspendSelf()]


def test_dumb_init_drop_to_zero_still_suspends_and_says_so() -> None:
    log = _log.Log(_log.DEBUG, style=_log.DUMB_INIT)
    pol = policy(suspend_on_tty_signals=True, rewrites={int(signal.SIGTSTP): 0}, log=log)
    _, actions = model.step(model.start(MAIN), model.Signal(int(signal.SIGTSTP)), 0.0, pol)
    assert [a.text for a in actions if isinstance(a, model.Log)] == [
        "Translating signal 20 to 0.",
        "Not forwarding signal 0 to children (ignored).",
    ]
    assert actions[-1] == model.SuspendSelf()


def test_tini_warns_about_zombies_in_its_own_words() -> None:
    log = _log.Log(_log.TRACE, style=_log.TINI)
    pol = policy(warn_on_reap=True, log=log)
    _, actions = model.step(model.start(MAIN), model.Reaped(99, exited(0)), 0.0, pol)
    logs = [(a.level, a.text) for a in actions if isinstance(a, model.Log)]
    assert logs == [
        (_log.DEBUG, "Reaped child with pid: '99'"),
        (_log.WARNING, "Reaped zombie process with pid=99"),
    ]


def test_signals_after_main_exit_are_not_forwarded() -> None:
    _, actions = run([model.Reaped(MAIN, exited(0)), model.Signal(USR1)], policy())
    assert not any(isinstance(a, Forward) for a in actions)


def test_other_reaps_change_nothing_but_can_warn() -> None:
    state = model.start(MAIN)
    state2, actions = model.step(state, model.Reaped(99, exited(0)), 0.0, policy(warn_on_reap=True))
    assert state2.phase == model.RUNNING
    assert [a.level for a in actions if isinstance(a, model.Log)] == [_log.WARNING]


def test_tick_before_the_deadline_does_nothing() -> None:
    state, actions = run([model.Signal(TERM), model.Tick()], policy(grace=5.0), [0.0, 4.9])
    assert state.phase == model.STOPPING
    assert actions == [Forward(TERM, MAIN), Notify("STOPPING=1")]


@pytest.mark.parametrize(
    ("status", "success", "code"),
    [
        (exited(0), frozenset(), 0),
        (exited(3), frozenset(), 3),
        (exited(3), frozenset({3}), 0),
        (killed(TERM), frozenset(), 143),
        (killed(TERM), frozenset({143}), 0),
        (killed(KILL), frozenset(), 137),
    ],
)
def test_exit_code_of(status: int, success: frozenset[int], code: int) -> None:
    assert model.exit_code_of(status, success) == code


def test_wait_status_helpers_match_the_os() -> None:
    assert os.WEXITSTATUS(exited(9)) == 9
    assert os.WTERMSIG(killed(TERM)) == TERM


def test_tini_and_dumb_init_exit_lines() -> None:
    for style, text in [
        (_log.TINI, "Main child exited normally (with status '3')"),
        (_log.DUMB_INIT, "Child exited with status 3. Goodbye."),
        (_log.GUESTINIT, "main process 42 exited with status 3"),
    ]:
        pol = model.Policy(InitConfig(["x"], log=_log.Log(style=style)), drain=False)
        _, actions = model.step(model.start(MAIN), model.Reaped(MAIN, exited(3)), 0.0, pol)
        assert text in [a.text for a in actions if isinstance(a, model.Log)]


# ---- with a service manager ----------------------------------------------------------
def units_policy(**options: object) -> model.Policy:
    return model.Policy(InitConfig(["x"], **options), drain=True, has_units=True)  # type: ignore[arg-type]


def test_booting_spawns_main_once_units_are_ready() -> None:
    pol = units_policy()
    state = model.booting()
    state, actions = model.step(state, model.Signal(USR1), 0.0, pol)
    assert not any(isinstance(a, Forward) for a in actions), "no main process to forward to"
    state, actions = model.step(state, model.UnitsReady(), 0.0, pol)
    assert actions == [model.SpawnMain()]
    state, _ = model.step(state, model.MainSpawned(MAIN), 0.0, pol)
    assert (state.phase, state.main_pid) == (model.RUNNING, MAIN)


def test_main_exit_stops_units_before_draining() -> None:
    pol = units_policy(grace=5.0)
    state, actions = model.step(model.start(MAIN), model.Reaped(MAIN, exited(2)), 1.0, pol)
    assert (state.phase, state.deadline) == (model.UNITS_STOPPING, 6.0)
    assert model.StopUnits() in actions and SignalRest(TERM) not in actions
    state, _ = model.step(state, model.NoChildren(), 2.0, pol)
    assert state.phase == model.UNITS_STOPPING, "no exit before the units are down"
    state, actions = model.step(state, model.UnitsStopped(), 2.0, pol)
    assert (state.phase, actions) == (model.DRAINING, [SignalRest(TERM)])
    state, actions = model.step(state, model.NoChildren(), 2.1, pol)
    assert actions[-1] == Exit(2)


def test_sigterm_without_main_stops_units_and_exits_zero() -> None:
    pol = units_policy(grace=5.0)
    state, actions = model.step(model.start(None), model.Signal(TERM), 0.0, pol)
    assert state.phase == model.UNITS_STOPPING
    assert actions[-2:] == [Notify("STOPPING=1"), model.StopUnits()]
    state, _ = model.step(state, model.UnitsStopped(), 1.0, pol)
    _, actions = model.step(state, model.NoChildren(), 1.0, pol)
    assert actions[-1] == Exit(0)


def test_units_outliving_grace_get_sigkill() -> None:
    pol = units_policy(grace=2.0)
    state, _ = model.step(model.start(None), model.Signal(TERM), 0.0, pol)
    state, actions = model.step(state, model.Tick(), 2.0, pol)
    assert state.phase == model.KILLING and SignalRest(KILL) in actions
    _, actions = model.step(state, model.NoChildren(), 2.1, pol)
    assert actions[-1] == Exit(0)


def test_exit_request_stops_main_and_wins_the_exit_code() -> None:
    pol = units_policy(grace=5.0)
    state, actions = model.step(model.start(MAIN), model.ExitRequested(7), 0.0, pol)
    assert state.phase == model.STOPPING and Forward(TERM, MAIN) in actions
    state, _ = model.step(state, model.Reaped(MAIN, killed(TERM)), 1.0, pol)
    state, _ = model.step(state, model.UnitsStopped(), 1.5, pol)
    _, actions = model.step(state, model.NoChildren(), 1.6, pol)
    assert actions[-1] == Exit(7)


def test_exit_request_while_booting_goes_straight_to_unit_stop() -> None:
    pol = units_policy()
    state, actions = model.step(model.booting(), model.ExitRequested(3), 0.0, pol)
    assert state.phase == model.UNITS_STOPPING and model.StopUnits() in actions
