"""systemd unit files -> typed, frozen specs. Pure except for ``load``.

Layout, in the order text flows through it:

- ``_syntax``       ini layer: sections, ``Key=value``, ``\\`` continuations, comments
- ``_quote``        words out of a value: quotes and C escapes (systemd.syntax(7))
- ``_specifiers``   ``%n %i %t ...`` against a SpecifierContext passed in
- ``_timespan``     ``"1min 30s"`` -> seconds; ``_values`` booleans, modes, signals,
                    exit statuses, resource limits
- ``_exec``         Exec lines: prefixes, argv; ``expand_exec`` for ``$VAR``/``${VAR}``
- ``_build``        the accumulator handlers write into (repeat, append, reset rules)
- ``_unit``, ``_service``   one handler per key of [Unit]/[Install] and [Service]
- ``_directives``   every key systemd knows, to tell "not implemented" from a typo
- ``_spec``         the frozen dataclasses and enums; ``_defaults`` ours vs systemd's
- ``_parse``        one unit from its file and drop-ins -> ParseResult
- ``load``          the disk side: search path, templates, drop-ins, .wants/, masks

Parsing never raises on bad input: every complaint is a Diagnostic naming
file:line, and a bad assignment is ignored as systemd ignores it. Only faults
systemd itself refuses a unit for (no usable ExecStart=, a broken section
header) give ``spec=None``.

Not on the ``guestinit -- cmd`` fast path: this package imports ``dataclasses``
and ``enum`` freely and is loaded only when services are configured.
"""

from guestinit.unitfile._diagnostics import Diagnostic, Origin, Severity
from guestinit.unitfile._exec import ExecCommand, expand_exec
from guestinit.unitfile._names import UnitKind, UnitName, parse_unit_name
from guestinit.unitfile._parse import UnitSource, parse_unit, parse_unit_text
from guestinit.unitfile._spec import (
    Condition,
    EnvironmentFile,
    ExitType,
    InstallSpec,
    KillMode,
    NotifyAccess,
    ParseResult,
    RawValue,
    Restart,
    RuntimeDirectoryPreserve,
    ServiceSpec,
    ServiceType,
    StdKind,
    StdStream,
    UnitAction,
    UnitSpec,
    WorkingDirectory,
)
from guestinit.unitfile._specifiers import SpecifierContext, SpecifierError, resolve_specifiers
from guestinit.unitfile._timespan import format_timespan, parse_timespan
from guestinit.unitfile._values import RLIM_INFINITY, ExitStatusSet, RLimit

__all__ = [
    "RLIM_INFINITY",
    "Condition",
    "Diagnostic",
    "EnvironmentFile",
    "ExecCommand",
    "ExitStatusSet",
    "ExitType",
    "InstallSpec",
    "KillMode",
    "NotifyAccess",
    "Origin",
    "ParseResult",
    "RLimit",
    "RawValue",
    "Restart",
    "RuntimeDirectoryPreserve",
    "ServiceSpec",
    "ServiceType",
    "Severity",
    "SpecifierContext",
    "SpecifierError",
    "StdKind",
    "StdStream",
    "UnitAction",
    "UnitKind",
    "UnitName",
    "UnitSource",
    "UnitSpec",
    "WorkingDirectory",
    "expand_exec",
    "format_timespan",
    "parse_timespan",
    "parse_unit",
    "parse_unit_name",
    "parse_unit_text",
    "resolve_specifiers",
]
