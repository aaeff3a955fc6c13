"""guestinit through a link named ``dumb-init`` behaves like Debian's
dumb-init 1.2.5, scenario by scenario, side by side with the real binary."""

import shutil
import signal

import pytest

from tests.integration.conftest import InitFactory, ProgramPath
from tests.integration.initrun import InitRun

pytestmark = pytest.mark.skipif(
    not shutil.which("dumb-init"), reason="Debian's dumb-init not installed"
)

# The real tools race their own start-up: a signal sent the moment the child
# reports ready can reach them before their handlers exist, and a PID-1 of a
# namespace drops signals it has no handler for. Their runs may be retried;
# guestinit's never are.
IMPLEMENTATIONS = [pytest.param("real", marks=pytest.mark.flaky(reruns=2)), "ours"]


def _run(init: InitFactory, which: str, *args: str, **options: object) -> InitRun:
    return init.tool("dumb-init", which, *args, **options)  # type: ignore[arg-type]


def _named(run: InitRun) -> str:
    """stderr with the program's path (argv[0], which dumb-init echoes) as PROG."""
    path = run.command[run.command.index("--mount-proc") + 1]
    return run.stderr.decode().replace(path, "PROG")


@pytest.mark.parametrize(
    "args",
    [
        ["sh", "-c", "exit 3"],
        ["sh", "-c", "kill -TERM $$"],
        ["/no/such/program"],
        ["/etc/passwd"],
        ["-r", "99:1", "true"],
        ["-r", "15:0", "true"],
        ["-x", "true"],
        [],
        ["-V"],
        ["--help"],
        ["-c", "--", "sh", "-c", "exit 4"],
    ],
    ids=lambda a: " ".join(a) or "no-args",
)
def test_same_exit_code_and_messages_as_dumb_init(init: InitFactory, args: list[str]) -> None:
    real = _run(init, "real", *args)
    ours = _run(init, "ours", *args)
    assert ours.wait() == real.wait()
    ours_lines = _named(ours).splitlines()
    for line in _named(real).splitlines():
        if line.startswith(("[dumb-init] /", "Usage:", "dumb-init: invalid")):
            assert line in ours_lines


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
@pytest.mark.parametrize("single_child", [False, True])
def test_signals_reach_the_group_unless_single_child(
    init: InitFactory, program: ProgramPath, which: str, single_child: bool
) -> None:
    args = ["-c"] if single_child else []
    run = _run(init, which, *args, *program("group_pair"))
    assert sorted([run.read_line(), run.read_line()]) == ["child ready", "main ready"]
    run.signal(signal.SIGUSR1)
    expected = ["main got 10"] if single_child else ["child got 10", "main got 10"]
    got = sorted(run.read_line() for _ in expected)
    run.signal(signal.SIGTERM)
    assert got == expected
    assert run.wait() == 0


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_rewrite_by_number(init: InitFactory, program: ProgramPath, which: str) -> None:
    run = _run(init, which, "-c", "-r", "10:12", "-r", "1:0", *program("trap_all"))
    assert run.read_line() == "ready"
    run.signal(signal.SIGHUP)
    run.signal(signal.SIGUSR1)
    assert run.read_line() == "got 12"
    run.signal(signal.SIGTERM)
    assert run.read_line() == "got 15"
    assert run.wait() == 0


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_setsid_env_off_forwards_to_the_child_only(
    init: InitFactory, program: ProgramPath, which: str
) -> None:
    run = _run(init, which, *program("group_pair"), env={"DUMB_INIT_SETSID": "0"})
    assert sorted([run.read_line(), run.read_line()]) == ["child ready", "main ready"]
    run.signal(signal.SIGUSR1)
    got = run.read_line()
    run.signal(signal.SIGTERM)
    assert got == "main got 10"
    assert run.wait() == 0


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_group_gets_sigterm_when_the_main_process_exits(init: InitFactory, which: str) -> None:
    child = "trap 'echo child-term; exit 0' TERM; echo up; while :; do sleep 0.05; done"
    script = f'sh -c "{child}" & sleep 0.3; exit 6'
    run = _run(init, which, "sh", "-c", script, pid1=False)
    assert run.read_line() == "up"
    assert run.wait() == 6
    assert b"child-term" in run.stdout
