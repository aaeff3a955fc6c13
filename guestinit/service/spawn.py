"""Start a service process: fork, set the child up as systemd.exec(5) says,
exec (never ``subprocess``, whose wait would race the reaper).

Everything that may block or needs NSS (user and group lookups) happens in
the parent before the fork; the child only makes system calls. Signals are
blocked across the fork, as in ``pid1.spawn``, so none of our handlers runs in
the child; ``signals_restore`` (the caller's) resets them just before exec.

The parent never waits for the child. A failing child writes one line
``<exit code> <errno> <detail>`` to a close-on-exec pipe and exits with
systemd's code for the failed step (203 EXEC, 200 CHDIR, 217 USER, ...). The
loop watches the pipe's read end: data is the failure, EOF alone means exec
succeeded. A lookup that fails in the parent (unknown User=) takes the same
road through a child that reports at once, so the manager handles one kind of
failure, exactly as systemd shows it (``status=217/USER``).
"""

import errno
import fcntl
import grp
import os
import pwd
import resource
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import NoReturn

from guestinit._sig import sig
from guestinit.service.exec_env import (
    ExecContext,
    ExitCode,
    Stdio,
    StdioFd,
    StdioFile,
    StdioInherit,
    UserInfo,
    add_pid_variables,
    build_environment,
    check_context,
    exec_candidates,
    resolve_working_directory,
)

# One report line stays below PIPE_BUF, so the child's single write is atomic.
_REPORT_MAX = 1024
_FILE_FLAGS = {
    "read": os.O_RDONLY,
    "write": os.O_WRONLY | os.O_CREAT,
    "truncate": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "append": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
}
_STDIO_CODES = (ExitCode.STDIN, ExitCode.STDOUT, ExitCode.STDERR)
# execvp's rule: these mean "not in this folder", so the search goes on.
_TRY_NEXT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ESTALE, errno.ENODEV, errno.ETIMEDOUT})


@dataclass(frozen=True)
class SpawnHandle:
    """A started child. ``error_fd`` (non-blocking, close-on-exec) becomes
    readable when the child has exec'd (EOF) or failed (a report); register it
    with the loop, call ``read_spawn_error`` then, and close it."""

    pid: int
    error_fd: int


@dataclass(frozen=True)
class SpawnError:
    """Why a child never ran its command."""

    exit_code: int
    errno: int
    detail: str

    @property
    def step(self) -> str:
        try:
            return ExitCode(self.exit_code).name.lower()
        except ValueError:
            return "failure"

    def describe(self) -> str:
        reason = os.strerror(self.errno) if self.errno else "failed"
        where = f" {self.detail}" if self.detail else ""
        return f"{self.step}{where}: {reason}"


class SetupFailed(Exception):
    """A step of setting up the child failed (or would, found in the parent)."""

    def __init__(self, exit_code: ExitCode, error: int, detail: str = "") -> None:
        super().__init__(exit_code, error, detail)
        self.exit_code = exit_code
        self.errno = error
        self.detail = detail


def spawn_service(
    ctx: ExecContext,
    signals_restore: Callable[[], None],
    base_environment: Mapping[str, str] | None = None,
) -> SpawnHandle:
    """Fork and exec ``ctx``; never waits. ``base_environment`` is the
    manager's environment (default: ours). Raises OSError only when fork or
    pipe creation fails; every other failure is reported by the child."""
    plan = _prepare(ctx, os.environ if base_environment is None else base_environment)
    read_fd, write_fd = _pipe_above_stdio()
    blocked = sig.pthread_sigmask(sig.SIG_BLOCK, sig.valid_signals())
    try:
        pid = os.fork()
        if pid == 0:
            _become_service(plan, write_fd, signals_restore)  # never returns
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    finally:
        sig.pthread_sigmask(sig.SIG_SETMASK, blocked)
    os.close(write_fd)
    return SpawnHandle(pid, read_fd)


def read_spawn_error(fd: int) -> SpawnError | None:
    """The child's failure report, or None when it exec'd (EOF, no data).

    Call it once ``fd`` is readable: the report is written in one atomic
    write, so a readable pipe holds all of it or none. Called earlier, it
    raises BlockingIOError, because "nothing yet" is not "success".
    """
    data = os.read(fd, _REPORT_MAX * 2)
    if not data:
        return None
    return parse_report(data)


def parse_report(data: bytes) -> SpawnError:
    text = data.decode("utf-8", "replace").rstrip("\n")
    code, _, rest = text.partition(" ")
    number, _, detail = rest.partition(" ")
    if not (code.isdigit() and number.isdigit()):
        return SpawnError(int(ExitCode.FAILURE), 0, text)
    return SpawnError(int(code), int(number), detail)


def resolve_user(user: str | None, group: str | None, supplementary: tuple[str, ...]) -> UserInfo:
    """User=, Group=, SupplementaryGroups= -> ids, home and shell (NSS
    lookups: parent only). Unknown names raise SetupFailed with ESRCH, as
    systemd reports them (217/USER, 216/GROUP)."""
    entry = _passwd(user) if user is not None else None
    gid = _group_id(group) if group is not None else (entry.pw_gid if entry else None)
    groups: list[int] | None = None
    # Root keeps the manager's groups unless told otherwise (no NSS call for it).
    if entry is not None and entry.pw_uid != 0 and gid is not None:
        try:
            groups = os.getgrouplist(entry.pw_name, gid)
        except OSError as error:
            raise SetupFailed(ExitCode.GROUP, error.errno or errno.EIO, entry.pw_name) from None
    if supplementary:
        base = groups if groups is not None else ([gid] if gid is not None else [])
        groups = base + [_group_id(name) for name in supplementary]
    return UserInfo(
        name=entry.pw_name if entry else None,
        uid=entry.pw_uid if entry else None,
        gid=gid,
        home=entry.pw_dir if entry else _root_home(),
        shell=entry.pw_shell if entry else None,
        groups=tuple(dict.fromkeys(groups)) if groups is not None else None,
    )


def new_invocation_id() -> str:
    """128 random bits in hex, the form of systemd's $INVOCATION_ID."""
    return os.urandom(16).hex()


# ---- parent side ------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    ctx: ExecContext
    env: dict[str, str] = field(default_factory=dict)
    user: UserInfo | None = None
    cwd: str = "/"
    cwd_missing_ok: bool = False
    failure: SetupFailed | None = None


def _prepare(ctx: ExecContext, base: Mapping[str, str]) -> _Plan:
    problems = check_context(ctx)
    if problems:
        code, text = problems[0]
        return _Plan(ctx, failure=SetupFailed(code, errno.EINVAL, text))
    try:
        user = resolve_user(ctx.user, ctx.group, ctx.supplementary_groups)
    except SetupFailed as failure:
        return _Plan(ctx, failure=failure)
    try:
        cwd, missing_ok = resolve_working_directory(ctx.working_directory, user.home)
    except ValueError as error:
        return _Plan(ctx, failure=SetupFailed(ExitCode.CHDIR, errno.EINVAL, str(error)))
    env = build_environment(base, ctx, user)
    return _Plan(ctx, env, user, cwd, missing_ok)


def _pipe_above_stdio() -> tuple[int, int]:
    """A pipe whose ends are not 0, 1 or 2 (possible when our own standard
    streams are closed): the child overwrites those with its stdio."""
    ends = []
    for fd in os.pipe2(os.O_CLOEXEC):
        if fd >= 3:
            ends.append(fd)
            continue
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3))
        os.close(fd)
    os.set_blocking(ends[0], False)
    return ends[0], ends[1]


def _passwd(user: str) -> pwd.struct_passwd:
    try:
        if user.isdigit():
            return pwd.getpwuid(int(user))
        return pwd.getpwnam(user)
    except (KeyError, OverflowError):
        raise SetupFailed(ExitCode.USER, errno.ESRCH, user) from None


def _group_id(group: str) -> int:
    try:
        if group.isdigit():
            return grp.getgrgid(int(group)).gr_gid
        return grp.getgrnam(group).gr_gid
    except (KeyError, OverflowError):
        raise SetupFailed(ExitCode.GROUP, errno.ESRCH, group) from None


def _root_home() -> str:
    try:
        return pwd.getpwuid(0).pw_dir
    except KeyError:
        return "/root"


# ---- child side -------------------------------------------------------------------
class _Child:
    """Where the report pipe is now (the child moves it while placing fds)."""

    def __init__(self, error_fd: int) -> None:
        self.error_fd = error_fd


def _become_service(plan: _Plan, error_fd: int, signals_restore: Callable[[], None]) -> NoReturn:
    child = _Child(error_fd)
    code = int(ExitCode.FAILURE)
    try:
        if plan.failure is not None:
            raise plan.failure
        env = _set_up(plan, child)
        with _step(ExitCode.SIGNAL_MASK):
            signals_restore()
            sig.signal(sig.SIGPIPE, sig.SIG_IGN if plan.ctx.ignore_sigpipe else sig.SIG_DFL)
        _exec(plan.ctx, env)
    except SetupFailed as failure:
        code = int(failure.exit_code)
        _report(child.error_fd, code, failure.errno, failure.detail)
    except BaseException as error:
        _report(child.error_fd, code, 0, f"{type(error).__name__}: {error}")
    finally:
        os._exit(code)


def _set_up(plan: _Plan, child: _Child) -> dict[str, str]:
    """Every step before exec, in systemd's order where it matters: limits and
    nice while still root; chdir after the user switch (the directory may be
    readable by the service user only)."""
    ctx = plan.ctx
    if ctx.cgroup is not None:
        # Join before anything can fork: every descendant is then the unit's.
        procs = os.path.join(ctx.cgroup, "cgroup.procs")
        with _step(ExitCode.CGROUP, ctx.cgroup), open(procs, "w") as joined:
            joined.write("0\n")
    if ctx.setsid:
        with _step(ExitCode.SETSID):
            os.setsid()
    os.umask(ctx.umask)
    with _step(ExitCode.FDS):
        # Out of the way first: stdio must not land on a descriptor we pass on.
        lifted = _lift([*ctx.listen_fds, child.error_fd], floor=3 + len(ctx.listen_fds) + 1)
        child.error_fd = lifted[-1]
    _set_up_stdio(ctx)
    with _step(ExitCode.FDS):
        child.error_fd = _place_fds(lifted[:-1], lifted[-1])
    if ctx.nice is not None:
        with _step(ExitCode.NICE):
            os.setpriority(os.PRIO_PROCESS, 0, ctx.nice)
    for name, (soft, hard) in ctx.rlimits.items():
        with _step(ExitCode.LIMITS, f"Limit{name}="):
            _set_rlimit(getattr(resource, f"RLIMIT_{name}"), _limit(soft), _limit(hard))
    if plan.user is not None:
        _switch_user(plan.user)
    try:
        os.chdir(plan.cwd)
    except OSError as error:
        if not plan.cwd_missing_ok:
            raise SetupFailed(ExitCode.CHDIR, error.errno or errno.EIO, plan.cwd) from None
        # "-" prefix: carry on where systemd's services would be.
        with _step(ExitCode.CHDIR, "/"):
            os.chdir("/")
    return add_pid_variables(dict(plan.env), os.getpid(), bool(ctx.listen_fds))


@contextmanager
def _step(code: ExitCode, detail: str = "") -> Iterator[None]:
    try:
        yield
    except OSError as error:
        where = detail or (str(error.filename) if error.filename is not None else "")
        raise SetupFailed(code, error.errno or errno.EIO, where) from None


def _lift(fds: list[int], floor: int) -> list[int]:
    return [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor) for fd in fds]


def _set_up_stdio(ctx: ExecContext) -> None:
    sources: list[int] = []
    targets = (ctx.stdin, ctx.stdout, ctx.stderr)
    for index, target in enumerate(targets):
        with _step(_STDIO_CODES[index]):
            sources.append(_stdio_source(target, index, sources, ctx.umask))
    for index, source in enumerate(sources):
        with _step(_STDIO_CODES[index]):
            os.dup2(source, index, inheritable=True)


def _stdio_source(target: Stdio, index: int, earlier: list[int], umask: int) -> int:
    """A close-on-exec descriptor >= 3 for stream ``index`` (so that placing
    one stream never overwrites the source of another)."""
    if isinstance(target, StdioInherit):
        if index > 0:
            return earlier[index - 1]  # the same open file, as systemd's inherit
        return fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    if isinstance(target, StdioFd):
        return fcntl.fcntl(target.fd, fcntl.F_DUPFD_CLOEXEC, 3)
    if isinstance(target, StdioFile):
        flags = _FILE_FLAGS[target.mode] | os.O_NOCTTY | os.O_CLOEXEC
        opened = os.open(target.path, flags, 0o666 & ~umask)
    else:
        opened = os.open("/dev/null", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if opened >= 3:
        return opened
    # Our own stream `opened` was closed; it gets overwritten by dup2 below.
    return fcntl.fcntl(opened, fcntl.F_DUPFD_CLOEXEC, 3)


def _place_fds(listen: list[int], error_fd: int) -> int:
    """Passed sockets to 3, 4, ... (inheritable), the report pipe right after
    them (close-on-exec), everything else closed. Returns the pipe's fd."""
    for offset, fd in enumerate(listen):
        os.dup2(fd, 3 + offset, inheritable=True)
    placed = os.dup2(error_fd, 3 + len(listen), inheritable=False)
    _close_from(placed + 1)
    return placed


def _close_from(lowest: int) -> None:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        # No /proc (early boot): close by number up to the descriptor limit.
        os.closerange(lowest, os.sysconf("SC_OPEN_MAX"))
        return
    for name in names:
        fd = int(name)
        if fd >= lowest:
            # One of them is the listing's own descriptor, already closed.
            with suppress(OSError):
                os.close(fd)


def _limit(value: int | None) -> int:
    return resource.RLIM_INFINITY if value is None else value


def _set_rlimit(number: int, soft: int, hard: int) -> None:
    """As systemd does: when a hard limit may not be raised (no
    CAP_SYS_RESOURCE, as in most containers), get as close as allowed."""
    try:
        resource.setrlimit(number, (soft, hard))
        return
    except ValueError:
        pass  # CPython's word for EPERM (and EINVAL, caught in the parent)
    highest = resource.getrlimit(number)[1]
    try:
        resource.setrlimit(number, (_capped(soft, highest), _capped(hard, highest)))
    except ValueError:
        raise OSError(errno.EPERM, "not allowed to raise the limit") from None


def _capped(value: int, highest: int) -> int:
    infinity = resource.RLIM_INFINITY
    if highest == infinity:
        return value
    return highest if value == infinity else min(value, highest)


def _switch_user(user: UserInfo) -> None:
    """Groups before the gid, the gid before the uid: each step needs the
    privilege the next one drops."""
    with _step(ExitCode.GROUP):
        if user.groups is not None:
            os.setgroups(list(user.groups))
        if user.gid is not None:
            os.setgid(user.gid)
    if user.uid is not None:
        with _step(ExitCode.USER):
            os.setuid(user.uid)


def _exec(ctx: ExecContext, env: dict[str, str]) -> NoReturn:
    """execve on the path, or on each PATH candidate like execvp; no shell
    fallback for files without #! (systemd has none either: 203/EXEC)."""
    argv = list(ctx.argv)
    number = errno.ENOENT
    denied = False
    for candidate in exec_candidates(ctx.executable, env.get("PATH")):
        try:
            os.execve(candidate, argv, env)
        except OSError as failure:
            number = failure.errno or errno.EIO
            if number == errno.EACCES:
                denied = True  # remembered, but a later folder may still have it
            elif number not in _TRY_NEXT:
                break
    else:
        if denied:
            number = errno.EACCES
    raise SetupFailed(ExitCode.EXEC, number, ctx.executable)


def _report(fd: int, code: int, number: int, detail: str) -> None:
    # Our reader may be gone: that must cost a failed write, not a SIGPIPE death.
    sig.signal(sig.SIGPIPE, sig.SIG_IGN)
    line = f"{code} {number} {detail}".encode("utf-8", "backslashreplace")
    with suppress(OSError):
        os.write(fd, line[: _REPORT_MAX - 1] + b"\n")
