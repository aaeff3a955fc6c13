"""Carrying out one service's actions on the system: build the execution
context of a command, spawn it, make RuntimeDirectory= and friends. The
manager decides; this does. (Signals go through service.ownership and
service.tracking, PID files through service.pid_file.)
"""

import os
import shutil
from collections.abc import Callable, Iterable, Mapping

from guestinit.service.exec_env import (
    ExecContext,
    Stdio,
    StdioFd,
    StdioFile,
    StdioInherit,
    StdioNull,
)
from guestinit.service.from_spec import phases
from guestinit.service.pid_file import read_regular_file
from guestinit.service.spawn import SpawnHandle, spawn_service
from guestinit.service.states import Phase
from guestinit.unitfile import ExecCommand, StdKind, StdStream, UnitSpec, expand_exec

# Where each *Directory= lives for a system service, and its environment variable.
_DIRECTORIES = (
    ("runtime_directory", "runtime_directory_mode", "/run", "RUNTIME_DIRECTORY"),
    ("state_directory", "state_directory_mode", "/var/lib", "STATE_DIRECTORY"),
    ("cache_directory", "cache_directory_mode", "/var/cache", "CACHE_DIRECTORY"),
    ("logs_directory", "logs_directory_mode", "/var/log", "LOGS_DIRECTORY"),
    ("configuration_directory", "configuration_directory_mode", "/etc", "CONFIGURATION_DIRECTORY"),
)


# An environment file bigger than this is refused (systemd reads them whole too).
ENVIRONMENT_FILE_MAX = 1024 * 1024


class EnvironmentFileMissing(Exception):
    """EnvironmentFile= without "-" names a file that cannot be read."""


def read_environment_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads them: comments, blank lines, optional
    quotes around the value, ``export`` tolerated; ``\\`` joins lines."""
    # Read by PID 1 itself: never a FIFO or device (which could block it), never huge.
    data = read_regular_file(path, ENVIRONMENT_FILE_MAX)
    text = data.decode("utf-8", "replace").replace("\\\n", "")
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = line.removeprefix("export ").strip()
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not key.replace("_", "a").isalnum() or key[0].isdigit():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
            if raw.strip().partition("=")[2].strip()[0] == '"':
                value = value.replace('\\"', '"').replace("\\\\", "\\")
        values[key] = value
    return values


def unit_environment(spec: UnitSpec, base: Mapping[str, str]) -> dict[str, str]:
    """Environment= then EnvironmentFile= (later wins), PassEnvironment= from
    ours, UnsetEnvironment= last. Raises EnvironmentFileMissing."""
    service = spec.service
    if service is None:
        return {}
    env: dict[str, str] = {}
    for name in service.pass_environment:
        if name in base:
            env[name] = base[name]
    env.update(service.environment)
    for entry in service.environment_files:
        try:
            env.update(read_environment_file(entry.path))
        except OSError as error:
            if not entry.optional:
                raise EnvironmentFileMissing(f"{entry.path}: {error.strerror}") from None
    for name in service.unset_environment:
        key, equals, value = name.partition("=")
        if not equals or env.get(key) == value:
            env.pop(key, None)
    return env


def make_directories(spec: UnitSpec) -> dict[str, str]:
    """Create RuntimeDirectory= etc. (owned by User= when set); returns the
    variables that point at them ($RUNTIME_DIRECTORY, ...)."""
    service = spec.service
    if service is None:
        return {}
    uid, gid = _owner(service.user, service.group)
    variables: dict[str, str] = {}
    for field, mode_field, base, variable in _DIRECTORIES:
        names = getattr(service, field)
        paths = [os.path.join(base, name) for name in names]
        for path in paths:
            os.makedirs(path, exist_ok=True)
            _own_folder(path, getattr(service, mode_field), uid, gid)
        if paths:
            variables[variable] = ":".join(paths)
    return variables


def _own_folder(path: str, mode: int, uid: int | None, gid: int | None) -> None:
    """chmod and chown the folder itself: if the unit's user replaced it
    with a symlink (StateDirectory= outlives runs and is theirs), open()
    refuses it instead of PID 1 handing them the link's target."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, mode)
        if uid is not None:
            os.fchown(fd, uid, gid if gid is not None else -1)
    finally:
        os.close(fd)


def remove_runtime_directories(spec: UnitSpec, running: Iterable[UnitSpec | None] = ()) -> None:
    """RuntimeDirectory= goes when the unit stops (RuntimeDirectoryPreserve=no),
    except one that a unit still running (``running``) also names. systemd
    removes it regardless, and Debian's per-connection ssh@.service instances
    (RuntimeDirectory=sshd) then take /run/sshd from under each other: one
    ending as the next starts makes the next sshd die of "Missing privilege
    separation directory". Keeping it is what both units' lines ask for."""
    service = spec.service
    if service is None or service.runtime_directory_preserve.value != "no":
        return
    in_use = {
        name
        for other in running
        if other and other.service
        for name in other.service.runtime_directory
    }
    for name in service.runtime_directory:
        if name not in in_use:
            shutil.rmtree(os.path.join("/run", name), ignore_errors=True)


def command_of(spec: UnitSpec, phase: Phase, index: int) -> ExecCommand:
    assert spec.service is not None
    return phases(spec.service)[phase][index]


def exec_context(
    spec: UnitSpec,
    command: ExecCommand,
    environment: Mapping[str, str],
    notify_socket: str | None,
    stdout_fd: int = 1,
    cgroup: str | None = None,
) -> ExecContext:
    """One command of the unit -> its ExecContext. ``environment`` is the
    unit's (Environment=, EnvironmentFile=, directories), used both for
    ``$VAR`` expansion and for the process."""
    assert spec.service is not None
    service = spec.service
    expansion = {**os.environ, **environment}
    argv = command.argv if command.no_env_expansion else tuple(expand_exec(command, expansion))
    working = service.working_directory
    full = command.full_privileges
    return ExecContext(
        argv=tuple(argv),
        path=command.path,
        environment=dict(environment),
        working_directory=(
            None if working is None else ("-" if working.optional else "") + working.path
        ),
        user=None if full else service.user,
        group=None if full else service.group,
        supplementary_groups=() if full else service.supplementary_groups,
        umask=service.umask,
        nice=service.nice,
        rlimits={
            name.removeprefix("RLIMIT_"): (_limit(limit.soft), _limit(limit.hard))
            for name, limit in service.limits.items()
        },
        stdin=_stdio(service.standard_input, stdout_fd, is_input=True),
        stdout=_stdio(service.standard_output, stdout_fd),
        stderr=_stdio(service.standard_error, stdout_fd, is_error=True),
        ignore_sigpipe=service.ignore_sigpipe,
        notify_socket=notify_socket,
        cgroup=cgroup,
    )


def spawn(ctx: ExecContext, restore: Callable[[], None]) -> SpawnHandle:
    return spawn_service(ctx, restore)


def _limit(value: int) -> int | None:
    return None if value < 0 else value


def _stdio(
    stream: StdStream, stdout_fd: int, is_input: bool = False, is_error: bool = False
) -> Stdio:
    kind = stream.kind
    if kind is StdKind.NULL:
        return StdioNull()
    if kind is StdKind.INHERIT:
        return StdioNull() if is_input else StdioInherit() if is_error else StdioFd(stdout_fd)
    if kind.value in ("file", "append", "truncate") and stream.target:
        mode = {"file": "write", "append": "append", "truncate": "truncate"}[kind.value]
        return StdioFile(stream.target, "read" if is_input else mode)  # type: ignore[arg-type]
    if is_input:
        return StdioNull()
    # journal, kmsg, syslog, tty, socket ...: our prefixed log stream.
    return StdioFd(stdout_fd)


def _owner(user: str | None, group: str | None) -> tuple[int | None, int | None]:
    import grp
    import pwd

    uid = gid = None
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            uid, gid = entry.pw_uid, entry.pw_gid
        if group is not None:
            gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return None, None  # the spawn reports the unknown user with 217/USER
    return uid, gid
