"""The data of service supervision: a unit's configuration as the model needs
it, its runtime state, the events going in and the actions coming out (pure).
``model`` holds the transitions; this module holds only what they act on."""

import dataclasses
from collections.abc import Mapping

from guestinit.service.backoff import DOUBLING, StartLimit
from guestinit.service.states import (
    ACTIVE_STATE,
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

SIGHUP, SIGKILL, SIGTERM, SIGABRT = 1, 9, 15, 6


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceConfig:
    """What the model needs from a unit's [Unit] and [Service] sections."""

    type: ServiceType = ServiceType.SIMPLE
    # Per phase, one flag per command: True when prefixed "-" (failure ignored).
    commands: Mapping[Phase, tuple[bool, ...]] = dataclasses.field(default_factory=dict)
    remain_after_exit: bool = False
    restart: Restart = Restart.NO
    restart_sec: float = 0.1
    restart_max_delay: float = 30.0
    restart_steps: int = DOUBLING
    restart_prevent: frozenset[int] = frozenset()
    restart_prevent_signals: frozenset[int] = frozenset()
    restart_force: frozenset[int] = frozenset()
    restart_force_signals: frozenset[int] = frozenset()
    success_exit_status: frozenset[int] = frozenset()
    success_signals: frozenset[int] = frozenset()
    timeout_start: float = 90.0
    timeout_stop: float = 5.0
    kill_mode: KillMode = KillMode.CONTROL_GROUP
    kill_signal: int = SIGTERM
    restart_kill_signal: int = 0  # 0: same as kill_signal
    final_kill_signal: int = SIGKILL
    watchdog_signal: int = SIGABRT
    send_sighup: bool = False
    send_sigkill: bool = True
    watchdog_sec: float = 0.0
    start_limit_interval: float = 10.0
    start_limit_burst: int = 5

    def has(self, phase: Phase) -> bool:
        return bool(self.commands.get(phase))


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    sub: Sub = Sub.DEAD
    main_pid: int | None = None
    control_pid: int | None = None
    # The command list running now and the position in it.
    phase: Phase | None = None
    index: int = 0
    result: Result = Result.SUCCESS
    deadline: float | None = None
    watchdog_deadline: float | None = None
    watchdog_sec: float = 0.0
    restarts: int = 0
    start_limit: StartLimit = dataclasses.field(default_factory=lambda: StartLimit(10.0, 5))
    since: float = 0.0
    status_text: str = ""
    # Last exit of the main process: (code, signal); one of them is None.
    main_exit: tuple[int | None, int | None] | None = None
    stop_requested: bool = False
    start_after_stop: bool = False
    ready: bool = False
    reloading: bool = False

    @property
    def active(self) -> Active:
        return ACTIVE_STATE[self.sub]

    def next_deadline(self) -> float | None:
        times = [t for t in (self.deadline, self.watchdog_deadline) if t is not None]
        return min(times) if times else None


# ---- events ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StartJob:
    manual: bool = True


@dataclasses.dataclass(frozen=True)
class StopJob:
    pass


@dataclasses.dataclass(frozen=True)
class RestartJob:
    pass


@dataclasses.dataclass(frozen=True)
class ReloadJob:
    pass


@dataclasses.dataclass(frozen=True)
class Spawned:
    role: Role
    pid: int


@dataclasses.dataclass(frozen=True)
class SpawnFailed:
    role: Role
    reason: str


@dataclasses.dataclass(frozen=True)
class ExecSucceeded:
    """Type=exec: the main process's execve() returned success."""

    pid: int


@dataclasses.dataclass(frozen=True)
class Exited:
    pid: int
    code: int | None  # exit code, or None when killed
    signal: int | None = None


@dataclasses.dataclass(frozen=True)
class Notified:
    """An sd_notify message the manager already checked against NotifyAccess."""

    ready: bool = False
    reloading: bool = False
    stopping: bool = False
    status: str | None = None
    main_pid: int | None = None
    watchdog: bool = False
    watchdog_trigger: bool = False
    watchdog_usec: int | None = None
    extend_timeout_usec: int | None = None


@dataclasses.dataclass(frozen=True)
class MainPidFound:
    pid: int | None


@dataclasses.dataclass(frozen=True)
class Empty:
    """No process of the unit is left."""


@dataclasses.dataclass(frozen=True)
class Timer:
    pass


Event = (
    StartJob
    | StopJob
    | RestartJob
    | ReloadJob
    | Spawned
    | SpawnFailed
    | ExecSucceeded
    | Exited
    | Notified
    | MainPidFound
    | Empty
    | Timer
)


# ---- actions -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Spawn:
    role: Role
    phase: Phase
    index: int


@dataclasses.dataclass(frozen=True)
class Kill:
    signal: int
    whom: Whom


@dataclasses.dataclass(frozen=True)
class ReadPidFile:
    pass


@dataclasses.dataclass(frozen=True)
class Note:
    """A line for the log: ``warning`` selects the level."""

    text: str
    warning: bool = False


Action = Spawn | Kill | ReadPidFile | Note

Step = tuple[State, list[Action]]
