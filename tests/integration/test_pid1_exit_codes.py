"""Exit codes of guestinit as PID 1: the main process's, 128+N, 126, 127, -e."""

import signal

import pytest

from guestinit.pid1.signals import forwardable
from tests.integration.conftest import InitFactory

# Signals whose default action ends the process (the others stop it or do nothing).
_TERMINATING = [
    n
    for n in forwardable()
    if n
    not in (
        signal.SIGCHLD,
        signal.SIGCONT,
        signal.SIGURG,
        signal.SIGWINCH,
        signal.SIGTSTP,
        signal.SIGTTIN,
        signal.SIGTTOU,
    )
] + [signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT]


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_code_is_the_main_process_code(init: InitFactory, code: int) -> None:
    run = init("--", "sh", "-c", f"exit {code}")
    assert run.wait() == code


@pytest.mark.parametrize("number", _TERMINATING)
def test_death_by_signal_n_exits_128_plus_n(init: InitFactory, number: int) -> None:
    run = init("--", "sh", "-c", f"ulimit -c 0; kill -{number} $$")
    assert run.wait() == 128 + number


def test_command_not_found_exits_127_naming_the_path(init: InitFactory) -> None:
    run = init("--", "/no/such/program")
    assert run.wait() == 127
    assert b"/no/such/program" in run.stderr
    assert b"No such file or directory" in run.stderr


def test_not_executable_exits_126(init: InitFactory) -> None:
    run = init("--", "/etc/passwd")
    assert run.wait() == 126
    assert b"/etc/passwd: Permission denied" in run.stderr


def test_script_without_shebang_runs_with_the_shell(init: InitFactory, tmp_path: object) -> None:
    from pathlib import Path

    script = Path(str(tmp_path)) / "plain"
    script.write_text("exit 9\n")
    script.chmod(0o755)
    assert init("--", str(script)).wait() == 9


def test_success_exit_maps_codes_to_zero(init: InitFactory) -> None:
    assert init("-e", "3", "-e", "143", "--", "sh", "-c", "exit 3").wait() == 0
    assert init("-e", "143", "--", "sh", "-c", "kill -TERM $$").wait() == 0
    assert init("-e", "3", "--", "sh", "-c", "exit 4").wait() == 4


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus", "true"],
        [],
        ["--grace", "soon", "true"],
        ["-e", "300", "true"],
        ["--rewrite", "X"],
    ],
)
def test_usage_errors_print_usage_and_exit_2(init: InitFactory, args: list[str]) -> None:
    run = init(*args, pid1=False)
    assert run.wait() == 2
    assert b"usage: guestinit" in run.stderr
    # The short usage, as getopt-style tools print: not the whole --help.
    assert b"Try 'guestinit --help' for more information." in run.stderr
    assert b"--log-format" not in run.stderr


def test_help_and_version_exit_0(init: InitFactory) -> None:
    run = init("--help", pid1=False)
    assert run.wait() == 0
    assert b"usage: guestinit" in run.stdout
    run = init("--version", pid1=False)
    assert run.wait() == 0
    assert run.stdout.startswith(b"guestinit ")
