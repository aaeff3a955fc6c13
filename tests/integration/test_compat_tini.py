"""guestinit through a link named ``tini`` behaves like Debian's tini 0.19,
scenario by scenario, run side by side with the real binary."""

import re
import shutil
import signal

import pytest

from tests.integration.conftest import InitFactory, ProgramPath
from tests.integration.initrun import InitRun

pytestmark = pytest.mark.skipif(not shutil.which("tini"), reason="Debian's tini not installed")

# The real tools race their own start-up: a signal sent the moment the child
# reports ready can reach them before their handlers exist, and a PID-1 of a
# namespace drops signals it has no handler for. Their runs may be retried;
# guestinit's never are.
IMPLEMENTATIONS = [pytest.param("real", marks=pytest.mark.flaky(reruns=2)), "ours"]


def _run(init: InitFactory, which: str, *args: str, **options: object) -> InitRun:
    return init.tool("tini", which, *args, **options)  # type: ignore[arg-type]


def _outcome(init: InitFactory, which: str, *args: str, pid1: bool = True) -> tuple[int, str]:
    run = _run(init, which, *args, pid1=pid1)
    code = run.wait()
    err = run.stderr.decode()
    return code, re.sub(r"\(\d+\)", "(PID)", err)


@pytest.mark.parametrize(
    "args",
    [
        ["--", "sh", "-c", "exit 3"],
        ["--", "sh", "-c", "kill -TERM $$"],
        ["--", "/no/such/program"],
        ["--", "/etc/passwd"],
        ["-e", "3", "--", "sh", "-c", "exit 3"],
        ["-e", "300", "--", "true"],
        ["-p", "SIGFOO", "--", "true"],
        ["-p", "SIGKILL", "--", "true"],
        ["-x", "true"],
        [],
        ["-s", "-g", "-w", "--", "true"],
    ],
    ids=lambda a: " ".join(a) or "no-args",
)
def test_same_exit_code_and_messages_as_tini(init: InitFactory, args: list[str]) -> None:
    real_code, real_err = _outcome(init, "real", *args)
    our_code, our_err = _outcome(init, "ours", *args)
    assert our_code == real_code
    for line in real_err.splitlines():
        if line.startswith("[FATAL") or line.startswith("tini: "):
            assert line in our_err.splitlines()


def test_not_pid1_without_subreaper_warns_like_tini(init: InitFactory) -> None:
    real_code, real_err = _outcome(init, "real", "--", "true", pid1=False)
    our_code, our_err = _outcome(init, "ours", "--", "true", pid1=False)
    assert our_code == real_code == 0
    assert real_err == our_err


def test_help_version_license(init: InitFactory) -> None:
    for args in (["-h"], ["--version"], ["-l"]):
        real = _run(init, "real", *args, pid1=False)
        ours = _run(init, "ours", *args, pid1=False)
        assert ours.wait() == real.wait() == 0
    version = _run(init, "ours", "--version", pid1=False)
    version.wait()
    assert version.stdout.startswith(b"tini version 0.19.0")


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
@pytest.mark.parametrize("group", [False, True])
def test_forwarding_same_as_tini(
    init: InitFactory, program: ProgramPath, which: str, group: bool
) -> None:
    args = ["-g"] if group else []
    run = _run(init, which, *args, "--", *program("group_pair"))
    assert sorted([run.read_line(), run.read_line()]) == ["child ready", "main ready"]
    run.signal(signal.SIGUSR1)
    expected = ["child got 10", "main got 10"] if group else ["main got 10"]
    got = sorted(run.read_line() for _ in expected)
    run.signal(signal.SIGTERM)
    assert got == expected
    assert run.wait() == 0


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_verbose_lines_scripts_grep_for(init: InitFactory, which: str) -> None:
    run = _run(init, which, "-vv", "--", "sh", "-c", "exit 2")
    assert run.wait() == 2
    out = run.stdout.decode()
    assert "Spawned child process 'sh' with pid" in out
    assert "Main child exited normally (with status '2')" in out


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_subreaper_env_reaps_orphans(init: InitFactory, which: str) -> None:
    script = "(sleep 0.2 &); sleep 0.5"
    env = {"TINI_SUBREAPER": "1"}
    run = _run(init, which, "-vv", "--", "sh", "-c", script, pid1=False, env=env)
    assert run.wait() == 0
    assert run.stdout.decode().count("Reaped child with pid") == 2  # the sh and the orphan
