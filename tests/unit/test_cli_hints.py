"""``--hints`` / GUESTINIT_HINTS and the ``guestinit hints`` command line (parsing only)."""

import pytest

from guestinit import cli, hints_system
from guestinit.config import InitConfig


def parsed(*args: str, env: dict[str, str] | None = None) -> InitConfig:
    result = cli.parse(list(args), env or {})
    assert isinstance(result, InitConfig)
    return result


def test_hints_are_off_by_default() -> None:
    assert parsed("--", "true").hints is False


def test_the_option_turns_them_on() -> None:
    assert parsed("--hints", "--", "true").hints is True


@pytest.mark.parametrize(("value", "on"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_environment_variable(value: str, on: bool) -> None:
    assert parsed("true", env={"GUESTINIT_HINTS": value}).hints is on


def test_the_option_beats_an_environment_off() -> None:
    assert parsed("--hints", "true", env={"GUESTINIT_HINTS": "0"}).hints is True


def test_a_bad_environment_value_is_a_usage_error() -> None:
    assert cli.parse(["true"], {"GUESTINIT_HINTS": "maybe"}) == 2


def test_usage_mentions_both_forms() -> None:
    assert "--hints" in cli.USAGE and "guestinit hints" in cli.USAGE


# ---- guestinit hints [--pid PID] [--json] ---------------------------------------------------
def test_hints_command_defaults() -> None:
    assert hints_system._parse([]) == ("self", False)


def test_hints_command_options() -> None:
    assert hints_system._parse(["--pid", "1", "--json"]) == (1, True)
    assert hints_system._parse(["--pid=42"]) == (42, False)
    assert hints_system._parse(["-h"]) == (None, False)


@pytest.mark.parametrize(
    "args", [["--pid"], ["--pid", "self"], ["--pid", "0"], ["--bogus"], ["extra"]]
)
def test_hints_command_usage_errors(args: list[str], capfd: pytest.CaptureFixture[str]) -> None:
    assert hints_system.main(args) == 2
    assert "usage: guestinit hints" in capfd.readouterr().err


def test_hints_command_help(capfd: pytest.CaptureFixture[str]) -> None:
    assert hints_system.main(["--help"]) == 0
    assert "eval" in capfd.readouterr().out
