"""Health checks, in systemd's extension style (pure).

In [Service]::

    X-HealthCheck=        a command line, tcp:HOST:PORT, or an http(s):// URL
    X-HealthInterval=     time between checks (default 30s)
    X-HealthTimeout=      a check taking longer fails (default 10s)
    X-HealthRetries=      consecutive failures that make the unit unhealthy (3)
    X-HealthStartPeriod=  failures right after a start do not count (0)

Docker's HEALTHCHECK semantics, per unit. An unhealthy unit is treated like a
watchdog failure: its Restart= policy decides (on-failure, on-abnormal,
on-watchdog and always restart it), and the restart counts for StartLimit*.
"""

import dataclasses

from guestinit.unitfile import UnitSpec, parse_timespan


@dataclasses.dataclass(frozen=True)
class HealthConfig:
    check: str
    interval: float = 30.0
    timeout: float = 10.0
    retries: int = 3
    start_period: float = 0.0

    @property
    def kind(self) -> str:
        if self.check.startswith("tcp:"):
            return "tcp"
        if self.check.startswith(("http://", "https://")):
            return "http"
        return "command"


@dataclasses.dataclass(frozen=True)
class HealthState:
    """Where a running unit's checks stand."""

    started: float  # when the unit became active (monotonic)
    next_check: float
    failures: int = 0
    healthy: bool | None = None  # None: no verdict yet
    last_output: str = ""


def parse_health(spec: UnitSpec) -> tuple[HealthConfig | None, list[str]]:
    """The unit's health check, and problems as "file:line: message"."""
    raw = spec.raw.get("Service", {})
    checks = raw.get("X-HealthCheck", ())
    if not checks or not checks[-1].value.strip():
        return None, []
    values: dict[str, object] = {"check": checks[-1].value.strip()}
    errors: list[str] = []
    for key, field, parse in (
        ("X-HealthInterval", "interval", parse_timespan),
        ("X-HealthTimeout", "timeout", parse_timespan),
        ("X-HealthStartPeriod", "start_period", parse_timespan),
        ("X-HealthRetries", "retries", _positive),
    ):
        entries = raw.get(key, ())
        if not entries:
            continue
        entry = entries[-1]
        try:
            values[field] = parse(entry.value)
        except ValueError as error:
            errors.append(f"{entry.at.file}:{entry.at.line}: {key}={entry.value}: {error}")
    config = HealthConfig(**values)  # type: ignore[arg-type]
    if config.kind == "tcp" and not _tcp_target(config.check):
        errors.append(
            f"{checks[-1].at.file}:{checks[-1].at.line}: X-HealthCheck: tcp: needs HOST:PORT"
        )
        return None, errors
    return config, errors


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError("needs a whole number >= 1")
    return int(text)


def _tcp_target(check: str) -> tuple[str, int] | None:
    host, _, port = check.removeprefix("tcp:").rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def tcp_target(config: HealthConfig) -> tuple[str, int]:
    target = _tcp_target(config.check)
    assert target is not None
    return target


def begin(config: HealthConfig, now: float) -> HealthState:
    """The unit just became active: first check after the interval."""
    return HealthState(
        started=now, next_check=now + min(config.interval, max(config.start_period, 1.0))
    )


def record(
    config: HealthConfig, state: HealthState, ok: bool, now: float, output: str = ""
) -> tuple[HealthState, bool]:
    """One check's result -> the new state, and whether the unit just became
    unhealthy (the moment to act on it)."""
    if ok:
        return dataclasses.replace(
            state, failures=0, healthy=True, next_check=now + config.interval, last_output=output
        ), False
    if now - state.started < config.start_period:
        return dataclasses.replace(
            state, next_check=now + config.interval, last_output=output
        ), False
    failures = state.failures + 1
    unhealthy = failures >= config.retries
    turned = unhealthy and state.healthy is not False
    new = dataclasses.replace(
        state,
        failures=failures,
        healthy=False if unhealthy else state.healthy,
        next_check=now + config.interval,
        last_output=output,
    )
    return new, turned
