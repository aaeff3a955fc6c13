"""The rules the service model applies, each a small pure function: how a
main process's end is judged, whether Restart= restarts, which kill signals go
where for each KillMode=, and how notes and actions are put together."""

import dataclasses
from collections.abc import Sequence

from guestinit.service.model_data import (
    SIGHUP,
    Action,
    Exited,
    Kill,
    ServiceConfig,
    State,
    Step,
)
from guestinit.service.states import KillMode, Phase, Restart, Result, Whom

# A main process killed by one of these exited "cleanly" (systemd's rule).
_CLEAN_SIGNALS = frozenset({1, 2, 15, 13})
_CORE_SIGNALS = frozenset({3, 4, 5, 6, 7, 8, 11, 24, 25, 31})


def kill_actions(config: ServiceConfig, signal: int, final: bool) -> list[Action]:
    mode = config.kill_mode
    if mode is KillMode.NONE:
        return []
    if mode is KillMode.PROCESS or (mode is KillMode.MIXED and not final):
        targets = [Whom.MAIN, Whom.CONTROL]
    else:
        targets = [Whom.ALL]
    actions: list[Action] = [Kill(signal, whom) for whom in targets]
    if config.send_sighup and not final:
        actions.extend(Kill(SIGHUP, whom) for whom in targets)
    return actions


def judge_main(config: ServiceConfig, event: Exited) -> Result:
    if event.signal is not None:
        if event.signal in _CLEAN_SIGNALS or event.signal in config.success_signals:
            return Result.SUCCESS
        return Result.CORE_DUMP if event.signal in _CORE_SIGNALS else Result.SIGNAL
    if event.code == 0 or event.code in config.success_exit_status:
        return Result.SUCCESS
    return Result.EXIT_CODE


def should_restart(config: ServiceConfig, state: State) -> bool:
    if state.result is Result.START_LIMIT:
        return False
    code, signal = state.main_exit or (None, None)
    if (code is not None and code in config.restart_prevent) or (
        signal is not None and signal in config.restart_prevent_signals
    ):
        return False
    if (code is not None and code in config.restart_force) or (
        signal is not None and signal in config.restart_force_signals
    ):
        return True
    result = state.result
    policy = config.restart
    if policy is Restart.ALWAYS:
        return True
    if policy is Restart.ON_SUCCESS:
        return result is Result.SUCCESS
    if policy is Restart.ON_FAILURE:
        return result is not Result.SUCCESS
    if policy is Restart.ON_ABNORMAL:
        return result in (Result.SIGNAL, Result.CORE_DUMP, Result.TIMEOUT, Result.WATCHDOG)
    if policy is Restart.ON_ABORT:
        return result in (Result.SIGNAL, Result.CORE_DUMP)
    if policy is Restart.ON_WATCHDOG:
        return result is Result.WATCHDOG
    return False


def ignores_failure(config: ServiceConfig, phase: Phase | None, index: int) -> bool:
    flags = config.commands.get(phase, ()) if phase else ()
    return index < len(flags) and flags[index]


def fail(state: State, result: Result) -> State:
    """Record a failure unless an earlier one is already recorded."""
    if state.result is not Result.SUCCESS:
        return state
    return dataclasses.replace(state, result=result)


def describe_exit(what: str, event: Exited) -> str:
    if event.signal is not None:
        return f"{what} {event.pid} killed by signal {event.signal}"
    return f"{what} {event.pid} exited with status {event.code}"


def noted(note: Action, step_result: Step) -> Step:
    state, actions = step_result
    return state, [note, *actions]


def all_noted(notes: Sequence[Action], step_result: Step) -> Step:
    state, actions = step_result
    return state, [*notes, *actions]
