"""One unit: its file plus drop-ins, as text -> ParseResult. Pure; never raises.

Sources are applied in order (the main file, then drop-ins in the order the
loader found them), which is how systemd merges them: a drop-in's scalar wins,
its list keys append, and its empty assignments reset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from guestinit.unitfile._build import Builder
from guestinit.unitfile._diagnostics import Origin, Sink
from guestinit.unitfile._directives import INSTALL_KEYS, SERVICE_KEYS, UNIT_KEYS
from guestinit.unitfile._names import UnitKind, UnitName, parse_unit_name
from guestinit.unitfile._service import SERVICE_HANDLERS
from guestinit.unitfile._spec import (
    ExitType,
    InstallSpec,
    NotifyAccess,
    ParseResult,
    RawValue,
    Restart,
    ServiceSpec,
    ServiceType,
    UnitAction,
    UnitSpec,
)
from guestinit.unitfile._specifiers import SpecifierContext
from guestinit.unitfile._syntax import Assignment, parse_text
from guestinit.unitfile._unit import (
    INSTALL_HANDLERS,
    SERVICE_LEGACY_UNIT_KEYS,
    UNIT_HANDLERS,
    condition_kind,
    handle_condition,
)


@dataclass(frozen=True)
class UnitSource:
    """One file's text: the unit file itself or one of its drop-ins."""

    path: str
    text: str


# Sections we keep as raw text for other layers, per unit type.
_RAW_SECTIONS = {UnitKind.SOCKET: "Socket", UnitKind.TIMER: "Timer"}
# Sections of unit types we do not run; accepted, kept raw, with one warning.
_FOREIGN_SECTIONS = {
    UnitKind.MOUNT: "Mount",
    UnitKind.AUTOMOUNT: "Automount",
    UnitKind.SWAP: "Swap",
    UnitKind.PATH: "Path",
    UnitKind.SLICE: "Slice",
    UnitKind.SCOPE: "Scope",
}


def _section_role(section: str, kind: UnitKind) -> str:
    """ "unit", "install", "service", "raw", "foreign" or "unknown"."""
    if section == "Unit":
        return "unit"
    if section == "Install":
        return "install"
    if section == "Service" and kind is UnitKind.SERVICE:
        return "service"
    if section.startswith("X-") or _RAW_SECTIONS.get(kind) == section:
        return "raw"
    if _FOREIGN_SECTIONS.get(kind) == section:
        return "foreign"
    return "unknown"


def _home_of(key: str) -> str | None:
    if key in UNIT_KEYS or condition_kind(key):
        return "Unit"
    if key in SERVICE_KEYS:
        return "Service"
    if key in INSTALL_KEYS:
        return "Install"
    return None


class _Interpreter:
    def __init__(self, b: Builder, kind: UnitKind) -> None:
        self.b = b
        self.kind = kind
        self.raw: dict[str, dict[str, list[RawValue]]] = {}

    def keep_raw(self, a: Assignment) -> None:
        self.raw.setdefault(a.section, {}).setdefault(a.key, []).append(RawValue(a.value, a.at))

    def apply(self, a: Assignment) -> None:
        role = _section_role(a.section, self.kind)
        if role in ("raw", "foreign") or a.key.startswith("X-"):
            self.keep_raw(a)
            return
        if role == "unknown":
            return  # already warned once at the section header
        table = {"unit": UNIT_HANDLERS, "install": INSTALL_HANDLERS, "service": SERVICE_HANDLERS}
        handler = table[role].get(a.key)
        if role == "unit" and handler is None and condition_kind(a.key):
            handler = handle_condition
        if role == "service" and a.key in SERVICE_LEGACY_UNIT_KEYS:
            handler = UNIT_HANDLERS[a.key]
        if handler is not None:
            self.b.explicit.add(f"{a.section}.{a.key}")
            handler(self.b, a)
            return
        home = _home_of(a.key)
        if home == a.section:
            self.b.unsupported.append(a)
        elif home is not None:
            self.b.sink.warning(a.at, f"{a.key}= belongs in [{home}], not [{a.section}]; ignored")
        else:
            self.b.sink.warning(a.at, f"unknown key {a.key}= in [{a.section}]; ignored")


def _report_unsupported(b: Builder) -> None:
    if not b.unsupported:
        return
    first = b.unsupported[0].at
    listing = ", ".join(
        f"{a.key}= (line {a.at.line})"
        if a.at.file == first.file
        else f"{a.key}= ({a.at.file}:{a.at.line})"
        for a in b.unsupported
    )
    b.sink.warning(first, f"not implemented by guestinit, ignored: {listing}")


def _tuples(fields: dict[str, Any]) -> dict[str, Any]:
    """Lists to tuples and dicts to read-only mappings, for the frozen specs."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, list):
            out[key] = tuple(value)
        elif isinstance(value, dict):
            out[key] = MappingProxyType(dict(value))
        else:
            out[key] = value
    return out


def _service_spec(b: Builder, unit_fields: dict[str, Any], main: Origin) -> ServiceSpec | None:
    fields = _tuples(b.fields("Service"))
    exec_start = fields.get("exec_start", ())
    if "type" not in fields:
        # systemd.service(5): oneshot when ExecStart= is missing, dbus with BusName=.
        if "bus_name" in fields:
            fields["type"] = ServiceType.DBUS
        else:
            fields["type"] = ServiceType.SIMPLE if exec_start else ServiceType.ONESHOT
    if "restart_kill_signal" not in fields and "kill_signal" in fields:
        fields["restart_kill_signal"] = fields["kill_signal"]
    spec = ServiceSpec(**fields)
    implied_main = spec.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD) or (
        0 < spec.watchdog_sec < math.inf
    )
    if implied_main and spec.notify_access is NotifyAccess.NONE:
        # systemd forces "main" here: a notify service must be heard.
        fields["notify_access"] = NotifyAccess.MAIN
        spec = ServiceSpec(**fields)

    success_action = unit_fields.get("success_action", UnitAction.NONE)
    problem = None
    if not exec_start and not spec.exec_stop and success_action is UnitAction.NONE:
        problem = "the service has no ExecStart=, ExecStop= or SuccessAction="
    elif spec.type is not ServiceType.ONESHOT and not exec_start:
        problem = f"ExecStart= is missing, which only Type=oneshot allows (Type={spec.type.value})"
    elif not exec_start and not spec.remain_after_exit and success_action is UnitAction.NONE:
        problem = "without ExecStart= the service needs RemainAfterExit=yes or SuccessAction="
    elif spec.type is not ServiceType.ONESHOT and len(exec_start) > 1:
        problem = f"more than one ExecStart=, which only Type=oneshot allows ({len(exec_start)})"
    elif spec.type is ServiceType.ONESHOT and spec.restart in (Restart.ALWAYS, Restart.ON_SUCCESS):
        problem = f"Restart={spec.restart.value} is not allowed for Type=oneshot"
    elif spec.type is ServiceType.ONESHOT and spec.exit_type is ExitType.CGROUP:
        problem = "ExitType=cgroup is not allowed for Type=oneshot"
    elif spec.type is ServiceType.DBUS and not spec.bus_name:
        problem = "Type=dbus needs BusName="
    if problem is not None:
        b.sink.error(main, f"{problem}; the unit cannot be used")
        return None
    if spec.type is ServiceType.ONESHOT and spec.runtime_max_sec < math.inf:
        b.sink.warning(main, "RuntimeMaxSec= has no effect with Type=oneshot")
    return spec


def parse_unit(
    name: str,
    sources: Sequence[UnitSource],
    context: SpecifierContext | None = None,
) -> ParseResult:
    """Parse ``name`` from its main file and drop-ins (``sources``, in order)."""
    sink = Sink()
    main_path = sources[0].path if sources else name
    main = Origin(main_path, 0)
    try:
        unit = parse_unit_name(name)
    except ValueError as exc:
        sink.error(main, str(exc))
        return ParseResult(None, tuple(sink.items))
    b = Builder(unit, context or SpecifierContext(), sink, main_path)
    interpreter = _Interpreter(b, unit.kind)
    fatal = False
    for source in sources:
        parsed = parse_text(source.text, source.path, sink)
        fatal = fatal or parsed.fatal
        for section in parsed.sections:
            role = _section_role(section.name, unit.kind)
            if role == "unknown":
                sink.warning(section.at, f"unknown section [{section.name}]; ignored")
            elif role == "foreign":
                sink.warning(section.at, f"[{section.name}] units are not run; kept as text")
        for assignment in parsed.assignments:
            interpreter.apply(assignment)
    _report_unsupported(b)
    if fatal:
        return ParseResult(None, tuple(sink.items))
    return ParseResult(_finish(b, unit, sources, interpreter.raw, main), tuple(sink.items))


def _finish(
    b: Builder,
    unit: UnitName,
    sources: Sequence[UnitSource],
    raw: dict[str, dict[str, list[RawValue]]],
    main: Origin,
) -> UnitSpec | None:
    unit_fields = _tuples(b.fields("Unit"))
    service = None
    if unit.kind is UnitKind.SERVICE:
        service = _service_spec(b, unit_fields, main)
        if service is None:
            return None
    frozen_raw = MappingProxyType(
        {
            section: MappingProxyType({key: tuple(values) for key, values in keys.items()})
            for section, keys in raw.items()
        }
    )
    return UnitSpec(
        name=unit.name,
        kind=unit.kind,
        path=sources[0].path if sources else "",
        dropin_paths=tuple(s.path for s in sources[1:]),
        install=InstallSpec(**_tuples(b.fields("Install"))),
        service=service,
        raw=frozen_raw,
        explicit=frozenset(b.explicit),
        **unit_fields,
    )


def parse_unit_text(
    text: str, name: str, path: str = "", context: SpecifierContext | None = None
) -> ParseResult:
    """Parse a single file's text (no drop-ins); ``path`` names it in diagnostics."""
    return parse_unit(name, [UnitSource(path or name, text)], context)
