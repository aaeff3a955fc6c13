"""Drop-in fidelity (issue 13), side by side: Debian's tini 0.19 / dumb-init
1.2.5 and guestinit through a program of that name go through the same
scenario and must give the same observable result.

These runs are plain children of the test (not PID 1), as the tools' own test
suites run them: a PID 1 drops signals it has no handler for, which would hide
the differences looked for here. Only the real tools' runs may be retried
(they race their own start-up); guestinit's never are.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.integration.conftest import InitFactory, ProgramPath
from tests.integration.initrun import InitRun

pytestmark = pytest.mark.skipif(
    not (shutil.which("dumb-init") and shutil.which("tini")),
    reason="Debian's tini and dumb-init are not installed",
)

IMPLEMENTATIONS = [pytest.param("real", marks=pytest.mark.flaky(reruns=2)), "ours"]

S = signal.Signals
_TTY_STOPS = [int(S.SIGTSTP), int(S.SIGTTIN), int(S.SIGTTOU)]
# Every signal dumb-init forwards as it is (the tty ones stop; TERM ends the run).
_PLAIN = [
    n
    for n in range(1, 32)
    if n not in {int(S.SIGKILL), int(S.SIGSTOP), int(S.SIGCHLD), int(S.SIGTERM), *_TTY_STOPS}
]


def _tool(init: InitFactory, tool: str, which: str, *args: str, **options: object) -> InitRun:
    return init.tool(tool, which, *args, pid1=False, **options)  # type: ignore[arg-type]


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll a process state the kernel reports (the event itself) up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _status(pid: int) -> str:
    try:
        return str(psutil.Process(pid).status())
    except psutil.NoSuchProcess:
        return "gone"


def _stopped(pid: int) -> bool:
    return _status(pid) == psutil.STATUS_STOPPED


def _living(pids: list[int]) -> list[int]:
    return [p for p in pids if _status(p) not in ("gone", psutil.STATUS_ZOMBIE)]


def _kill_all(pids: list[int]) -> None:
    for pid in _living(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _no_core_dumps() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# ---- which signals are forwarded ----------------------------------------------
@pytest.mark.parametrize("which", IMPLEMENTATIONS)
@pytest.mark.parametrize("pid1", [False, True], ids=["child", "pid1"])
def test_dumb_init_forwards_every_signal_1_to_31_faults_included(
    init: InitFactory, program: ProgramPath, which: str, pid1: bool
) -> None:
    """Also as PID 1 of a namespace, where a fault signal left at its default
    would be dropped by the kernel: blocked, it is queued and read."""
    run = init.tool("dumb-init", which, "-c", *program("trap_all"), pid1=pid1)
    assert run.read_line() == "ready"
    for number in _PLAIN:  # HUP ... SYS, with ILL TRAP ABRT BUS FPE SEGV SYS sent by us
        run.signal(number)
        assert run.read_line() == f"got {number}"
    run.signal(signal.SIGTERM)
    assert run.read_line() == "got 15"
    assert run.wait() == 0


@pytest.mark.parametrize("which", [*IMPLEMENTATIONS, "native"])
@pytest.mark.parametrize("number", [S.SIGSEGV, S.SIGILL])
def test_tini_and_native_leave_faults_to_the_kernel(
    init: InitFactory, program: ProgramPath, which: str, number: int
) -> None:
    """tini does not catch the fault signals: a SEGV sent to it ends it as the
    kernel's default does (not PID 1); native mode keeps the same safe set."""
    env = {"TINI_SUBREAPER": "1"}
    if which == "native":
        run = init("--", *program("trap_all"), pid1=False, env=env, preexec_fn=_no_core_dumps)
    else:
        trap_all = program("trap_all")
        run = _tool(init, "tini", which, "--", *trap_all, env=env, preexec_fn=_no_core_dumps)
    assert run.read_line() == "ready"
    children = [c.pid for c in psutil.Process(run.outer_pid).children()]
    try:
        run.signal(number)
        assert run.process is not None
        # Not run.wait(): the orphaned main process still holds the output pipes.
        assert run.process.wait(timeout=30) == -number
    finally:
        _kill_all(children)


# ---- job control (dumb-init) ----------------------------------------------------
@pytest.mark.parametrize("which", IMPLEMENTATIONS)
@pytest.mark.parametrize("number", _TTY_STOPS)
@pytest.mark.parametrize(
    ("args", "child_line"),
    [([], None), (["-r", "20:10", "-r", "21:10", "-r", "22:10"], "got 10"), (["-c"], "same")],
    ids=["setsid", "rewritten", "single-child"],
)
def test_dumb_init_tty_signals_stop_the_child_then_itself(
    init: InitFactory,
    program: ProgramPath,
    which: str,
    number: int,
    args: list[str],
    child_line: str | None,
) -> None:
    """setsid: the group gets SIGSTOP (or what -r says), then dumb-init stops
    itself; -c: the signal itself goes to the child. CONT resumes both."""
    run = _tool(init, "dumb-init", which, *args, *program("trap_all"))
    assert run.read_line() == "ready"
    child = psutil.Process(run.outer_pid).children()[0].pid
    run.signal(number)
    if child_line is None:
        _wait_for(lambda: _stopped(child), "the child to stop")
    else:
        assert run.read_line() == (f"got {number}" if child_line == "same" else child_line)
    _wait_for(lambda: _stopped(run.outer_pid), "dumb-init to stop itself")
    run.signal(signal.SIGCONT)
    assert run.read_line() == "got 18"
    assert not _stopped(run.outer_pid) and not _stopped(child)
    run.signal(signal.SIGTERM)
    assert run.read_line() == "got 15"
    assert run.wait() == 0


# ---- terminal hand-off (dumb-init) -----------------------------------------------
def _take_terminal() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_dumb_init_hands_its_terminal_to_the_child(init: InitFactory, which: str) -> None:
    master, slave = os.openpty()
    try:
        run = _tool(
            init,
            "dumb-init",
            which,
            "-v",
            "sh",
            "-c",
            "cut -d' ' -f7 /proc/self/stat",
            stdin=slave,
            preexec_fn=_take_terminal,
        )
        assert run.wait() == 0
        # The child (cut, in sh's session) has our terminal as its own.
        assert run.stdout.decode().split() == [str(os.fstat(slave).st_rdev)]
        err = run.stderr.decode()
        assert "Ignoring tty hand-off signal 1." in err
        assert "Ignoring tty hand-off signal 18." in err
        assert "Forwarded signal 1 to children." not in err
        assert "Forwarded signal 18 to children." not in err
    finally:
        os.close(master)
        os.close(slave)


# ---- working directory (dumb-init) -----------------------------------------------
@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_dumb_init_leaves_its_directory_and_the_child_keeps_it(
    init: InitFactory, which: str, tmp_path: Path
) -> None:
    # The real dumb-init changes directory after forking: a child this quick
    # may see the old one (hence its retries); ours leaves before the fork.
    script = "readlink /proc/$PPID/cwd; pwd -P"
    run = _tool(init, "dumb-init", which, "sh", "-c", script, cwd=str(tmp_path))
    assert run.wait() == 0
    assert run.stdout.decode().splitlines() == ["/", str(tmp_path.resolve())]


# ---- signal state of the main process ----------------------------------------------
def _parent_ignores_and_blocks() -> None:
    """What tini's own test parent does: some signals ignored, some blocked."""
    for number in (S.SIGINT, S.SIGSEGV, S.SIGTTOU, S.SIGRTMIN):
        signal.signal(number, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {S.SIGTERM, S.SIGILL, S.SIGTTIN})


def _signal_state(run: InitRun) -> list[str]:
    assert run.wait() == 0
    return [line for line in run.stdout.decode().splitlines() if line.startswith("Sig")]


@pytest.mark.parametrize(
    ("tool", "args"),
    [("tini", ["-s", "--"]), ("dumb-init", []), ("dumb-init", ["-c"])],
    ids=["tini", "dumb-init", "dumb-init-c"],
)
def test_main_process_starts_with_the_signal_state_the_tool_gives(
    init: InitFactory, tool: str, args: list[str]
) -> None:
    command = [*args, "grep", "^Sig[BIC]", "/proc/self/status"]
    states = [
        _signal_state(_tool(init, tool, which, *command, preexec_fn=_parent_ignores_and_blocks))
        for which in ("real", "ours")
    ]
    assert states[0] == states[1]


def test_native_main_process_gets_what_tini_gives(init: InitFactory) -> None:
    """Native mode inherits like tini; signals 32 and 33 are never left ignored."""
    command = ["grep", "^Sig[BIC]", "/proc/self/status"]
    native = init("--", *command, pid1=False, preexec_fn=_parent_ignores_and_blocks)
    real = _tool(init, "tini", "real", "-s", "--", *command, preexec_fn=_parent_ignores_and_blocks)
    assert _signal_state(native) == _signal_state(real)
    plain = init("--", *command, pid1=False)
    ignored = next(line for line in _signal_state(plain) if line.startswith("SigIgn"))
    assert int(ignored.split()[1], 16) & (3 << 31) == 0


# ---- group signalling (dumb-init) ------------------------------------------------
@pytest.mark.parametrize("which", IMPLEMENTATIONS)
@pytest.mark.parametrize("mode", ["setsid", "-c", "DUMB_INIT_SETSID=0"])
def test_dumb_init_term_reaches_the_pipelines_only_in_setsid_mode(
    init: InitFactory, which: str, mode: str
) -> None:
    args = ["-c"] if mode == "-c" else []
    env = {"DUMB_INIT_SETSID": "0"} if mode.startswith("DUMB") else {}
    script = "yes a | tail & yes b | tail >&2"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    run = _tool(init, "dumb-init", which, *args, "sh", "-c", script, env=env, **quiet)
    tree: list[int] = []

    def five_below() -> bool:
        nonlocal tree
        tree = [p.pid for p in psutil.Process(run.outer_pid).children(recursive=True)]
        return len(_living(tree)) == 5

    try:
        _wait_for(five_below, "sh and both pipelines")
        run.signal(signal.SIGTERM)
        assert run.wait() == 128 + signal.SIGTERM  # dumb-init exits with the shell
        if mode == "setsid":
            _wait_for(lambda: not _living(tree), "the whole group to die")
        else:
            shell = min(tree)  # started first: sh, whose pid is the lowest of the five
            _wait_for(lambda: shell not in _living(tree), "the shell to die")
            assert len(_living(tree)) == 4
    finally:
        _kill_all(tree)


# ---- messages ---------------------------------------------------------------------
def _folder(tool: str, which: str) -> str:
    """Where ``tool`` is found on PATH: Debian's, or our launcher of that name."""
    if which == "real":
        return str(Path(shutil.which(tool) or f"/usr/bin/{tool}").parent)
    from tests.launcher import build

    return str(build(Path(f"/tmp/guestinit-test-{os.getpid()}"), tool).parent)


def _by_name(
    tool: str, which: str, args: list[str], env: dict[str, str], runner: list[str] | None = None
) -> tuple[int, str, str]:
    """``tool`` found on PATH and run by its bare name, so argv[0] is exactly
    what a user types (``runner``: a command that execs it by name); returns
    the exit code, stdout and stderr with numbers (pids) replaced by N. These
    runs end by themselves at once."""
    import re

    path = f"{_folder(tool, which)}:{os.environ.get('PATH', os.defpath)}"
    full_env = {**os.environ, "GUESTINIT_PROCSHIM": "off", **env, "PATH": path}
    done = subprocess.run(
        [*(runner or []), tool, *args],
        env=full_env,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    out, err = (re.sub(r"\d+", "N", text.decode()) for text in (done.stdout, done.stderr))
    return done.returncode, out, err


@pytest.mark.parametrize(
    "args",
    [[], ["--yolo", "true"], ["-r", "1:99", "true"], ["/no/such/program"], ["-c"]],
    ids=["usage", "bad-option", "bad-rewrite", "not-found", "usage-c"],
)
def test_dumb_init_messages_name_argv0_as_typed(args: list[str]) -> None:
    assert _by_name("dumb-init", "ours", args, {}) == _by_name("dumb-init", "real", args, {})


def _child_lines(text: str) -> tuple[list[str], list[str]]:
    """dumb-init's child and parent race to print after the fork: split the
    child's lines (their order against the parent's is not defined) off."""
    child = ("[dumb-init] setsid complete.", "[dumb-init] Unable to attach")
    lines = text.splitlines()
    parent = [line for line in lines if not line.startswith(child)]
    return parent, sorted(line for line in lines if line.startswith(child))


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["-v", "true"], {}),
        (["-v", "-c", "sh", "-c", "exit 3"], {}),
        (["-v", "-r", "15:3", "sh", "-c", "kill -TERM $$"], {}),
        (["sh", "-c", "exit 4"], {"DUMB_INIT_DEBUG": "1", "DUMB_INIT_SETSID": "0"}),
    ],
    ids=["v", "v-c", "v-rewrite", "env"],
)
def test_dumb_init_debug_lines(args: list[str], env: dict[str, str]) -> None:
    real = _by_name("dumb-init", "real", args, env)
    ours = _by_name("dumb-init", "ours", args, env)
    assert ours[:2] == real[:2]
    assert _child_lines(ours[2]) == _child_lines(real[2])


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["-vvv", "-s", "--", "sh", "-c", "exit 3"], {}),
        (["-s", "--", "true"], {"TINI_VERBOSITY": "3"}),
        (["-vvv", "--", "true"], {"TINI_VERBOSITY": "1"}),
        (["-w", "-s", "--", "sh", "-c", "(true &); sleep 0.5"], {}),
        (["-p", "junk", "--", "true"], {}),
        (["--", "/no/such/program"], {}),
    ],
    ids=["vvv", "env-3", "env-beats-v", "warn-on-reap", "bad-p", "not-found"],
)
def test_tini_trace_lines_and_warnings(args: list[str], env: dict[str, str]) -> None:
    assert _by_name("tini", "ours", args, env) == _by_name("tini", "real", args, env)


def test_tini_no_warning_when_whoever_ran_it_made_it_a_subreaper() -> None:
    """A parent that set PR_SET_CHILD_SUBREAPER and then exec'd tini (the bit
    survives exec): tini checks the bit and says nothing."""
    import sys

    proxy = (
        "import ctypes, os, sys; ctypes.CDLL(None).prctl(36, 1, 0, 0, 0); "
        "os.execvp(sys.argv[1], sys.argv[1:])"
    )
    runner = [sys.executable, "-c", proxy]
    real = _by_name("tini", "real", ["--", "true"], {}, runner)
    assert real == (0, "", "")
    assert _by_name("tini", "ours", ["--", "true"], {}, runner) == real
