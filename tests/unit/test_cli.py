"""guestinit's own command line -> InitConfig (pure: no process is started)."""

import signal

import pytest

from guestinit import _log, cli
from guestinit.config import SESSION, InitConfig


def parsed(*args: str, env: dict[str, str] | None = None) -> InitConfig:
    result = cli.parse(list(args), env or {})
    assert isinstance(result, InitConfig)
    return result


def test_defaults() -> None:
    config = parsed("--", "sleep", "1")
    assert config.command == ["sleep", "1"]
    assert config.grace == 5.0
    assert config.log.level == _log.WARNING
    assert config.subreaper and config.stop_timeout and not config.forward_to_group


def test_every_option() -> None:
    config = parsed(
        "-g", "--rewrite", "TERM:QUIT", "-e", "3", "--grace", "2.5", "--setsid",
        "--no-subreaper", "-p", "KILL", "-vv", "cmd",
    )  # fmt: skip
    assert config.forward_to_group
    assert config.rewrites == {int(signal.SIGTERM): int(signal.SIGQUIT)}
    assert config.success_codes == frozenset({3})
    assert config.grace == 2.5
    assert config.spawn_mode == SESSION
    assert not config.subreaper
    assert config.parent_death_signal == int(signal.SIGKILL)
    assert config.log.level == _log.DEBUG


def test_environment() -> None:
    config = parsed("x", env={"GUESTINIT_LOG_LEVEL": "trace", "GUESTINIT_GRACE": "30"})
    assert (config.log.level, config.grace) == (_log.TRACE, 30.0)
    assert parsed("-q", "x").log.level == _log.ERROR


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--grace", "-1", "x"],
        ["--rewrite", "TERM", "x"],
        ["--rewrite", "TERM:BOGUS", "x"],
        ["-e", "256", "x"],
        ["-p", "NOPE", "x"],
    ],
)
def test_usage_errors_return_2(args: list[str]) -> None:
    assert cli.parse(args, {}) == 2


def test_bad_log_level_is_a_usage_error() -> None:
    assert cli.parse(["x"], {"GUESTINIT_LOG_LEVEL": "loud"}) == 2


def test_rewrite_to_zero_drops() -> None:
    assert cli.parse_rewrite("HUP:0") == (int(signal.SIGHUP), 0)
