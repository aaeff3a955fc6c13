"""The vocabulary of service supervision, as systemd names it (pure data)."""

import enum

# The unit file's own enums: one definition for parser and model.
from guestinit.unitfile import KillMode, Restart, ServiceType

__all__ = [
    "ACTIVE_STATE",
    "KILL_STATES",
    "Active",
    "KillMode",
    "Phase",
    "Restart",
    "Result",
    "Role",
    "ServiceType",
    "Sub",
    "Whom",
]


class Sub(enum.Enum):
    """A service's sub-state; every transition of model.step moves between these."""

    DEAD = "dead"
    CONDITION = "condition"
    START_PRE = "start-pre"
    START = "start"
    START_POST = "start-post"
    RUNNING = "running"
    EXITED = "exited"
    RELOAD = "reload"
    STOP = "stop"
    STOP_SIGTERM = "stop-sigterm"
    STOP_SIGKILL = "stop-sigkill"
    STOP_POST = "stop-post"
    FINAL_SIGTERM = "final-sigterm"
    FINAL_SIGKILL = "final-sigkill"
    FAILED = "failed"
    AUTO_RESTART = "auto-restart"


class Active(enum.Enum):
    INACTIVE = "inactive"
    ACTIVATING = "activating"
    ACTIVE = "active"
    RELOADING = "reloading"
    DEACTIVATING = "deactivating"
    FAILED = "failed"


ACTIVE_STATE = {
    Sub.DEAD: Active.INACTIVE,
    Sub.CONDITION: Active.ACTIVATING,
    Sub.START_PRE: Active.ACTIVATING,
    Sub.START: Active.ACTIVATING,
    Sub.START_POST: Active.ACTIVATING,
    Sub.RUNNING: Active.ACTIVE,
    Sub.EXITED: Active.ACTIVE,
    Sub.RELOAD: Active.RELOADING,
    Sub.STOP: Active.DEACTIVATING,
    Sub.STOP_SIGTERM: Active.DEACTIVATING,
    Sub.STOP_SIGKILL: Active.DEACTIVATING,
    Sub.STOP_POST: Active.DEACTIVATING,
    Sub.FINAL_SIGTERM: Active.DEACTIVATING,
    Sub.FINAL_SIGKILL: Active.DEACTIVATING,
    Sub.FAILED: Active.FAILED,
    Sub.AUTO_RESTART: Active.ACTIVATING,
}

# Sub-states in which the unit's processes are being signalled and we wait
# for them to be gone (the manager reports that with an Empty event).
KILL_STATES = frozenset({Sub.STOP_SIGTERM, Sub.STOP_SIGKILL, Sub.FINAL_SIGTERM, Sub.FINAL_SIGKILL})


class Result(enum.Enum):
    """Why the unit ended up where it is; the first failure wins."""

    SUCCESS = "success"
    EXIT_CODE = "exit-code"
    SIGNAL = "signal"
    CORE_DUMP = "core-dump"
    TIMEOUT = "timeout"
    WATCHDOG = "watchdog"
    START_LIMIT = "start-limit-hit"
    PROTOCOL = "protocol"
    RESOURCES = "resources"


class Phase(enum.Enum):
    """A list of commands run one after another."""

    CONDITION = "ExecCondition"
    START_PRE = "ExecStartPre"
    START = "ExecStart"
    START_POST = "ExecStartPost"
    RELOAD = "ExecReload"
    STOP = "ExecStop"
    STOP_POST = "ExecStopPost"


class Role(enum.Enum):
    MAIN = "main"
    CONTROL = "control"


class Whom(enum.Enum):
    MAIN = "main"
    CONTROL = "control"
    ALL = "all"  # every process of the unit
    REST = "rest"  # every process of the unit but the main one (KillMode=mixed)
