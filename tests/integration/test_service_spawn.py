"""Real service spawns: the child's identity, limits, streams and
descriptors as the kernel reports them (/proc), and exec failures as systemd's
exit codes. The test process waits for its own children here (fine in tests;
in guestinit only the reaper waits)."""

import errno
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestinit.service.exec_env import (
    DEFAULT_PATH,
    ExecContext,
    StdioFd,
    StdioFile,
    StdioInherit,
    StdioNull,
)
from guestinit.service.spawn import (
    SpawnError,
    SpawnHandle,
    parse_report,
    read_spawn_error,
    resolve_user,
    spawn_service,
)

BASE = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"}
PYTHON = sys.executable


def restore() -> None:
    """What SignalSource.restore_in_child does for a process without handlers."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def wait_exec(handle: SpawnHandle, timeout: float = 10) -> SpawnError | None:
    """Block (test only) until the child exec'd or failed; close the pipe."""
    try:
        ready, _, _ = select.select([handle.error_fd], [], [], timeout)
        assert ready, "no exec and no failure report"
        return read_spawn_error(handle.error_fd)
    finally:
        os.close(handle.error_fd)


def wait_exit(pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        assert time.monotonic() < deadline, f"child {pid} did not exit"
        time.sleep(0.01)


def run(ctx: ExecContext, base: dict[str, str] | None = None) -> tuple[int, SpawnError | None]:
    handle = spawn_service(ctx, restore, BASE if base is None else base)
    error = wait_exec(handle)
    return wait_exit(handle.pid), error


@pytest.fixture
def running() -> Iterator[list[int]]:
    """Long-lived children to inspect through /proc; killed and reaped after."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def start(ctx: ExecContext, running: list[int], base: dict[str, str] | None = None) -> int:
    handle = spawn_service(ctx, restore, BASE if base is None else base)
    running.append(handle.pid)
    assert wait_exec(handle) is None
    return handle.pid


def status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise KeyError(name)


def sleeper(**fields: object) -> ExecContext:
    return ExecContext(("/bin/sleep", "60"), **fields)  # type: ignore[arg-type]


def python(code: str, out: Path, **fields: object) -> ExecContext:
    """A Python child whose stdout goes to ``out``."""
    return ExecContext(
        (PYTHON, "-I", "-c", code),
        stdout=StdioFile(str(out), "truncate"),
        **fields,  # type: ignore[arg-type]
    )


# ---- success and exec failures ------------------------------------------------------
def test_exec_success_is_eof_without_report() -> None:
    assert run(ExecContext(("/bin/true",))) == (0, None)


def test_command_found_through_path() -> None:
    assert run(ExecContext(("true",))) == (0, None)
    assert run(ExecContext(("false",))) == (1, None)


def test_missing_executable_is_203_enoent() -> None:
    code, error = run(ExecContext(("/nonexistent/daemon", "--flag")))
    assert code == 203
    assert error is not None
    assert (error.exit_code, error.errno, error.step) == (203, errno.ENOENT, "exec")
    assert error.detail == "/nonexistent/daemon"
    assert error.describe() == "exec /nonexistent/daemon: No such file or directory"


def test_missing_command_on_path_is_203_enoent() -> None:
    code, error = run(ExecContext(("guestinit-no-such-command",)))
    assert (code, error and error.errno) == (203, errno.ENOENT)


def test_not_executable_is_203_eacces(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\nexit 0\n")
    code, error = run(ExecContext((str(script),)))
    assert (code, error and error.errno) == (203, errno.EACCES)


def test_no_shell_fallback_without_hashbang(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("exit 0\n")
    script.chmod(0o755)
    code, error = run(ExecContext((str(script),)))
    assert (code, error and error.errno) == (203, errno.ENOEXEC)


def test_path_differs_from_argv0(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ctx = ExecContext(
        ("renamed", "-c", 'echo "$0"'), path="/bin/sh", stdout=StdioFile(str(out), "truncate")
    )
    assert run(ctx) == (0, None)
    assert out.read_text() == "renamed\n"


def test_empty_command_is_reported_not_raised() -> None:
    code, error = run(ExecContext(()))
    assert (code, error and error.errno) == (203, errno.EINVAL)


# ---- identity ----------------------------------------------------------------------------
def test_user_nobody(running: list[int]) -> None:
    pid = start(sleeper(user="nobody"), running)
    assert status_field(pid, "Uid").split() == ["65534"] * 4
    assert status_field(pid, "Gid").split() == ["65534"] * 4
    assert status_field(pid, "Groups").split() == ["65534"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"USER=nobody" in environ
    assert b"LOGNAME=nobody" in environ
    assert b"HOME=/nonexistent" in environ


def test_group_and_supplementary_groups(running: list[int]) -> None:
    pid = start(
        sleeper(user="nobody", group="daemon", supplementary_groups=("sys", "adm")), running
    )
    assert status_field(pid, "Gid").split() == ["1"] * 4
    assert sorted(status_field(pid, "Groups").split(), key=int) == ["1", "3", "4"]


def test_root_keeps_no_user_variables(running: list[int]) -> None:
    pid = start(sleeper(), running, base={"PATH": "/usr/bin:/bin"})
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not [v for v in environ if v.startswith((b"USER=", b"HOME=", b"LOGNAME="))]


def test_unknown_user_is_217_esrch() -> None:
    code, error = run(ExecContext(("/bin/true",), user="guestinit-no-such-user"))
    assert code == 217
    assert error is not None
    assert (error.errno, error.step, error.detail) == (
        errno.ESRCH,
        "user",
        "guestinit-no-such-user",
    )
    assert error.describe() == "user guestinit-no-such-user: No such process"


def test_unknown_group_is_216_esrch() -> None:
    code, error = run(ExecContext(("/bin/true",), user="nobody", group="guestinit-no-group"))
    assert (code, error and error.errno) == (216, errno.ESRCH)
    code, error = run(ExecContext(("/bin/true",), supplementary_groups=("guestinit-no-group",)))
    assert (code, error and error.errno) == (216, errno.ESRCH)


def test_resolve_user() -> None:
    nobody = resolve_user("nobody", None, ())
    assert (nobody.uid, nobody.gid, nobody.groups) == (65534, 65534, (65534,))
    assert resolve_user("65534", None, ()) == nobody
    root = resolve_user("root", None, ())
    assert (root.uid, root.gid, root.groups) == (0, 0, None)  # root keeps our groups
    assert resolve_user("root", None, ("adm",)).groups == (0, 4)
    assert resolve_user(None, "daemon", ()).uid is None
    assert resolve_user(None, None, ()).home == "/root"


# ---- umask, limits, nice, session, signals --------------------------------------------------
def test_umask_limits_nice_session(running: list[int]) -> None:
    ctx = sleeper(
        umask=0o027,
        nice=7,
        rlimits={"NOFILE": (123, 456), "CORE": (None, None), "NPROC": (100, 200)},
    )
    pid = start(ctx, running)
    assert status_field(pid, "Umask") == "0027"
    limits = Path(f"/proc/{pid}/limits").read_text()
    assert "Max open files            123                  456" in limits
    assert "Max core file size        unlimited            unlimited" in limits
    assert "Max processes             100                  200" in limits
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    assert int(fields[16]) == 7  # field 19 of stat(5): nice
    assert os.getsid(pid) == pid
    assert os.getpgid(pid) == pid


def test_signals_and_sigpipe(running: list[int]) -> None:
    sigpipe_bit = 1 << (signal.SIGPIPE - 1)
    ignoring = start(sleeper(), running)
    assert int(status_field(ignoring, "SigIgn"), 16) & sigpipe_bit
    assert int(status_field(ignoring, "SigBlk"), 16) == 0
    default = start(sleeper(ignore_sigpipe=False), running)
    assert not int(status_field(default, "SigIgn"), 16) & sigpipe_bit


def test_limit_above_the_hard_limit_gets_as_close_as_allowed(running: list[int]) -> None:
    """A hard limit that may not be raised (no CAP_SYS_RESOURCE, or past
    fs.nr_open, which binds root too) is capped at the current hard limit, as
    systemd does, instead of failing the start."""
    hard_now = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nr_open = int(Path("/proc/sys/fs/nr_open").read_text())
    pid = start(sleeper(rlimits={"NOFILE": (nr_open + 1, nr_open + 1)}), running)
    line = next(
        x for x in Path(f"/proc/{pid}/limits").read_text().splitlines() if "open files" in x
    )
    assert line.split()[3:5] == [str(hard_now), str(hard_now)]


def test_bad_limit_is_205() -> None:
    code, error = run(ExecContext(("/bin/true",), rlimits={"BOGUS": (1, 1)}))
    assert (code, error and error.errno) == (205, errno.EINVAL)
    code, error = run(ExecContext(("/bin/true",), rlimits={"NOFILE": (10, 5)}))
    assert (code, error and error.errno, error and error.detail) == (
        205,
        errno.EINVAL,
        "LimitNOFILE= soft limit above hard limit",
    )


# ---- working directory ----------------------------------------------------------------------
def test_working_directory(running: list[int], tmp_path: Path) -> None:
    pid = start(sleeper(working_directory=str(tmp_path)), running)
    assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path)
    unset = start(sleeper(), running)
    assert os.readlink(f"/proc/{unset}/cwd") == "/"
    home = start(sleeper(working_directory="~"), running)
    assert os.readlink(f"/proc/{home}/cwd") == resolve_user(None, None, ()).home


def test_missing_working_directory(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    code, error = run(ExecContext(("/bin/true",), working_directory=missing))
    assert code == 200
    assert error is not None
    assert (error.errno, error.step, error.detail) == (errno.ENOENT, "chdir", missing)
    out = tmp_path / "out"
    ctx = ExecContext(
        ("/bin/sh", "-c", "pwd"),
        working_directory="-" + missing,
        stdout=StdioFile(str(out), "truncate"),
    )
    assert run(ctx) == (0, None)
    assert out.read_text() == "/\n"


def test_home_of_nobody_is_missing() -> None:
    code, error = run(ExecContext(("/bin/true",), user="nobody", working_directory="~"))
    assert (code, error and error.detail) == (200, "/nonexistent")
    assert run(ExecContext(("/bin/true",), user="nobody", working_directory="-~")) == (0, None)


def test_working_directory_only_the_user_may_enter() -> None:
    """chdir happens after the user switch, as in systemd."""
    folder = tempfile.mkdtemp(prefix="guestinit-cwd-")  # pytest's tmp_path is 0700
    try:
        os.chmod(folder, 0o755)
        private = os.path.join(folder, "private")
        os.mkdir(private, mode=0o700)
        os.chown(private, 65534, 65534)
        ctx = ExecContext(("/bin/true",), user="nobody", working_directory=private)
        assert run(ctx) == (0, None)
        code, error = run(ExecContext(("/bin/true",), user="daemon", working_directory=private))
        assert (code, error and error.errno) == (200, errno.EACCES)
    finally:
        shutil.rmtree(folder)


# ---- environment -----------------------------------------------------------------------------
def test_environment(running: list[int]) -> None:
    ctx = sleeper(
        environment={"FOO": "bar baz", "LANG": "C"},
        notify_socket="/run/guestinit/notify.sock",
        invocation_id="ab" * 16,
    )
    base = {**BASE, "BASE": "1", "NOTIFY_SOCKET": "/run/parent.sock", "LISTEN_FDS": "3"}
    pid = start(ctx, running, base=base)
    raw = Path(f"/proc/{pid}/environ").read_bytes().rstrip(b"\0").split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw)
    assert env == {
        "PATH": DEFAULT_PATH,
        "LANG": "C",
        "BASE": "1",
        "FOO": "bar baz",
        "NOTIFY_SOCKET": "/run/guestinit/notify.sock",
        "INVOCATION_ID": "ab" * 16,
        "SYSTEMD_EXEC_PID": str(pid),
    }


# ---- standard streams --------------------------------------------------------------------------
def test_stdout_append_and_stderr_inherit(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("old\n")
    ctx = ExecContext(
        ("/bin/sh", "-c", "echo out; echo err >&2"),
        stdout=StdioFile(str(log), "append"),
        stderr=StdioInherit(),
    )
    assert run(ctx) == (0, None)
    assert log.read_text() == "old\nout\nerr\n"
    assert run(ctx) == (0, None)
    assert log.read_text() == "old\nout\nerr\nout\nerr\n"


def test_stdout_truncate_and_file_modes(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("a much longer old line\n")
    assert run(ExecContext(("/bin/echo", "new"), stdout=StdioFile(str(log), "truncate"))) == (
        0,
        None,
    )
    assert log.read_text() == "new\n"
    # file: writes from the start without truncating, as systemd's file: does.
    log.write_text("0123456789\n")
    assert run(ExecContext(("/bin/echo", "ab"), stdout=StdioFile(str(log)))) == (0, None)
    assert log.read_text() == "ab\n3456789\n"
    created = tmp_path / "created"
    ctx = ExecContext(("/bin/true",), stdout=StdioFile(str(created)), umask=0o077)
    assert run(ctx) == (0, None)
    assert created.stat().st_mode & 0o777 == 0o600


def test_stdin_from_file_and_null(tmp_path: Path) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    source.write_text("hello\n")
    ctx = ExecContext(
        ("/bin/cat",), stdin=StdioFile(str(source), "read"), stdout=StdioFile(str(out), "truncate")
    )
    assert run(ctx) == (0, None)
    assert out.read_text() == "hello\n"
    ctx = ExecContext(
        ("/bin/sh", "-c", "cat; echo done"),
        stdin=StdioNull(),
        stdout=StdioFile(str(out), "truncate"),
    )
    assert run(ctx) == (0, None)
    assert out.read_text() == "done\n"


def test_stdout_to_a_pipe_fd_and_stderr_to_null() -> None:
    read_end, write_end = os.pipe()
    try:
        ctx = ExecContext(
            ("/bin/sh", "-c", "echo to-pipe; echo hidden >&2"),
            stdout=StdioFd(write_end),
            stderr=StdioNull(),
        )
        assert run(ctx) == (0, None)
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"to-pipe\n"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_unopenable_stdout_is_209(tmp_path: Path) -> None:
    target = str(tmp_path / "no" / "such" / "dir" / "log")
    code, error = run(ExecContext(("/bin/true",), stdout=StdioFile(target, "append")))
    assert (code, error and error.errno, error and error.step) == (209, errno.ENOENT, "stdout")
    code, error = run(ExecContext(("/bin/true",), stderr=StdioFile(target, "append")))
    assert (code, error and error.step) == (222, "stderr")
    code, error = run(ExecContext(("/bin/true",), stdin=StdioFile(target, "read")))
    assert (code, error and error.step) == (208, "stdin")


# ---- descriptors -----------------------------------------------------------------------------
FD_REPORT = """
import fcntl, os
open_fds = []
for fd in range(1024):
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        continue
    open_fds.append(f"{fd}{'c' if flags & fcntl.FD_CLOEXEC else ''}")
print(" ".join(open_fds))
print(os.environ.get("LISTEN_PID") == str(os.getpid()), os.environ.get("LISTEN_FDS"))
print(os.environ.get("LISTEN_FDNAMES"))
os.write(3, b"via fd 3")
"""


def test_listen_fds_are_3_and_up_and_nothing_else_leaks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    read_end, write_end = os.pipe()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Inheritable descriptors of ours: without the closing step they would leak.
    leaks = [os.open("/dev/null", os.O_RDONLY) for _ in range(5)]
    for fd in leaks:
        os.set_inheritable(fd, True)
    try:
        ctx = python(
            FD_REPORT,
            out,
            listen_fds=(write_end, listener.fileno()),
            listen_fdnames=("pipe", "listener"),
        )
        assert run(ctx) == (0, None)
        lines = out.read_text().splitlines()
        assert lines == ["0 1 2 3 4", "True 2", "pipe:listener"]
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"via fd 3"
    finally:
        listener.close()
        for fd in [read_end, *leaks] + ([write_end] if write_end >= 0 else []):
            os.close(fd)


def test_listen_fds_in_any_order(tmp_path: Path) -> None:
    """Sources may sit where another target goes; order is kept."""
    out = tmp_path / "out"
    first_r, first_w = os.pipe()
    second_r, second_w = os.pipe()
    try:
        code = "import os; os.write(3, b'three'); os.write(4, b'four')"
        assert run(python(code, out, listen_fds=(second_w, first_w))) == (0, None)
        assert os.read(second_r, 10) == b"three"
        assert os.read(first_r, 10) == b"four"
    finally:
        for fd in (first_r, first_w, second_r, second_w):
            os.close(fd)


def test_no_listen_variables_without_fds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = "import os; print(sorted(k for k in os.environ if k.startswith('LISTEN_')))"
    assert run(python(code, out)) == (0, None)
    assert out.read_text() == "[]\n"


def test_parent_is_not_blocked_and_error_fd_is_nonblocking() -> None:
    handle = spawn_service(ExecContext(("/bin/sleep", "0.3")), restore, BASE)
    try:
        assert os.get_blocking(handle.error_fd) is False
        start_time = time.monotonic()
        assert wait_exec(handle) is None  # EOF at exec, long before the exit
        assert time.monotonic() - start_time < 0.3
    finally:
        assert wait_exit(handle.pid) == 0


def test_read_before_readable_is_not_success() -> None:
    read_end, write_end = os.pipe2(os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError):
            read_spawn_error(read_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_parse_report() -> None:
    assert parse_report(b"203 2 /usr/sbin/sshd\n") == SpawnError(203, 2, "/usr/sbin/sshd")
    assert parse_report(b"200 13 /srv/my dir\n") == SpawnError(200, 13, "/srv/my dir")
    assert parse_report(b"217 3 \n") == SpawnError(217, 3, "")
    assert parse_report(b"garbage") == SpawnError(1, 0, "garbage")
    assert SpawnError(1, 0, "x").step == "failure"
    assert SpawnError(999, 0, "").describe() == "failure: failed"
