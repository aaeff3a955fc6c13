"""The getopt-style parser: clusters, values, long options, stop rules."""

import pytest

from guestinit._argv import UsageError, parse

LONG = {"grace=": "--grace", "help": "-h"}


@pytest.mark.parametrize(
    ("argv", "options", "rest"),
    [
        (["-vvv", "cmd"], [("-v", ""), ("-v", ""), ("-v", "")], ["cmd"]),
        (["-e", "3", "-e143", "cmd"], [("-e", "3"), ("-e", "143")], ["cmd"]),
        (["-ve", "3", "--", "-x"], [("-v", ""), ("-e", "3")], ["-x"]),
        (["cmd", "-v"], [], ["cmd", "-v"]),
        (["--grace=2", "--grace", "3", "x"], [("--grace", "2"), ("--grace", "3")], ["x"]),
        (["--help"], [("-h", "")], []),
        (["-", "x"], [], ["-", "x"]),
        ([], [], []),
    ],
)
def test_parse(argv: list[str], options: list[tuple[str, str]], rest: list[str]) -> None:
    assert parse(argv, "ve:", LONG) == (options, rest)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-x"], "invalid option -- 'x'"),
        (["-e"], "option requires an argument -- 'e'"),
        (["--nope"], "unrecognized option '--nope'"),
        (["--grace"], "option '--grace' requires an argument"),
        (["--help=1"], "option '--help' doesn't allow an argument"),
    ],
)
def test_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse(argv, "ve:", LONG)
