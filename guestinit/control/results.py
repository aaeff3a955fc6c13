"""What each verb's ``result`` holds, and the exit code that goes with it (pure).

The manager's request handler builds these dicts and answers with
``ok_response(request, result)``, which fills in the exit code systemctl
would give (``exit_for``); the client renders them (``render``) and exits with
the response's ``exit``. Times are wall-clock epoch seconds (the manager keeps
monotonic time and converts when it answers); absent values are null.

State names are systemd's: ``load_state`` loaded | not-found | bad-setting |
error | masked; ``active_state`` active | reloading | inactive | failed |
activating | deactivating; ``sub_state`` the service sub-state (running,
exited, dead, auto-restart, ...); ``enabled`` enabled | disabled | static |
not-found | ...; ``result`` success | exit-code | signal | core-dump | timeout |
watchdog | start-limit-hit | protocol | resources.
"""

from typing import Literal, NotRequired, TypedDict, cast

from guestinit.control.protocol import (
    EXIT_FAILURE,
    EXIT_NO_UNIT,
    EXIT_NOT_ACTIVE,
    EXIT_NOT_FOUND,
    EXIT_OK,
    JOB_VERBS,
    Request,
    Response,
    Verb,
)

ACTIVE_STATES = frozenset({"active", "reloading"})
# is-enabled's "yes" answers, as systemctl counts them.
ENABLED_STATES = frozenset(
    {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"}
)


class ExitInfo(TypedDict):
    """How the main process last ended."""

    pid: int
    code: Literal["exited", "killed", "dumped"]
    status: int  # exit code, or signal number when killed or dumped
    status_name: str | None  # "FAILURE", "EXEC", "TERM"; null: the client names it


class UnitStatus(TypedDict):
    name: str
    description: str
    load_state: str
    active_state: str
    sub_state: str
    result: str
    main_pid: int | None  # running main process
    main_name: str | None  # its comm ("sshd")
    since: float | None  # when active_state last changed
    last_exit: ExitInfo | None
    restarts: int  # automatic restarts since the last manual start
    tasks: int | None
    memory_bytes: int | None
    cpu_seconds: float | None
    status_text: str | None  # the service's STATUS= notification
    path: str | None  # the unit file
    enabled: str
    log: NotRequired[list[str]]  # the unit's last output lines, oldest first
    restart_at: NotRequired[float | None]  # auto-restart: when the next start is due
    load_reasons: NotRequired[list[str]]  # bad-setting: "FILE:LINE: why", each


class StatusResult(TypedDict):
    """``status``: every unit asked for that exists; the others in ``missing``."""

    units: list[UnitStatus]
    missing: list[str]


class Job(TypedDict):
    unit: str
    # done: over and successful (or already in the wanted state); queued: with
    # no_block; failed: the unit ended up failed; not-found: no such unit;
    # skipped: try-restart of a unit that was not running; dependency: a
    # unit it Requires= failed to start, so it was never started.
    result: Literal["done", "queued", "failed", "not-found", "skipped", "dependency"]
    message: str | None  # one line for the user, e.g. why it failed


class JobsResult(TypedDict):
    """start, stop, restart, try-restart, reload, reload-or-restart, kill."""

    jobs: list[Job]


class UnitState(TypedDict):
    name: str
    state: str  # is-active/is-failed: active_state; is-enabled: enabled


class StatesResult(TypedDict):
    """is-active, is-failed, is-enabled: one entry per unit asked for, in order
    (unknown units are "inactive" or, for is-enabled, "not-found")."""

    units: list[UnitState]


class UnitRow(TypedDict):
    name: str
    load_state: str
    active_state: str
    sub_state: str
    description: str


class UnitList(TypedDict):
    """list-units: loaded units that are not inactive (all: every loaded unit)."""

    units: list[UnitRow]


class TimerRow(TypedDict):
    name: str  # the .timer unit
    activates: str
    next: float | None
    last: float | None


class TimerList(TypedDict):
    timers: list[TimerRow]


class UnitFileText(TypedDict):
    path: str
    text: str


class CatEntry(TypedDict):
    name: str
    files: list[UnitFileText]  # the unit file first, then its drop-ins


class CatResult(TypedDict):
    units: list[CatEntry]
    missing: list[str]


class ShowEntry(TypedDict):
    name: str  # "" for the manager itself
    properties: dict[str, str]  # in the order to print; filtered by the request


class ShowResult(TypedDict):
    units: list[ShowEntry]


class Change(TypedDict):
    type: Literal["symlink", "unlink"]
    path: str
    source: str | None  # the symlink's target


class ChangesResult(TypedDict):
    """enable, disable."""

    changes: list[Change]
    missing: list[str]


class ReloadResult(TypedDict):
    """daemon-reload: units loaded, and one line per unit file problem."""

    units: int
    warnings: list[str]


class HealthResult(TypedDict):
    # starting: units still starting; running: all up; degraded: some unit
    # failed; stopping: shutting down.
    state: Literal["starting", "running", "degraded", "stopping"]
    units: int
    failed: list[str]
    uptime_seconds: float
    version: str
    pid: int  # the manager's


class LogEntry(TypedDict):
    seq: int  # the cursor of this line
    time: float
    unit: str | None  # None: a syslog sender of no unit
    name: str  # SyslogIdentifier= / the syslog ident
    pid: int | None
    stream: str  # "stdout" (stdout and stderr: one pipe) or "syslog"
    priority: int  # syslog severity 0-7
    message: str


class LogsResult(TypedDict):
    """logs: lines oldest first; ``cursor`` goes into the next request's
    ``after``; ``more``: the answer was cut, ask again from ``cursor``."""

    entries: list[LogEntry]
    cursor: int
    more: bool


Result = (
    StatusResult
    | JobsResult
    | StatesResult
    | UnitList
    | TimerList
    | CatResult
    | ShowResult
    | ChangesResult
    | ReloadResult
    | HealthResult
    | LogsResult
    | None
)


def exit_for(verb: Verb, result: Result) -> int:
    """The exit code systemctl gives for ``verb`` when the answer is ``result``."""
    if verb is Verb.STATUS:
        status = cast(StatusResult, result)
        if status["missing"]:
            return EXIT_NO_UNIT
        if all(u["active_state"] in ACTIVE_STATES for u in status["units"]):
            return EXIT_OK
        return EXIT_NOT_ACTIVE
    if verb in JOB_VERBS or verb is Verb.KILL:
        jobs = {job["result"] for job in cast(JobsResult, result)["jobs"]}
        if "not-found" in jobs:
            return EXIT_NOT_FOUND
        return EXIT_FAILURE if jobs & {"failed", "dependency"} else EXIT_OK
    if verb in (Verb.IS_ACTIVE, Verb.IS_FAILED, Verb.IS_ENABLED):
        # "any of them": systemctl's rule when several units are asked about.
        states = {unit["state"] for unit in cast(StatesResult, result)["units"]}
        if verb is Verb.IS_ACTIVE:
            return EXIT_OK if states & ACTIVE_STATES else EXIT_NOT_ACTIVE
        if verb is Verb.IS_FAILED:
            return EXIT_OK if "failed" in states else EXIT_FAILURE
        return EXIT_OK if states & ENABLED_STATES else EXIT_FAILURE
    if verb is Verb.CAT:
        return EXIT_FAILURE if cast(CatResult, result)["missing"] else EXIT_OK
    if verb in (Verb.ENABLE, Verb.DISABLE):
        return EXIT_FAILURE if cast(ChangesResult, result)["missing"] else EXIT_OK
    if verb is Verb.HEALTH:
        return EXIT_OK if cast(HealthResult, result)["state"] == "running" else EXIT_FAILURE
    return EXIT_OK


def ok_response(request: Request, result: Result) -> Response:
    """The answer to a request that was carried out."""
    return Response.success(request.id, result, exit_for(request.verb, result))
