from guestinit.service.health import HealthConfig, begin, parse_health, record
from guestinit.unitfile import parse_unit_text


def parsed(extra: str) -> tuple[HealthConfig | None, list[str]]:
    result = parse_unit_text(
        f"[Service]\nExecStart=/bin/true\n{extra}", "x.service", "/u/x.service"
    )
    assert result.spec is not None
    return parse_health(result.spec)


def test_defaults_and_kinds() -> None:
    config, errors = parsed("X-HealthCheck=curl -f localhost\n")
    assert errors == [] and config is not None
    assert (config.kind, config.interval, config.timeout, config.retries) == ("command", 30, 10, 3)
    assert parsed("X-HealthCheck=tcp:[::1]:22\n")[0].kind == "tcp"  # type: ignore[union-attr]
    assert parsed("X-HealthCheck=http://x/healthz\n")[0].kind == "http"  # type: ignore[union-attr]
    assert parsed("") == (None, [])


def test_bad_values_name_file_and_line() -> None:
    config, errors = parsed("X-HealthCheck=true\nX-HealthRetries=zero\nX-HealthInterval=soon\n")
    assert config is not None and config.retries == 3
    assert errors[0].startswith("/u/x.service:5: X-HealthInterval=soon")
    assert errors[1].startswith("/u/x.service:4: X-HealthRetries=zero")
    assert parsed("X-HealthCheck=tcp:nohost\n")[0] is None


def test_three_failures_make_unhealthy_once() -> None:
    config = HealthConfig("true", interval=1.0, retries=3, start_period=5.0)
    state = begin(config, 0.0)
    state, turned = record(config, state, False, 2.0)
    assert state.failures == 0 and not turned, "inside the start period"
    outcomes = []
    for now in (6.0, 7.0, 8.0, 9.0):
        state, turned = record(config, state, False, now)
        outcomes.append(turned)
    assert outcomes == [False, False, True, False] and state.healthy is False
    state, turned = record(config, state, True, 10.0)
    assert state.healthy is True and state.failures == 0 and state.next_check == 11.0
