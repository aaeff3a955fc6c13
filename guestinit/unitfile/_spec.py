"""The typed result of parsing: frozen dataclasses and enums, no behaviour.

Defaults are set here; the ones that differ from systemd's are argued in
``_defaults``. ``explicit`` on UnitSpec records which ``Section.Key`` the files
actually set, so later layers can tell "configured" from "defaulted".
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from guestinit._sig import sig
from guestinit.unitfile import _defaults as defaults
from guestinit.unitfile._diagnostics import Diagnostic, Origin
from guestinit.unitfile._exec import ExecCommand
from guestinit.unitfile._names import UnitKind
from guestinit.unitfile._values import ExitStatusSet, RLimit

_NO_STATUSES = ExitStatusSet()


class ServiceType(enum.Enum):
    SIMPLE = "simple"
    EXEC = "exec"
    FORKING = "forking"
    ONESHOT = "oneshot"
    DBUS = "dbus"  # parsed so real units load; the service layer refuses it
    NOTIFY = "notify"
    NOTIFY_RELOAD = "notify-reload"
    IDLE = "idle"


class Restart(enum.Enum):
    NO = "no"
    ALWAYS = "always"
    ON_SUCCESS = "on-success"
    ON_FAILURE = "on-failure"
    ON_ABNORMAL = "on-abnormal"
    ON_ABORT = "on-abort"
    ON_WATCHDOG = "on-watchdog"


class KillMode(enum.Enum):
    CONTROL_GROUP = "control-group"
    MIXED = "mixed"
    PROCESS = "process"
    NONE = "none"


class NotifyAccess(enum.Enum):
    NONE = "none"
    MAIN = "main"
    EXEC = "exec"
    ALL = "all"


class ExitType(enum.Enum):
    MAIN = "main"
    CGROUP = "cgroup"


class RuntimeDirectoryPreserve(enum.Enum):
    NO = "no"
    YES = "yes"
    RESTART = "restart"


class UnitAction(enum.Enum):
    """FailureAction=, SuccessAction=, StartLimitAction= (systemd.unit(5))."""

    NONE = "none"
    REBOOT = "reboot"
    REBOOT_FORCE = "reboot-force"
    REBOOT_IMMEDIATE = "reboot-immediate"
    POWEROFF = "poweroff"
    POWEROFF_FORCE = "poweroff-force"
    POWEROFF_IMMEDIATE = "poweroff-immediate"
    EXIT = "exit"
    EXIT_FORCE = "exit-force"
    SOFT_REBOOT = "soft-reboot"
    SOFT_REBOOT_FORCE = "soft-reboot-force"
    KEXEC = "kexec"
    KEXEC_FORCE = "kexec-force"
    HALT = "halt"
    HALT_FORCE = "halt-force"
    HALT_IMMEDIATE = "halt-immediate"


class StdKind(enum.Enum):
    """Where a standard stream goes. Not every kind fits every stream."""

    NULL = "null"
    INHERIT = "inherit"
    TTY = "tty"
    TTY_FORCE = "tty-force"
    TTY_FAIL = "tty-fail"
    DATA = "data"
    JOURNAL = "journal"
    JOURNAL_CONSOLE = "journal+console"
    KMSG = "kmsg"
    KMSG_CONSOLE = "kmsg+console"
    FILE = "file"  # open the path (stdin: read; stdout: write from the start)
    APPEND = "append"
    TRUNCATE = "truncate"
    SOCKET = "socket"
    FD = "fd"  # a named fd of a socket unit; ``target`` is the name


@dataclass(frozen=True)
class StdStream:
    kind: StdKind
    target: str | None = None  # path for file/append/truncate, name for fd


@dataclass(frozen=True)
class Condition:
    """ConditionFoo=/AssertFoo=: ``kind`` is "Foo"; ``trigger`` is the ``|`` prefix."""

    kind: str
    negate: bool
    trigger: bool
    value: str
    at: Origin


@dataclass(frozen=True)
class WorkingDirectory:
    path: str  # "~" means the User='s home directory
    optional: bool = False  # "-" prefix: a missing directory is not an error

    @property
    def is_home(self) -> bool:
        return self.path == "~"


@dataclass(frozen=True)
class EnvironmentFile:
    path: str
    optional: bool = False  # "-" prefix: a missing file is not an error


@dataclass(frozen=True)
class RawValue:
    """An assignment kept as text ([Timer], [Socket], X- keys): specifiers unresolved."""

    value: str
    at: Origin


@dataclass(frozen=True)
class InstallSpec:
    wanted_by: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()
    alias: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    default_instance: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    type: ServiceType = ServiceType.SIMPLE
    exit_type: ExitType = ExitType.MAIN
    remain_after_exit: bool = False
    guess_main_pid: bool = True
    pid_file: str | None = None
    bus_name: str | None = None
    exec_condition: tuple[ExecCommand, ...] = ()
    exec_start_pre: tuple[ExecCommand, ...] = ()
    exec_start: tuple[ExecCommand, ...] = ()
    exec_start_post: tuple[ExecCommand, ...] = ()
    exec_reload: tuple[ExecCommand, ...] = ()
    exec_stop: tuple[ExecCommand, ...] = ()
    exec_stop_post: tuple[ExecCommand, ...] = ()
    restart: Restart = Restart.NO
    restart_sec: float = defaults.RESTART_SEC
    restart_steps: int = defaults.RESTART_STEPS
    restart_max_delay_sec: float = defaults.RESTART_MAX_DELAY_SEC
    restart_prevent_exit_status: ExitStatusSet = _NO_STATUSES
    restart_force_exit_status: ExitStatusSet = _NO_STATUSES
    success_exit_status: ExitStatusSet = _NO_STATUSES
    timeout_start_sec: float = defaults.TIMEOUT_START_SEC
    timeout_stop_sec: float = defaults.TIMEOUT_STOP_SEC
    timeout_abort_sec: float | None = None  # None: same as timeout_stop_sec
    runtime_max_sec: float = math.inf
    watchdog_sec: float = 0.0  # 0: no watchdog
    notify_access: NotifyAccess = NotifyAccess.NONE
    kill_mode: KillMode = KillMode.CONTROL_GROUP
    kill_signal: int = int(sig.SIGTERM)
    restart_kill_signal: int = int(sig.SIGTERM)  # follows kill_signal unless set
    final_kill_signal: int = int(sig.SIGKILL)
    watchdog_signal: int = int(sig.SIGABRT)
    send_sighup: bool = False
    send_sigkill: bool = True
    user: str | None = None
    group: str | None = None
    supplementary_groups: tuple[str, ...] = ()
    dynamic_user: bool = False
    working_directory: WorkingDirectory | None = None
    umask: int = 0o022
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    environment_files: tuple[EnvironmentFile, ...] = ()
    pass_environment: tuple[str, ...] = ()
    unset_environment: tuple[str, ...] = ()
    nice: int | None = None
    oom_score_adjust: int | None = None
    limits: Mapping[str, RLimit] = field(default_factory=lambda: MappingProxyType({}))
    runtime_directory: tuple[str, ...] = ()
    state_directory: tuple[str, ...] = ()
    cache_directory: tuple[str, ...] = ()
    logs_directory: tuple[str, ...] = ()
    configuration_directory: tuple[str, ...] = ()
    runtime_directory_mode: int = 0o755
    state_directory_mode: int = 0o755
    cache_directory_mode: int = 0o755
    logs_directory_mode: int = 0o755
    configuration_directory_mode: int = 0o755
    runtime_directory_preserve: RuntimeDirectoryPreserve = RuntimeDirectoryPreserve.NO
    standard_input: StdStream = StdStream(StdKind.NULL)
    standard_output: StdStream = StdStream(StdKind.JOURNAL)  # our journal: the prefixed log
    standard_error: StdStream = StdStream(StdKind.INHERIT)  # inherit = same as stdout
    tty_path: str | None = None
    syslog_identifier: str | None = None
    ignore_sigpipe: bool = True
    sockets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnitSpec:
    name: str
    kind: UnitKind
    path: str  # the main file ("" if built from text alone)
    dropin_paths: tuple[str, ...] = ()
    description: str = ""
    documentation: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    requisite: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    binds_to: tuple[str, ...] = ()
    part_of: tuple[str, ...] = ()
    upholds: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    on_failure: tuple[str, ...] = ()
    on_success: tuple[str, ...] = ()
    propagates_reload_to: tuple[str, ...] = ()
    reload_propagated_from: tuple[str, ...] = ()
    propagates_stop_to: tuple[str, ...] = ()
    stop_propagated_from: tuple[str, ...] = ()
    requires_mounts_for: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    asserts: tuple[Condition, ...] = ()
    default_dependencies: bool = True
    stop_when_unneeded: bool = False
    refuse_manual_start: bool = False
    refuse_manual_stop: bool = False
    start_limit_interval: float = defaults.START_LIMIT_INTERVAL_SEC
    start_limit_burst: int = defaults.START_LIMIT_BURST
    start_limit_action: UnitAction = UnitAction.NONE
    failure_action: UnitAction = UnitAction.NONE
    success_action: UnitAction = UnitAction.NONE
    failure_action_exit_status: int | None = None
    success_action_exit_status: int | None = None
    job_timeout_sec: float = math.inf
    install: InstallSpec = InstallSpec()
    service: ServiceSpec | None = None
    # Section -> key -> values in file order: [Timer], [Socket], other unit types'
    # own sections, and every X- key or X- section. Empty values are kept.
    raw: Mapping[str, Mapping[str, tuple[RawValue, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    explicit: frozenset[str] = frozenset()  # "Service.Restart", "Unit.After", ...


@dataclass(frozen=True)
class ParseResult:
    spec: UnitSpec | None  # None: the unit is unusable (see the errors)
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.spec is not None
