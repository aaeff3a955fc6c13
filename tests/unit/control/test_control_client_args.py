"""``guestinit ctl``'s command line -> the request it sends."""

import pytest

from guestinit import _argv
from guestinit.control.client import USAGE, Invocation, main, parse, parse_anywhere, unit_name
from guestinit.control.protocol import Verb

SHORT = "qs:p:alh"
LONG = {"json": "--json", "signal=": "-s", "property=": "-p"}


def parsed(*argv: str, env: dict[str, str] | None = None) -> Invocation:
    result = parse(list(argv), env or {})
    assert isinstance(result, Invocation)
    return result


def test_options_anywhere_and_operands_after_double_dash() -> None:
    assert parse_anywhere(["-q", "status", "a", "--json", "b", "-s9"], SHORT, LONG) == (
        [("-q", ""), ("--json", ""), ("-s", "9")],
        ["status", "a", "b"],
    )
    assert parse_anywhere(["status", "--", "-q", "--json"], SHORT, LONG) == (
        [],
        ["status", "-q", "--json"],
    )
    assert parse_anywhere(["show", "-p", "A,B", "x", "--property=C"], SHORT, LONG) == (
        [("-p", "A,B"), ("-p", "C")],
        ["show", "x"],
    )
    with pytest.raises(_argv.UsageError, match="unrecognized option '--bogus'"):
        parse_anywhere(["status", "--bogus"], SHORT, LONG)


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("sshd", "sshd.service"),
        ("sshd.service", "sshd.service"),
        ("multi-user.target", "multi-user.target"),
        ("getty@tty1", "getty@tty1.service"),
        ("foo.bar", "foo.bar.service"),
        ("ssh*", "ssh*"),
    ],
)
def test_unit_names_get_their_type(word: str, name: str) -> None:
    assert unit_name(word) == name


def test_requests_built_from_the_command_line() -> None:
    status = parsed("status", "sshd", "cron.service")
    assert status.request.verb is Verb.STATUS
    assert status.request.args == {"units": ["sshd.service", "cron.service"]}
    assert (status.as_json, status.quiet, status.legend) == (False, False, True)
    assert status.socket_path == "/run/guestinit/control.sock"

    kill = parsed("kill", "-s", "KILL", "--kill-whom=main", "x")
    assert kill.request.args == {"units": ["x.service"], "signal": 9, "whom": "main"}

    start = parsed("--no-block", "start", "a", "b", "--json", "-q")
    assert start.request.args == {"units": ["a.service", "b.service"], "no_block": True}
    assert (start.as_json, start.quiet) == (True, True)

    listing = parsed("list-units", "--all", "ssh*", "--no-legend")
    assert listing.request.args == {"all": True, "patterns": ["ssh*"]}
    assert listing.legend is False

    show = parsed("show", "a", "-p", "MainPID,ActiveState", "--property", "Id")
    assert show.request.args == {
        "units": ["a.service"],
        "properties": ["MainPID", "ActiveState", "Id"],
        "all": False,
    }
    assert parsed("exit", "7").request.args == {"code": 7}
    assert parsed("exit").request.args == {"code": 0}
    assert parsed("health", "--no-pager", "-l").request.args == {}


def test_the_socket_path() -> None:
    assert parsed("health", env={"GUESTINIT_CONTROL_SOCKET": "/x"}).socket_path == "/x"
    chosen = parsed("health", "--socket", "/y", env={"GUESTINIT_CONTROL_SOCKET": "/x"})
    assert chosen.socket_path == "/y"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no verb given"),
        (["frob"], "unknown verb 'frob'"),
        (["start"], "start needs at least one unit name"),
        (["health", "x"], "health takes no arguments"),
        (["exit", "300"], "exit code must be 0-255"),
        (["exit", "1", "2"], "exit takes one exit code"),
        (["kill", "-s", "NOPE", "x"], "unknown signal"),
        (["kill", "--kill-whom", "everyone", "x"], "--kill-whom takes one of"),
        (["start", "a/b"], "units must be"),
        (["show", "-p", "Main-PID"], "properties must be"),
    ],
)
def test_bad_command_lines(argv: list[str], message: str) -> None:
    with pytest.raises((_argv.UsageError, ValueError), match=message):
        parse(argv, {})


def test_usage_errors_exit_2_and_help_exits_0(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["frob"]) == 2
    assert "unknown verb 'frob'" in capfd.readouterr().err
    assert main(["--help"]) == 0
    assert capfd.readouterr().out == USAGE
    assert parse(["status", "-h"], {}) == USAGE


def test_no_manager_listening(capfd: pytest.CaptureFixture[str], tmp_path: object) -> None:
    path = f"{tmp_path}/none.sock"
    assert main(["--socket", path, "status"]) == 1
    err = capfd.readouterr().err
    assert err.startswith(f"guestinit: cannot reach the service manager at {path}: ")
