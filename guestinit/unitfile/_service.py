"""[Service] keys (systemd.service(5), .exec(5), .kill(5)) -> ServiceSpec fields."""

from __future__ import annotations

import math
from collections.abc import Callable

from guestinit.unitfile._build import Builder, Handler, choice, scalar, text, word_list
from guestinit.unitfile._exec import ExecError, parse_exec
from guestinit.unitfile._names import parse_unit_name
from guestinit.unitfile._quote import QuoteError
from guestinit.unitfile._spec import (
    EnvironmentFile,
    ExitType,
    KillMode,
    NotifyAccess,
    Restart,
    RuntimeDirectoryPreserve,
    ServiceType,
    StdKind,
    StdStream,
    WorkingDirectory,
)
from guestinit.unitfile._specifiers import SpecifierError, resolve_specifiers
from guestinit.unitfile._syntax import Assignment
from guestinit.unitfile._timespan import parse_timespan
from guestinit.unitfile._values import (
    RLIMIT_KEYS,
    ExitStatusSet,
    parse_bool,
    parse_exit_status_words,
    parse_int,
    parse_mode,
    parse_rlimit,
    parse_signal_value,
)

S = "Service"


def _exec(field: str) -> Handler:
    def handle(b: Builder, a: Assignment) -> None:
        fields = b.fields(S)
        if not a.value:
            fields[field] = []
            return

        def resolve(word: str) -> str:
            return resolve_specifiers(word, b.unit, b.ctx, b.path)

        warnings: list[str] = []
        try:
            commands = parse_exec(a.value, resolve, warnings)
        except (ExecError, QuoteError, SpecifierError) as exc:
            b.sink.error(a.at, f"{a.key}=: {exc}; assignment ignored")
            return
        for message in warnings:
            b.sink.warning(a.at, f"{a.key}=: {message}")
        fields.setdefault(field, []).extend(commands)

    return handle


def _exit_statuses(field: str) -> Handler:
    def handle(b: Builder, a: Assignment) -> None:
        fields = b.fields(S)
        if not a.value:
            fields[field] = ExitStatusSet()
            return
        try:
            codes, signals = parse_exit_status_words(a.value.split())
        except ValueError as exc:
            b.bad_value(a, exc)
            return
        old = fields.get(field, ExitStatusSet())
        fields[field] = ExitStatusSet(old.codes | codes, old.signals | signals)

    return handle


def _valid_env_name(name: str) -> bool:
    return (
        bool(name)
        and not name[0].isdigit()
        and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name)
    )


def _environment(b: Builder, a: Assignment) -> None:
    fields = b.fields(S)
    if not a.value:
        fields["environment"] = {}
        return
    words = b.words(a)
    if words is None:
        return
    env = fields.setdefault("environment", {})
    for word in words:
        name, equals, value = word.partition("=")
        if not equals or not _valid_env_name(name):
            b.sink.warning(a.at, f"Environment=: invalid assignment {word!r} ignored")
            continue
        env.pop(name, None)  # a re-assigned name moves to the end, as in systemd's list
        env[name] = value


def _environment_file(b: Builder, a: Assignment) -> None:
    fields = b.fields(S)
    if not a.value:
        fields["environment_files"] = []
        return
    optional = a.value.startswith("-")
    path = b.resolve(a.value[1:] if optional else a.value, a.at)
    if path is None:
        return
    if not path.startswith("/"):
        b.bad_value(a, "the path must be absolute")
        return
    fields.setdefault("environment_files", []).append(EnvironmentFile(path, optional))


def _env_name(word: str) -> str:
    if not _valid_env_name(word):
        raise ValueError(f"{word!r} is not a valid variable name")
    return word


def _unset_name(word: str) -> str:
    # UnsetEnvironment= takes NAME or an exact NAME=VALUE pair.
    _env_name(word.partition("=")[0])
    return word


def _working_directory(value: str) -> WorkingDirectory:
    optional = value.startswith("-")
    path = value[1:] if optional else value
    if path != "~" and not path.startswith("/"):
        raise ValueError("must be an absolute path or ~")
    return WorkingDirectory(path, optional)


def _pid_file(value: str) -> str:
    # systemd.service(5): a relative PIDFile= is taken below /run/.
    return value if value.startswith("/") else "/run/" + value


def _relative_dir(word: str) -> str:
    parts = word.split("/")
    if word.startswith("/") or ".." in parts:
        raise ValueError(f"{word!r} must be a relative path without '..'")
    return word


def _timeout(value: str) -> float:
    seconds = parse_timespan(value)
    return math.inf if seconds == 0 else seconds  # legacy: 0 disables the timeout


def _timeout_both(b: Builder, a: Assignment) -> None:
    fields = b.fields(S)
    if not a.value:
        fields.pop("timeout_start_sec", None)
        fields.pop("timeout_stop_sec", None)
        return
    try:
        seconds = _timeout(a.value)
    except ValueError as exc:
        b.bad_value(a, exc)
        return
    fields["timeout_start_sec"] = seconds
    fields["timeout_stop_sec"] = seconds


def _restart_steps(value: str) -> int:
    return parse_int(value, 0, 2**32 - 1)


def _preserve(value: str) -> RuntimeDirectoryPreserve:
    if value == "restart":
        return RuntimeDirectoryPreserve.RESTART
    return RuntimeDirectoryPreserve.YES if parse_bool(value) else RuntimeDirectoryPreserve.NO


_INPUT_KINDS = frozenset(("null", "tty", "tty-force", "tty-fail", "data", "socket"))
_OUTPUT_KINDS = frozenset(
    ("inherit", "null", "tty", "journal", "kmsg", "journal+console", "kmsg+console", "socket")
)
# systemd maps the old syslog targets onto the journal (v246+).
_OUTPUT_ALIASES = {"syslog": "journal", "syslog+console": "journal+console"}


def _std_stream(is_input: bool) -> Callable[[str], StdStream]:
    def parse(value: str) -> StdStream:
        kind, colon, target = value.partition(":")
        if kind == "fd":
            return StdStream(StdKind.FD, target or None)
        path_kinds = ("file",) if is_input else ("file", "append", "truncate")
        if colon and kind in path_kinds:
            if not target.startswith("/"):
                raise ValueError("the path must be absolute")
            return StdStream(StdKind(kind), target)
        allowed = _INPUT_KINDS if is_input else _OUTPUT_KINDS
        value = value if is_input else _OUTPUT_ALIASES.get(value, value)
        if value not in allowed:
            raise ValueError(f"expected one of: {', '.join(sorted(allowed))}, file:PATH")
        return StdStream(StdKind(value))

    return parse


def _rlimit(b: Builder, a: Assignment) -> None:
    limits = b.fields(S).setdefault("limits", {})
    name = RLIMIT_KEYS[a.key][0]
    if not a.value:
        limits.pop(name, None)
        return
    try:
        name, limit = parse_rlimit(a.key, a.value)
    except ValueError as exc:
        b.bad_value(a, exc)
        return
    limits[name] = limit


def _socket_name(word: str) -> str:
    parse_unit_name(word)
    return word


SERVICE_HANDLERS: dict[str, Handler] = {
    "Type": scalar(S, "type", choice(ServiceType)),
    "ExitType": scalar(S, "exit_type", choice(ExitType)),
    "RemainAfterExit": scalar(S, "remain_after_exit", parse_bool),
    "GuessMainPID": scalar(S, "guess_main_pid", parse_bool),
    "PIDFile": scalar(S, "pid_file", _pid_file, specifiers=True),
    "BusName": text(S, "bus_name"),
    "ExecCondition": _exec("exec_condition"),
    "ExecStartPre": _exec("exec_start_pre"),
    "ExecStart": _exec("exec_start"),
    "ExecStartPost": _exec("exec_start_post"),
    "ExecReload": _exec("exec_reload"),
    "ExecStop": _exec("exec_stop"),
    "ExecStopPost": _exec("exec_stop_post"),
    "Restart": scalar(S, "restart", choice(Restart)),
    "RestartSec": scalar(S, "restart_sec", parse_timespan),
    "RestartSteps": scalar(S, "restart_steps", _restart_steps),
    "RestartMaxDelaySec": scalar(S, "restart_max_delay_sec", parse_timespan),
    "RestartPreventExitStatus": _exit_statuses("restart_prevent_exit_status"),
    "RestartForceExitStatus": _exit_statuses("restart_force_exit_status"),
    "SuccessExitStatus": _exit_statuses("success_exit_status"),
    "TimeoutStartSec": scalar(S, "timeout_start_sec", _timeout),
    "TimeoutStopSec": scalar(S, "timeout_stop_sec", _timeout),
    "TimeoutSec": _timeout_both,
    "TimeoutAbortSec": scalar(S, "timeout_abort_sec", _timeout),
    "RuntimeMaxSec": scalar(S, "runtime_max_sec", parse_timespan),
    "WatchdogSec": scalar(S, "watchdog_sec", parse_timespan),
    "NotifyAccess": scalar(S, "notify_access", choice(NotifyAccess)),
    "KillMode": scalar(S, "kill_mode", choice(KillMode)),
    "KillSignal": scalar(S, "kill_signal", parse_signal_value),
    "RestartKillSignal": scalar(S, "restart_kill_signal", parse_signal_value),
    "FinalKillSignal": scalar(S, "final_kill_signal", parse_signal_value),
    "WatchdogSignal": scalar(S, "watchdog_signal", parse_signal_value),
    "SendSIGHUP": scalar(S, "send_sighup", parse_bool),
    "SendSIGKILL": scalar(S, "send_sigkill", parse_bool),
    "User": text(S, "user"),
    "Group": text(S, "group"),
    "SupplementaryGroups": word_list(S, "supplementary_groups"),
    "DynamicUser": scalar(S, "dynamic_user", parse_bool),
    "WorkingDirectory": scalar(S, "working_directory", _working_directory, specifiers=True),
    "UMask": scalar(S, "umask", lambda v: parse_mode(v, 0o777)),
    "Environment": _environment,
    "EnvironmentFile": _environment_file,
    "PassEnvironment": word_list(S, "pass_environment", _env_name),
    "UnsetEnvironment": word_list(S, "unset_environment", _unset_name),
    "Nice": scalar(S, "nice", lambda v: parse_int(v, -20, 19)),
    "OOMScoreAdjust": scalar(S, "oom_score_adjust", lambda v: parse_int(v, -1000, 1000)),
    "RuntimeDirectoryPreserve": scalar(S, "runtime_directory_preserve", _preserve),
    "StandardInput": scalar(S, "standard_input", _std_stream(True), specifiers=True),
    "StandardOutput": scalar(S, "standard_output", _std_stream(False), specifiers=True),
    "StandardError": scalar(S, "standard_error", _std_stream(False), specifiers=True),
    "TTYPath": text(S, "tty_path"),
    "SyslogIdentifier": text(S, "syslog_identifier"),
    "IgnoreSIGPIPE": scalar(S, "ignore_sigpipe", parse_bool),
    "Sockets": word_list(S, "sockets", _socket_name, resettable=False, unquote=False),
}
for _key in RLIMIT_KEYS:
    SERVICE_HANDLERS[_key] = _rlimit
for _kind in ("Runtime", "State", "Cache", "Logs", "Configuration"):
    _field = _kind.lower() + "_directory"
    SERVICE_HANDLERS[f"{_kind}Directory"] = word_list(S, _field, _relative_dir)
    SERVICE_HANDLERS[f"{_kind}DirectoryMode"] = scalar(S, _field + "_mode", parse_mode)
