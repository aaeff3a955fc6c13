"""The PID-1 lifecycle as a pure state machine.

Phases::

    BOOTING --units ready--> RUNNING                  (only with units and a command)
    RUNNING --SIGTERM (stop signal)--> STOPPING --main exits--> DRAINING
    RUNNING --main exits-----------------------------------> DRAINING
    STOPPING/DRAINING --grace deadline--> KILLING
    DRAINING/KILLING --no children left--> DONE

With units, "main exits" (or a stop without a main process) leads first to
UNITS_STOPPING, where the service manager stops them in reverse order, and
from there to DRAINING once they are all down.

One deadline covers the whole stop: it is armed when the stop begins (SIGTERM to
us, or the main process exiting) and everything still running at it gets
SIGKILL, so ``docker stop`` (10 s) sees us finish within ``grace`` seconds.
The loop feeds events in and executes the returned actions; nothing here does
I/O, so every transition is tested with a fake clock.
"""

import os

from guestinit import _log
from guestinit._sig import sig
from guestinit._signames import describe, signal_name
from guestinit.config import InitConfig

BOOTING, RUNNING, STOPPING = "booting", "running", "stopping"
UNITS_STOPPING, DRAINING, KILLING, DONE = "units-stopping", "draining", "killing", "done"

# While KILLING, re-send SIGKILL this often: a process forked after the last
# sweep (subreaper mode walks /proc) must not survive the deadline.
KILL_SWEEP_INTERVAL = 0.1

STOP_SIGNALS = frozenset({int(sig.SIGTERM)})
# dumb-init stops itself after forwarding these (see SuspendSelf).
_TTY_STOP_SIGNALS = frozenset({int(sig.SIGTSTP), int(sig.SIGTTIN), int(sig.SIGTTOU)})


# ---- events -----------------------------------------------------------------
class Signal:
    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number


class Reaped:
    __slots__ = ("pid", "status")

    def __init__(self, pid: int, status: int) -> None:
        self.pid = pid
        self.status = status


class NoChildren:
    """waitpid said ECHILD: no process is left below us."""

    __slots__ = ()


class Tick:
    """Time passed; the model checks its deadline against ``now``."""

    __slots__ = ()


class UnitsReady:
    """Every unit started at boot is up (or has failed): the main process may start."""

    __slots__ = ()


class MainSpawned:
    __slots__ = ("pid",)

    def __init__(self, pid: int) -> None:
        self.pid = pid


class UnitsStopped:
    """The service manager has stopped every unit."""

    __slots__ = ()


class ExitRequested:
    """Stop everything and exit with ``code`` (FailureAction=exit, ``ctl exit``);
    ``power`` ("poweroff", "reboot", "halt") says what a machine's init does then."""

    __slots__ = ("code", "power")

    def __init__(self, code: int, power: str | None = None) -> None:
        self.code = code
        self.power = power


Event = (
    Signal | Reaped | NoChildren | Tick | UnitsReady | MainSpawned | UnitsStopped | ExitRequested
)


# ---- actions ----------------------------------------------------------------
class Forward:
    """Send ``number`` to ``pid`` (negative: a process group); ``received`` is
    the signal it stands for (differs when rewritten)."""

    __slots__ = ("number", "pid", "received")

    def __init__(self, number: int, pid: int, received: int = 0) -> None:
        self.number = number
        self.pid = pid
        self.received = received or number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Forward) and (self.number, self.pid) == (other.number, other.pid)

    def __repr__(self) -> str:
        return f"Forward({signal_name(self.number)}, {self.pid})"


class SuspendSelf:
    """dumb-init's job control: stop ourselves (SIGSTOP) after the main
    process's group was told to stop, so the shell that started us sees us stopped."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SuspendSelf)

    def __repr__(self) -> str:
        return "SuspendSelf()"


class SignalRest:
    """Send ``number`` (then SIGCONT, so stopped processes act on it) to every
    process left: everyone in the namespace as PID 1, our descendants otherwise."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SignalRest) and self.number == other.number

    def __repr__(self) -> str:
        return f"SignalRest({signal_name(self.number)})"


class Notify:
    """An sd_notify line for our parent, e.g. ``STOPPING=1``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Notify) and self.text == other.text

    def __repr__(self) -> str:
        return f"Notify({self.text!r})"


class Log:
    __slots__ = ("level", "text")

    def __init__(self, level: int, text: str) -> None:
        self.level = level
        self.text = text

    def __repr__(self) -> str:
        return f"Log({self.level}, {self.text!r})"


class Exit:
    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exit) and self.code == other.code

    def __repr__(self) -> str:
        return f"Exit({self.code})"


class SpawnMain:
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpawnMain)

    def __repr__(self) -> str:
        return "SpawnMain()"


class StopUnits:
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StopUnits)

    def __repr__(self) -> str:
        return "StopUnits()"


Action = Forward | SuspendSelf | SignalRest | Notify | Log | Exit | SpawnMain | StopUnits


# ---- state ------------------------------------------------------------------
class State:
    __slots__ = ("deadline", "exit_code", "main_pid", "phase", "power", "requested_exit")

    def __init__(
        self,
        phase: str,
        main_pid: int | None,
        exit_code: int | None = None,
        deadline: float | None = None,
        requested_exit: int | None = None,
        power: str | None = None,
    ) -> None:
        self.phase = phase
        # None: not started yet (BOOTING), or no command at all.
        self.main_pid = main_pid
        self.exit_code = exit_code
        # Monotonic time at which the loop must send a Tick.
        self.deadline = deadline
        # An exit code asked for by a unit or the control socket; wins over the main's.
        self.requested_exit = requested_exit
        # VM mode: the first power request (signal, button, ctl) wins.
        self.power = power

    def replace(self, **changes: object) -> "State":
        fields: dict[str, object] = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return State(**fields)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"State({self.phase}, main={self.main_pid}, code={self.exit_code}, at={self.deadline})"
        )


class Policy:
    """The parts of InitConfig the model decides with."""

    __slots__ = (
        "drain",
        "forward_to_group",
        "grace",
        "has_units",
        "log_reaps",
        "power_signals",
        "rewrites",
        "stop_timeout",
        "style",
        "success_codes",
        "suspend_on_tty_signals",
        "term_group_on_exit",
        "warn_on_reap",
    )

    def __init__(self, config: InitConfig, drain: bool, has_units: bool = False) -> None:
        # A service manager runs beside the main process (see UNITS_STOPPING).
        self.has_units = has_units
        self.forward_to_group = config.forward_to_group
        self.rewrites = config.rewrites
        self.success_codes = config.success_codes
        self.grace = config.grace
        self.stop_timeout = config.stop_timeout
        self.term_group_on_exit = config.term_group_on_exit
        self.suspend_on_tty_signals = config.suspend_on_tty_signals
        self.warn_on_reap = config.warn_on_reap
        # Building a line per reaped orphan costs as much as reaping it: only
        # when someone will read it.
        self.log_reaps = config.warn_on_reap or config.log.level >= _log.DEBUG
        self.style = config.log.style
        # False when nothing but the main process is ours to wait for.
        self.drain = drain
        # VM mode: signal number -> power word; each such signal stops everything.
        self.power_signals = config.power_signals


def start(main_pid: int | None) -> State:
    """RUNNING with the main process (or without one: units only)."""
    return State(RUNNING, main_pid)


def booting() -> State:
    """Units start first; the main process waits for UnitsReady."""
    return State(BOOTING, None)


def exit_code_of(status: int, success_codes: frozenset[int]) -> int:
    """Shell convention: the exit code, or 128+N for death by signal N."""
    code = os.waitstatus_to_exitcode(status)
    code = 128 - code if code < 0 else code
    return 0 if code in success_codes else code


def step(state: State, event: Event, now: float, policy: Policy) -> tuple[State, list[Action]]:
    if isinstance(event, Signal):
        return _on_signal(state, event.number, now, policy)
    if isinstance(event, Reaped):
        return _on_reaped(state, event, now, policy)
    if isinstance(event, NoChildren):
        return _on_no_children(state)
    if isinstance(event, UnitsReady):
        if state.phase == BOOTING:
            # BOOTING -> RUNNING (once the loop reports MainSpawned)
            return state, [SpawnMain()]
        return state, []
    if isinstance(event, MainSpawned):
        if state.phase == BOOTING:
            return state.replace(phase=RUNNING, main_pid=event.pid), []
        return state, []
    if isinstance(event, UnitsStopped):
        return _on_units_stopped(state, now, policy)
    if isinstance(event, ExitRequested):
        return _on_exit_requested(state, event.code, now, policy, event.power)
    return _on_tick(state, now)


def _begin_unit_stop(
    state: State, now: float, policy: Policy, actions: list[Action]
) -> tuple[State, list[Action]]:
    """-> UNITS_STOPPING: the manager stops the units within the one deadline."""
    deadline = state.deadline if state.deadline is not None else now + policy.grace
    if state.phase in (BOOTING, RUNNING):
        actions.append(Notify("STOPPING=1"))
    actions.append(StopUnits())
    return state.replace(phase=UNITS_STOPPING, deadline=deadline), actions


def _on_units_stopped(state: State, now: float, policy: Policy) -> tuple[State, list[Action]]:
    if state.phase != UNITS_STOPPING:
        return state, []
    # UNITS_STOPPING -> DRAINING: what no unit owned gets SIGTERM too.
    code = state.requested_exit if state.requested_exit is not None else state.exit_code
    drained = state.replace(phase=DRAINING, exit_code=code if code is not None else 0)
    return drained, [SignalRest(int(sig.SIGTERM))]


def _on_exit_requested(
    state: State, code: int, now: float, policy: Policy, power: str | None = None
) -> tuple[State, list[Action]]:
    if state.power is None and power is not None:
        state = state.replace(power=power)
    state = state.replace(requested_exit=code)
    log = Log(_log.INFO, f"{power} requested" if power else f"exit requested with status {code}")
    if state.phase == RUNNING and state.main_pid is not None:
        # RUNNING -> STOPPING: as if SIGTERM had come from outside.
        stopped, actions = _on_signal(state, int(sig.SIGTERM), now, policy, force_stop=True)
        return stopped, [log, *actions]
    if state.phase in (BOOTING, RUNNING):
        return _begin_unit_stop(state, now, policy, [log])
    return state, [log]


def _on_signal(
    state: State, number: int, now: float, policy: Policy, force_stop: bool = False
) -> tuple[State, list[Action]]:
    power = policy.power_signals.get(number)
    if power is not None and not force_stop and state.phase in (BOOTING, RUNNING):
        # A machine's init: this signal asks for a poweroff, reboot or halt.
        return _on_exit_requested(state, 0, now, policy, power)
    stopping = number in STOP_SIGNALS and (policy.stop_timeout or force_stop)
    if state.phase in (BOOTING, RUNNING) and state.main_pid is None:
        if stopping:
            # BOOTING/RUNNING (no main process) -> UNITS_STOPPING
            return _begin_unit_stop(state, now, policy, [Log(_log.INFO, "stopping units")])
        return state, [Log(_log.DEBUG, f"ignoring {signal_name(number)}: no main process")]
    if state.phase not in (RUNNING, STOPPING) or state.main_pid is None:
        # The main process is gone; the drain owns the remaining processes.
        return state, [Log(_log.DEBUG, f"ignoring {signal_name(number)}: draining")]
    pid = -state.main_pid if policy.forward_to_group else state.main_pid
    actions = _forward(number, pid, policy)
    if policy.suspend_on_tty_signals and number in _TTY_STOP_SIGNALS:
        actions.append(SuspendSelf())
    if state.phase == RUNNING and stopping:
        # RUNNING -> STOPPING: the main process has `grace` seconds to exit.
        actions.append(Notify("STOPPING=1"))
        actions.append(
            Log(_log.INFO, f"stopping: main process has {policy.grace:g}s before SIGKILL")
        )
        return state.replace(phase=STOPPING, deadline=now + policy.grace), actions
    return state, actions


def _forward(number: int, pid: int, policy: Policy) -> list[Action]:
    """Forward ``number`` (rewritten as asked) to ``pid``, or say why not."""
    target = policy.rewrites.get(number, number)
    if target:
        return [Forward(target, pid, number)]
    if policy.style == _log.DUMB_INIT:
        return [
            Log(_log.DEBUG, f"Translating signal {number} to 0."),
            Log(_log.DEBUG, "Not forwarding signal 0 to children (ignored)."),
        ]
    return [Log(_log.DEBUG, f"not forwarding {signal_name(number)} (rewritten to 0)")]


def _on_reaped(
    state: State, event: Reaped, now: float, policy: Policy
) -> tuple[State, list[Action]]:
    if state.main_pid is None or event.pid != state.main_pid or state.exit_code is not None:
        if not policy.log_reaps:
            return state, []
        reap_line = _describe_reap(event.pid, event.status, policy.style)
        if not policy.warn_on_reap:
            return state, [Log(_log.DEBUG, reap_line)]
        zombie_line = _describe_zombie(event.pid, policy.style)
        if zombie_line == reap_line:
            return state, [Log(_log.WARNING, zombie_line)]
        return state, [Log(_log.DEBUG, reap_line), Log(_log.WARNING, zombie_line)]
    code = exit_code_of(event.status, policy.success_codes)
    actions: list[Action] = [Log(_log.DEBUG, _describe_reap(event.pid, event.status, policy.style))]
    goodbye = Log(_log.INFO, _describe_exit(event.pid, event.status, policy.style))
    if policy.term_group_on_exit:
        # dumb-init: SIGTERM what is left of the child's group (or the child),
        # then say goodbye.
        pid = -state.main_pid if policy.forward_to_group else state.main_pid
        actions.extend(_forward(int(sig.SIGTERM), pid, policy))
    actions.append(goodbye)
    if not policy.drain:
        # Nothing else is ours to wait for: RUNNING/STOPPING -> DONE.
        actions.append(Exit(code))
        return state.replace(phase=DONE, exit_code=code, deadline=None), actions
    if state.phase == KILLING:
        return state.replace(exit_code=code), actions
    if policy.has_units:
        # RUNNING/STOPPING -> UNITS_STOPPING: the services go down in reverse order.
        return _begin_unit_stop(state.replace(exit_code=code), now, policy, actions)
    # RUNNING/STOPPING -> DRAINING: everything left gets SIGTERM and the rest of grace.
    deadline = state.deadline if state.phase == STOPPING else now + policy.grace
    if state.phase == RUNNING:
        actions.append(Notify("STOPPING=1"))
    actions.append(SignalRest(int(sig.SIGTERM)))
    return state.replace(phase=DRAINING, exit_code=code, deadline=deadline), actions


def _on_no_children(state: State) -> tuple[State, list[Action]]:
    if state.phase in (DRAINING, KILLING) and state.exit_code is not None:
        # DRAINING/KILLING -> DONE
        return state.replace(phase=DONE, deadline=None), [Exit(state.exit_code)]
    return state, []


def _on_tick(state: State, now: float) -> tuple[State, list[Action]]:
    if state.deadline is None or now < state.deadline:
        return state, []
    kill = int(sig.SIGKILL)
    if state.phase == STOPPING and state.main_pid is not None:
        # STOPPING -> KILLING: the main process outlived its grace.
        actions: list[Action] = [
            Log(_log.WARNING, f"main process {state.main_pid} did not exit in time: SIGKILL"),
            Forward(kill, state.main_pid),
            SignalRest(kill),
        ]
        return state.replace(phase=KILLING, deadline=now + KILL_SWEEP_INTERVAL), actions
    if state.phase == UNITS_STOPPING:
        # UNITS_STOPPING -> KILLING: units that outlive the grace period get SIGKILL.
        code = state.requested_exit if state.requested_exit is not None else state.exit_code
        actions = [Log(_log.WARNING, "grace period over while stopping units: SIGKILL")]
        actions.append(SignalRest(kill))
        killing = state.replace(
            phase=KILLING,
            deadline=now + KILL_SWEEP_INTERVAL,
            exit_code=code if code is not None else 0,
        )
        return killing, actions
    if state.phase == DRAINING:
        # DRAINING -> KILLING
        actions = [Log(_log.WARNING, "grace period over: SIGKILL to remaining processes")]
        actions.append(SignalRest(kill))
        return state.replace(phase=KILLING, deadline=now + KILL_SWEEP_INTERVAL), actions
    if state.phase == KILLING:
        return state.replace(deadline=now + KILL_SWEEP_INTERVAL), [SignalRest(kill)]
    return state.replace(deadline=None), []


def _describe_reap(pid: int, status: int, style: str) -> str:
    if style == _log.TINI:
        return f"Reaped child with pid: '{pid}'"
    if style == _log.DUMB_INIT:
        if os.WIFSIGNALED(status):
            return f"A child with PID {pid} was terminated by signal {os.WTERMSIG(status)}."
        return f"A child with PID {pid} exited with exit status {os.WEXITSTATUS(status)}."
    return f"reaped zombie process {pid}"


def _describe_zombie(pid: int, style: str) -> str:
    """The -w warning for a reaped process that is not the main one."""
    if style == _log.TINI:
        return f"Reaped zombie process with pid={pid}"
    return f"reaped zombie process {pid}"


def _describe_exit(pid: int, status: int, style: str) -> str:
    """The line each tool prints when its main process ends (scripts grep these)."""
    signalled = os.WIFSIGNALED(status)
    number = os.WTERMSIG(status) if signalled else os.WEXITSTATUS(status)
    if style == _log.TINI:
        if signalled:
            return f"Main child exited with signal (with signal '{describe(number)}')"
        return f"Main child exited normally (with status '{number}')"
    if style == _log.DUMB_INIT:
        code = 128 + number if signalled else number
        return f"Child exited with status {code}. Goodbye."
    if signalled:
        return f"main process {pid} killed by {signal_name(number)} ({describe(number)})"
    return f"main process {pid} exited with status {number}"
