"""Socket units in the manager: bind and listen when a .socket starts, watch
the listening descriptors from PID 1's loop, start the service on traffic,
hand it the descriptors, close them when the socket stops. What to listen on
and how is decided in guestinit.service.sockets; this module does it.

Accept=no: the loop watches the listeners only while the service is at rest
(inactive or failed) and not already queued to start, so a connection that
waits for the service to accept it wakes PID 1 once, not in a spin. The
listening descriptors stay blocking, as systemd leaves them: PID 1 only polls
them, the service accepts.

Accept=yes: the listener is PID 1's alone (non-blocking); each connection
becomes one instance of the NAME@.service template with the connection as
its socket (LISTEN_FDS=1) and, with StandardInput=socket, its stdin/stdout.
"""

import contextlib
import dataclasses
import errno
import functools
import os
import socket
import stat
import time
from collections.abc import Callable

from guestinit import _log
from guestinit.service import conditions
from guestinit.service.exec_env import ExecContext, StdioFd
from guestinit.service.registry import Unit
from guestinit.service.sockets import (
    Admission,
    BindIPv6Only,
    Family,
    Listen,
    ListenKind,
    SocketConfig,
    admit,
    instance_name,
    source_of,
    trigger_allowed,
)
from guestinit.unitfile import StdKind

_SOCKET_TYPES = {
    ListenKind.STREAM: socket.SOCK_STREAM,
    ListenKind.DATAGRAM: socket.SOCK_DGRAM,
    ListenKind.SEQPACKET: socket.SOCK_SEQPACKET,
}
_IP_FREEBIND = 15  # <linux/in.h>; Python's socket module does not name it
_SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
_BACKLOG_MAX = 2**31 - 1  # listen() takes an int; the kernel caps it at somaxconn anyway


@dataclasses.dataclass
class _Listening:
    """One started socket unit."""

    config: SocketConfig
    fds: list[int]
    nodes: list[str]  # file system nodes we made (RemoveOnStop=)
    accepted: int = 0  # Accept=yes: connections so far (numbers the instances)
    triggers: list[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _Connection:
    """An Accept=yes connection, owned by PID 1 until its instance ends."""

    socket_unit: str
    fd: int
    source: str


class SocketUnits:
    def __init__(
        self,
        log: _log.Log,
        units: dict[str, Unit],
        start_unit: Callable[[str, float], None],
        load_unit: Callable[[str], Unit | None],
        busy: Callable[[str], bool],
        forget: Callable[[str], None],
    ) -> None:
        self._log = log
        self._units = units
        self._start_unit = start_unit
        self._load_unit = load_unit
        # A start of this unit is queued, or none may happen (guestinit stops).
        self._busy = busy
        self._forget = forget  # drop an ended instance from the loaded units
        self._listening: dict[str, _Listening] = {}
        self._connections: dict[str, _Connection] = {}  # instance name ->

    # ---- start and stop -----------------------------------------------------------
    def start(self, unit: Unit, now: float) -> None:
        """The socket unit starts: conditions, then bind everything or nothing."""
        config = unit.socket
        if config is None or unit.spec is None:
            unit.start_failed = True
            return
        if unit.name in self._listening:
            unit.target_active = True
            return
        holds, notes = conditions.evaluate(unit.spec.conditions)
        for note in notes:
            self._log.info(f"{unit.name}: {note}")
        if not holds:
            unit.skipped = True
            self._log.info(f"{unit.name}: condition not met, not listening")
            return
        unit.skipped = False
        opened: list[int] = []
        nodes: list[str] = []
        try:
            for listen in config.listens:
                opened.append(_open(listen, config, nodes))
        except OSError as error:
            for fd in opened:
                os.close(fd)
            listen = config.listens[len(opened)]
            self._log.error(f"{unit.name}: cannot listen on {listen.text}: {error.strerror}")
            unit.target_active, unit.start_failed = False, True
            return
        self._listening[unit.name] = _Listening(config, opened, nodes)
        unit.target_active, unit.start_failed = True, False
        where = ", ".join(listen.text for listen in config.listens)
        self._log.info(f"{unit.name}: listening on {where} for {config.service}")

    def stop(self, unit: Unit) -> None:
        """Close the listeners (RemoveOnStop=: and remove their nodes).
        Running services keep their copies, as under systemd."""
        listening = self._listening.pop(unit.name, None)
        if listening is None:
            return
        for fd in listening.fds:
            os.close(fd)
        if listening.config.remove_on_stop:
            for node in listening.nodes:
                with contextlib.suppress(OSError):
                    os.unlink(node)
        self._log.info(f"{unit.name}: stopped listening")

    def close(self) -> None:
        for name in list(self._listening):
            listening = self._listening.pop(name)
            for fd in listening.fds:
                os.close(fd)
        for connection in self._connections.values():
            os.close(connection.fd)
        self._connections.clear()

    # ---- the loop -------------------------------------------------------------------
    def readers(self) -> dict[int, Callable[[], None]]:
        readers: dict[int, Callable[[], None]] = {}
        for name, listening in self._listening.items():
            config = listening.config
            if self._busy(config.service):
                continue  # its start is queued, or guestinit is stopping
            if not config.accepts and not self._service_at_rest(config.service):
                continue  # the service has the descriptors now
            for fd in listening.fds:
                readers[fd] = functools.partial(self._on_traffic, name, fd)
        return readers

    def _service_at_rest(self, name: str) -> bool:
        unit = self._units.get(name)
        return unit is None or unit.at_rest

    def _on_traffic(self, name: str, fd: int) -> None:
        listening = self._listening.get(name)
        if listening is None or fd not in listening.fds:
            return  # stopped (and maybe started again) earlier in this turn
        now = time.monotonic()
        config = listening.config
        if config.accepts:
            self._accept(name, listening, fd, now)
            return
        if not trigger_allowed(config, listening.triggers, now):
            self._fail(
                name, "trigger limit hit: the service keeps ending without taking the traffic"
            )
            return
        self._log.debug(f"{name}: traffic, starting {config.service}")
        self._start_unit(config.service, now)
        service = self._units.get(config.service)
        if service is None or service.state is None:
            self._fail(name, f"{config.service} cannot run")

    def _fail(self, name: str, reason: str) -> None:
        unit = self._units.get(name)
        self._log.error(f"{name}: {reason}; the socket fails")
        if unit is not None:
            self.stop(unit)
            unit.target_active, unit.start_failed = False, True

    def _accept(self, name: str, listening: _Listening, fd: int, now: float) -> None:
        listener = socket.socket(fileno=os.dup(fd))
        try:
            listener.setblocking(False)
            connection, remote = listener.accept()
        except (BlockingIOError, InterruptedError):
            return  # another wakeup took it, or the peer gave up first
        except OSError as error:
            if error.errno not in (errno.ECONNABORTED, errno.EPROTO):
                self._log.warning(f"{name}: accept failed: {error.strerror}")
            return
        finally:
            listener.close()
        config = listening.config
        peer = _peer_credentials(connection)
        source = source_of(remote, peer)
        from_source = sum(
            1 for c in self._connections.values() if c.socket_unit == name and c.source == source
        )
        running = sum(1 for c in self._connections.values() if c.socket_unit == name)
        verdict = admit(config, running, from_source)
        if verdict is not Admission.ACCEPT:
            count = f"{running}"
            if verdict is Admission.TOO_MANY_FROM_SOURCE:
                count = f"{from_source} from {source}"
            self._log.warning(f"{name}: {verdict.value} ({count}), refusing the connection")
            connection.close()
            return
        try:
            instance = instance_name(
                config.service, listening.accepted, connection.getsockname(), remote, peer
            )
        except (OSError, ValueError) as error:
            self._log.warning(f"{name}: cannot name the connection's service: {error}")
            connection.close()
            return
        listening.accepted += 1
        unit = self._load_unit(instance)
        if unit is None or unit.state is None:
            self._log.error(f"{name}: {instance} cannot run; closing the connection")
            connection.close()
            self._forget(instance)
            return
        self._connections[instance] = _Connection(name, connection.detach(), source)
        self._start_unit(instance, now)

    # ---- what a service gets ----------------------------------------------------------
    def pass_fds(self, unit: Unit, ctx: ExecContext) -> ExecContext:
        """The main process of ``unit`` gets its sockets: an Accept=yes
        instance its connection ("connection"), else every descriptor of the
        listening sockets that name it, socket units by name, each in the
        order of its Listen*= lines."""
        connection = self._connections.get(unit.name)
        if connection is not None:
            ctx = dataclasses.replace(
                ctx, listen_fds=(connection.fd,), listen_fdnames=("connection",)
            )
            return _socket_stdio(unit, ctx, connection.fd)
        fds: list[int] = []
        names: list[str] = []
        for name in sorted(self._listening):
            listening = self._listening[name]
            if listening.config.service == unit.name and not listening.config.accepts:
                fds += listening.fds
                names += [listening.config.descriptor_name] * len(listening.fds)
        if not fds:
            return ctx
        ctx = dataclasses.replace(ctx, listen_fds=tuple(fds), listen_fdnames=tuple(names))
        return _socket_stdio(unit, ctx, fds[0])

    def tick(self) -> None:
        """An Accept=yes instance that ended (or never could start) lets its
        connection go, and is forgotten, as systemd collects it."""
        for name, connection in list(self._connections.items()):
            unit = self._units.get(name)
            if unit is not None and (not unit.at_rest or self._busy(name)):
                continue
            os.close(connection.fd)
            del self._connections[name]
            self._forget(name)


def _socket_stdio(unit: Unit, ctx: ExecContext, fd: int) -> ExecContext:
    """StandardInput=socket: stdin is the socket, and stdout too while
    StandardOutput= is left at its default or says inherit/socket (systemd:
    "defaults to inherit" when stdin is a socket); stderr follows stdout."""
    service = unit.spec.service if unit.spec else None
    if service is None or service.standard_input.kind is not StdKind.SOCKET:
        return ctx
    ctx = dataclasses.replace(ctx, stdin=StdioFd(fd))
    output = service.standard_output.kind
    if output in (StdKind.JOURNAL, StdKind.INHERIT, StdKind.SOCKET):
        ctx = dataclasses.replace(ctx, stdout=StdioFd(fd))
    if service.standard_error.kind is StdKind.SOCKET:
        ctx = dataclasses.replace(ctx, stderr=StdioFd(fd))
    return ctx


def _peer_credentials(connection: socket.socket) -> tuple[int, int] | None:
    """(pid, uid) of an AF_UNIX peer; None elsewhere or from another namespace."""
    if connection.family != socket.AF_UNIX:
        return None
    import struct

    try:
        raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    except OSError:
        return None
    pid, uid, _gid = struct.unpack("3i", raw)
    return (pid, uid) if pid > 0 else None


# ---- binding --------------------------------------------------------------------------
def _open(listen: Listen, config: SocketConfig, nodes: list[str]) -> int:
    """One listening descriptor (close-on-exec); OSError if it cannot be."""
    if listen.kind is ListenKind.FIFO:
        return _open_fifo(listen.address.path, config, nodes)
    address = listen.address
    kind = _SOCKET_TYPES[listen.kind]
    if address.family in (Family.UNIX, Family.ABSTRACT):
        sock = socket.socket(socket.AF_UNIX, kind)
        try:
            _bind_unix(sock, address.path, address.family is Family.ABSTRACT, config, nodes)
        except OSError:
            sock.close()
            raise
    else:
        sock = _bind_ip(listen, config, kind)
    try:
        _options(sock, config, address.family)
        if listen.kind is not ListenKind.DATAGRAM:
            sock.listen(min(config.backlog, _BACKLOG_MAX))
        # Accept=yes: PID 1 accepts, and must never block doing it.
        sock.setblocking(not config.accepts)
    except OSError:
        sock.close()
        raise
    return sock.detach()


def _bind_unix(
    sock: socket.socket, path: str, abstract: bool, config: SocketConfig, nodes: list[str]
) -> None:
    if abstract:
        sock.bind("\0" + path)
        return
    _make_parents(path, config.directory_mode)
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)  # a socket left by an earlier run: nobody can listen on it
    except FileNotFoundError:
        pass
    old = os.umask(0o777 & ~config.socket_mode)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    nodes.append(path)
    os.chmod(path, config.socket_mode)
    _chown(path, config)


def _bind_ip(listen: Listen, config: SocketConfig, kind: int) -> socket.socket:
    address = listen.address
    host = address.host
    family = socket.AF_INET6 if address.family in (Family.INET6, Family.ANY) else socket.AF_INET
    if address.family is Family.ANY:
        host = "::"
        if not socket.has_ipv6 or not _ipv6_available():
            family, host = socket.AF_INET, "0.0.0.0"
    sock = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            only = config.bind_ipv6_only is BindIPv6Only.IPV6_ONLY
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(only))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if config.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if config.free_bind:
            level = socket.IPPROTO_IPV6 if family == socket.AF_INET6 else socket.IPPROTO_IP
            sock.setsockopt(level, _IP_FREEBIND, 1)
        sock.bind((host, address.port))
    except OSError:
        sock.close()
        raise
    return sock


def _ipv6_available() -> bool:
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
    except OSError:
        return False
    return True


def _options(sock: socket.socket, config: SocketConfig, family: Family) -> None:
    if config.pass_credentials and family in (Family.UNIX, Family.ABSTRACT):
        sock.setsockopt(socket.SOL_SOCKET, _SO_PASSCRED, 1)
    for size, force, plain in (
        (config.receive_buffer, _SO_RCVBUFFORCE, socket.SO_RCVBUF),
        (config.send_buffer, _SO_SNDBUFFORCE, socket.SO_SNDBUF),
    ):
        if size:
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, size)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, plain, size)  # no CAP_NET_ADMIN


def _open_fifo(path: str, config: SocketConfig, nodes: list[str]) -> int:
    _make_parents(path, config.directory_mode)
    old = os.umask(0o777 & ~config.socket_mode)
    try:
        os.mkfifo(path, config.socket_mode)
    except FileExistsError:
        pass
    finally:
        os.umask(old)
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK | os.O_NOFOLLOW)
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EEXIST, os.strerror(errno.EEXIST) + " (not a FIFO)", path)
    nodes.append(path)
    os.fchmod(fd, config.socket_mode)
    _chown(path, config)
    return fd


def _make_parents(path: str, mode: int) -> None:
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        old = os.umask(0)
        try:
            os.makedirs(parent, mode=mode, exist_ok=True)
        finally:
            os.umask(old)


def _chown(path: str, config: SocketConfig) -> None:
    """SocketUser=/SocketGroup= (a user alone brings its own group)."""
    if config.socket_user is None and config.socket_group is None:
        return
    import grp
    import pwd

    uid = gid = -1
    try:
        if config.socket_user is not None:
            entry = pwd.getpwnam(config.socket_user)
            uid, gid = entry.pw_uid, entry.pw_gid
        if config.socket_group is not None:
            gid = grp.getgrnam(config.socket_group).gr_gid
    except KeyError as error:
        raise OSError(errno.EINVAL, f"unknown user or group {error}", path) from None
    os.chown(path, uid, gid, follow_symlinks=False)
