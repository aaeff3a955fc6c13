"""How one service process is started, as data (pure).

``ExecContext`` says what systemd.exec(5) would: command, environment,
working directory, user and groups, umask, nice, resource limits, standard
streams, SIGPIPE, passed sockets and the notify socket. ``spawn`` turns it into
a process; everything that can be decided without touching the system is
decided here and unit-tested: the environment block, the working directory,
the checks on limits and names, and the exit codes a failing child uses.
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# systemd's PATH for services when the manager's environment has none. It keeps
# /sbin and /bin: many container images do not have a merged /usr.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Variables that describe the manager itself (how *we* were started: socket
# activation, a notify socket, a watchdog). Inherited as they are, they would
# make a service answer our parent, so they never pass from base to service.
MANAGER_PRIVATE = frozenset(
    {
        "NOTIFY_SOCKET",
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        "WATCHDOG_PID",
        "WATCHDOG_USEC",
        "INVOCATION_ID",
        "MAINPID",
        "MANAGERPID",
        "SYSTEMD_EXEC_PID",
        "JOURNAL_STREAM",
    }
)

# LimitCPU= ... LimitRTTIME=: the part after "Limit", which is also the part
# after "RLIMIT_" in <sys/resource.h>.
RLIMIT_NAMES = frozenset(
    {
        "CPU",
        "FSIZE",
        "DATA",
        "STACK",
        "CORE",
        "RSS",
        "NOFILE",
        "AS",
        "NPROC",
        "MEMLOCK",
        "LOCKS",
        "SIGPENDING",
        "MSGQUEUE",
        "NICE",
        "RTPRIO",
        "RTTIME",
    }
)


class ExitCode(enum.IntEnum):
    """The exit status of a child that failed before exec, as systemd.exec(5)
    numbers them, so ``status=203/EXEC`` means the same as under systemd."""

    FAILURE = 1
    CHDIR = 200
    NICE = 201
    FDS = 202
    EXEC = 203
    MEMORY = 204
    LIMITS = 205
    SIGNAL_MASK = 207
    STDIN = 208
    STDOUT = 209
    GROUP = 216
    USER = 217
    CGROUP = 219
    SETSID = 220
    STDERR = 222


# ---- standard streams ---------------------------------------------------------
@dataclass(frozen=True)
class StdioNull:
    """/dev/null."""


@dataclass(frozen=True)
class StdioInherit:
    """systemd's ``inherit``: stdout gets what stdin has, stderr what stdout
    has (one shared open file). For stdin: the manager's own stdin."""


@dataclass(frozen=True)
class StdioFd:
    """A descriptor of the manager (a log pipe's write end, or 1 for "our own
    stdout"); it is duplicated, never moved or closed in the manager."""

    fd: int


FileMode = Literal["read", "write", "truncate", "append"]


@dataclass(frozen=True)
class StdioFile:
    """``file:`` (write, no truncation), ``truncate:``, ``append:``; for stdin
    ``read``. Opened in the child, as root, before the user switch."""

    path: str
    mode: FileMode = "write"


Stdio = StdioNull | StdioInherit | StdioFd | StdioFile


# ---- the context ----------------------------------------------------------------
@dataclass(frozen=True)
class ExecContext:
    """Everything needed to start one Exec*= command."""

    argv: tuple[str, ...]
    # The file to execute; None means argv[0]. Differs for systemd's "@" prefix.
    path: str | None = None
    # Environment=/EnvironmentFile= of the unit, already expanded; it overrides
    # both the base environment and the variables we set.
    environment: Mapping[str, str] = field(default_factory=dict)
    # The raw WorkingDirectory= value: absolute path or "~", maybe "-"-prefixed.
    working_directory: str | None = None
    user: str | None = None
    group: str | None = None
    supplementary_groups: tuple[str, ...] = ()
    umask: int = 0o022
    nice: int | None = None
    # name (see RLIMIT_NAMES) -> (soft, hard); None is infinity.
    rlimits: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)
    setsid: bool = True
    stdin: Stdio = StdioNull()
    stdout: Stdio = StdioFd(1)
    stderr: Stdio = StdioInherit()
    # systemd's default: a service writing to a closed socket gets EPIPE, not death.
    ignore_sigpipe: bool = True
    # Manager descriptors passed as 3, 4, ... with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES.
    listen_fds: tuple[int, ...] = ()
    listen_fdnames: tuple[str, ...] = ()
    notify_socket: str | None = None
    invocation_id: str | None = None
    # The unit's own cgroup folder: the child joins it before anything else.
    cgroup: str | None = None

    @property
    def executable(self) -> str:
        return self.path if self.path is not None else (self.argv[0] if self.argv else "")


@dataclass(frozen=True)
class UserInfo:
    """User=/Group= resolved (in the parent, before fork: NSS never runs in
    the child). ``groups`` is the full list for setgroups(), or None to keep
    the manager's."""

    name: str | None
    uid: int | None
    gid: int | None
    home: str
    shell: str | None
    groups: tuple[int, ...] | None


# ---- pure decisions -----------------------------------------------------------
def build_environment(
    base: Mapping[str, str], ctx: ExecContext, user: UserInfo | None
) -> dict[str, str]:
    """The service's environment, without the two pid-dependent variables
    (``add_pid_variables`` adds those in the child).

    Precedence, lowest first, as in systemd: the manager's environment (minus
    its private variables, plus a default PATH); what we set for the service;
    the unit's Environment=.
    """
    env = {k: v for k, v in base.items() if k not in MANAGER_PRIVATE}
    env.setdefault("PATH", DEFAULT_PATH)
    if ctx.user is not None and user is not None and user.name is not None:
        env["HOME"] = user.home
        env["USER"] = env["LOGNAME"] = user.name
        if user.shell:
            env["SHELL"] = user.shell
    if ctx.invocation_id:
        env["INVOCATION_ID"] = ctx.invocation_id
    if ctx.notify_socket:
        env["NOTIFY_SOCKET"] = ctx.notify_socket
    if ctx.listen_fds:
        env["LISTEN_FDS"] = str(len(ctx.listen_fds))
        env["LISTEN_FDNAMES"] = ":".join(listen_fdnames(ctx))
    env.update(ctx.environment)
    return env


def add_pid_variables(env: dict[str, str], pid: int, listen: bool) -> dict[str, str]:
    """LISTEN_PID (only with passed sockets) and SYSTEMD_EXEC_PID: both name
    the process itself, so only the child knows them."""
    env["SYSTEMD_EXEC_PID"] = str(pid)
    if listen:
        env["LISTEN_PID"] = str(pid)
    return env


def listen_fdnames(ctx: ExecContext) -> list[str]:
    """One name per passed descriptor; missing names are "unknown", which is
    what sd_listen_fds_with_names() reports when there are none."""
    names = list(ctx.listen_fdnames[: len(ctx.listen_fds)])
    return names + ["unknown"] * (len(ctx.listen_fds) - len(names))


def resolve_working_directory(raw: str | None, home: str) -> tuple[str, bool]:
    """WorkingDirectory= -> (absolute path, missing is OK).

    Unset means "/", as for systemd's system services. A leading "-" makes a
    failing chdir non-fatal; "~" is the home of User= (root's without one).
    Raises ValueError for a relative path, which systemd refuses too.
    """
    if raw is None or raw == "":
        return "/", False
    missing_ok = raw.startswith("-")
    path = raw[1:] if missing_ok else raw
    if path == "~":
        path = home
    if not path.startswith("/"):
        raise ValueError(f"WorkingDirectory= must be absolute or ~: {raw!r}")
    return path, missing_ok


def check_rlimits(rlimits: Mapping[str, tuple[int | None, int | None]]) -> list[str]:
    """Problems with LimitX= values (empty when all are usable)."""
    problems: list[str] = []
    for name, (soft, hard) in rlimits.items():
        if name not in RLIMIT_NAMES:
            problems.append(f"unknown resource limit {name}")
            continue
        for value in (soft, hard):
            if value is not None and value < 0:
                problems.append(f"Limit{name}= must not be negative")
        if hard is not None and (soft is None or soft > hard):
            problems.append(f"Limit{name}= soft limit above hard limit")
    return problems


def check_context(ctx: ExecContext) -> list[tuple[ExitCode, str]]:
    """What makes this context unstartable before anything is tried, with the
    exit code the child reports it as (so there is one failure path)."""
    problems: list[tuple[ExitCode, str]] = []
    if not ctx.argv or not ctx.executable:
        problems.append((ExitCode.EXEC, "empty command line"))
    if not 0 <= ctx.umask <= 0o7777:
        problems.append((ExitCode.FAILURE, f"UMask= out of range: {ctx.umask:o}"))
    if ctx.nice is not None and not -20 <= ctx.nice <= 19:
        problems.append((ExitCode.NICE, f"Nice= out of range -20..19: {ctx.nice}"))
    problems.extend((ExitCode.LIMITS, text) for text in check_rlimits(ctx.rlimits))
    if any(fd < 0 for fd in ctx.listen_fds):
        problems.append((ExitCode.FDS, "negative descriptor in listen_fds"))
    return problems


def exec_candidates(executable: str, path_variable: str | None) -> list[str]:
    """The files execve() is tried on: the name itself when it has a slash,
    else the name in each PATH folder (an empty entry is the working
    directory, as for execvp)."""
    if "/" in executable:
        return [executable]
    folders = (path_variable if path_variable is not None else DEFAULT_PATH).split(":")
    return [f"{folder or '.'}/{executable}" for folder in folders]


def describe_exit_code(code: int) -> str:
    """``203/EXEC`` for our own codes, the bare number otherwise."""
    try:
        return f"{code}/{ExitCode(code).name}"
    except ValueError:
        return str(code)
