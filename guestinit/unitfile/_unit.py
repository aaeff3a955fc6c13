"""[Unit] and [Install] keys (systemd.unit(5)) -> UnitSpec / InstallSpec fields."""

from __future__ import annotations

import math

from guestinit.unitfile._build import (
    Builder,
    Handler,
    choice,
    scalar,
    text,
    unit_names,
    word_list,
)
from guestinit.unitfile._directives import CONDITION_KINDS
from guestinit.unitfile._names import parse_unit_name
from guestinit.unitfile._spec import Condition, UnitAction
from guestinit.unitfile._syntax import Assignment
from guestinit.unitfile._timespan import parse_timespan
from guestinit.unitfile._values import parse_bool, parse_int

# Condition kinds whose value is an absolute path (systemd refuses anything else).
_PATH_CONDITIONS = frozenset(
    (
        "PathExists",
        "PathExistsGlob",
        "PathIsDirectory",
        "PathIsSymbolicLink",
        "PathIsMountPoint",
        "PathIsReadWrite",
        "PathIsEncrypted",
        "DirectoryNotEmpty",
        "FileNotEmpty",
        "FileIsExecutable",
        "NeedsUpdate",
    )
)
_DOC_SCHEMES = ("http://", "https://", "file:", "info:", "man:")


def condition_kind(key: str) -> tuple[str, str] | None:
    """("conditions", "PathExists") for ConditionPathExists=, None if not one."""
    for prefix, field in (("Condition", "conditions"), ("Assert", "asserts")):
        if key.startswith(prefix) and key[len(prefix) :] in CONDITION_KINDS:
            return field, key[len(prefix) :]
    return None


def handle_condition(b: Builder, a: Assignment) -> None:
    found = condition_kind(a.key)
    assert found is not None
    field, kind = found
    fields = b.fields("Unit")
    if not a.value:
        fields[field] = []  # systemd: an empty one resets all conditions (or asserts)
        return
    value = a.value
    trigger = value.startswith("|")
    if trigger:
        value = value[1:].lstrip()
    negate = value.startswith("!")
    if negate:
        value = value[1:].lstrip()
    resolved = b.resolve(value, a.at)
    if resolved is None:
        return
    if kind in _PATH_CONDITIONS and not resolved.startswith("/"):
        b.bad_value(a, "the path must be absolute")
        return
    fields.setdefault(field, []).append(Condition(kind, negate, trigger, resolved, a.at))


def _timeout(value: str) -> float:
    # Legacy rule kept by systemd for timeouts: 0 means "no timeout".
    seconds = parse_timespan(value)
    return math.inf if seconds == 0 else seconds


def _documentation(word: str) -> str:
    if not word.startswith(_DOC_SCHEMES):
        raise ValueError(f"{word!r} is not a http(s), file, info or man URI")
    return word


def _install_name(word: str) -> str:
    parse_unit_name(word)
    return word


def _mount_path(word: str) -> str:
    if not word.startswith("/"):
        raise ValueError(f"{word!r} is not an absolute path")
    return word


def _exit_status(value: str) -> int:
    return parse_int(value, 0, 255)


def _burst(value: str) -> int:
    return parse_int(value, 0, 2**32 - 1)


_DEPENDENCIES = {
    "Requires": "requires",
    "Requisite": "requisite",
    "Wants": "wants",
    "BindsTo": "binds_to",
    "BindTo": "binds_to",  # legacy spelling systemd still reads
    "PartOf": "part_of",
    "Upholds": "upholds",
    "Conflicts": "conflicts",
    "Before": "before",
    "After": "after",
    "OnFailure": "on_failure",
    "OnSuccess": "on_success",
    "PropagatesReloadTo": "propagates_reload_to",
    "PropagateReloadTo": "propagates_reload_to",
    "ReloadPropagatedFrom": "reload_propagated_from",
    "PropagateReloadFrom": "reload_propagated_from",
    "PropagatesStopTo": "propagates_stop_to",
    "StopPropagatedFrom": "stop_propagated_from",
}

UNIT_HANDLERS: dict[str, Handler] = {
    key: unit_names("Unit", field) for key, field in _DEPENDENCIES.items()
}
UNIT_HANDLERS.update(
    {
        "Description": text("Unit", "description"),
        "Documentation": word_list("Unit", "documentation", _documentation, unquote=False),
        "RequiresMountsFor": word_list(
            "Unit", "requires_mounts_for", _mount_path, resettable=False
        ),
        "DefaultDependencies": scalar("Unit", "default_dependencies", parse_bool),
        "StopWhenUnneeded": scalar("Unit", "stop_when_unneeded", parse_bool),
        "RefuseManualStart": scalar("Unit", "refuse_manual_start", parse_bool),
        "RefuseManualStop": scalar("Unit", "refuse_manual_stop", parse_bool),
        "StartLimitIntervalSec": scalar("Unit", "start_limit_interval", parse_timespan),
        "StartLimitInterval": scalar("Unit", "start_limit_interval", parse_timespan),
        "StartLimitBurst": scalar("Unit", "start_limit_burst", _burst),
        "StartLimitAction": scalar("Unit", "start_limit_action", choice(UnitAction)),
        "FailureAction": scalar("Unit", "failure_action", choice(UnitAction)),
        "SuccessAction": scalar("Unit", "success_action", choice(UnitAction)),
        "FailureActionExitStatus": scalar("Unit", "failure_action_exit_status", _exit_status),
        "SuccessActionExitStatus": scalar("Unit", "success_action_exit_status", _exit_status),
        "JobTimeoutSec": scalar("Unit", "job_timeout_sec", _timeout),
    }
)

INSTALL_HANDLERS: dict[str, Handler] = {
    "WantedBy": word_list("Install", "wanted_by", _install_name, unquote=False),
    "RequiredBy": word_list("Install", "required_by", _install_name, unquote=False),
    "Alias": word_list("Install", "alias", _install_name, unquote=False),
    "Also": word_list("Install", "also", _install_name, unquote=False),
    "DefaultInstance": text("Install", "default_instance"),
}

# Keys valid in [Service] that systemd also reads there for historical reasons but
# that belong to the unit (systemd moved them to [Unit] in v229/v236).
SERVICE_LEGACY_UNIT_KEYS = frozenset(
    ("StartLimitInterval", "StartLimitBurst", "StartLimitAction", "FailureAction")
)
