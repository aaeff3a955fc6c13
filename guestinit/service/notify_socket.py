"""The sd_notify socket services write to (the side-effect half; parsing is
in ``notify_message``).

One AF_UNIX datagram socket for every service, as in systemd: the sender is
known from the kernel-attached credentials (SO_PASSCRED), never from what the
message says, and the manager maps that pid to a unit. Reads never block:
the loop calls ``receive()`` when ``fileno()`` is readable.

Descriptors sent along with a message (SCM_RIGHTS) are closed as soon as they
arrive. We keep no file descriptor store, and closing is also the complete
answer to ``BARRIER=1`` (sd_notify_barrier waits for exactly that).
"""

import array
import contextlib
import os
import socket
import stat
import struct
from dataclasses import dataclass, field

from guestinit.service.notify_message import NotifyMessage, parse_notify

DEFAULT_NOTIFY_SOCKET = "/run/guestinit/notify.sock"

# systemd reads at most PIPE_BUF bytes per notification and drops longer ones;
# clients (libsystemd, sd-notify crates) keep their messages under it.
MAX_MESSAGE = 4096
# Room for this many descriptors per datagram; more arrive as MSG_CTRUNC and
# the kernel closes the surplus itself.
MAX_FDS = 768
# Big enough that a burst of notifications from many services is queued, not
# lost; the kernel caps it at net.core.rmem_max unless we may force it.
RECEIVE_BUFFER = 8 * 1024 * 1024
# Datagrams handled per receive() call: a flood from one process must not keep
# the loop from everything else (the socket stays readable, the loop returns).
MAX_PER_CALL = 1024

# Not exported by the socket module; the value is fixed in the Linux ABI.
_SO_RCVBUFFORCE = 33
_UCRED = struct.Struct("iII")  # struct ucred: pid_t pid; uid_t uid; gid_t gid
_INT_SIZE = array.array("i").itemsize


@dataclass(frozen=True)
class Received:
    """One accepted notification, with the sender's kernel-verified identity."""

    pid: int
    uid: int
    gid: int
    message: NotifyMessage
    fds_closed: int = 0  # descriptors that came with it (closed on arrival)


@dataclass(frozen=True)
class Dropped:
    """A datagram we could not use; the caller logs these."""

    reason: str  # "truncated", "control-truncated" or "no-credentials"
    pid: int | None = None
    fds_closed: int = 0


@dataclass
class DropCounts:
    truncated: int = 0
    no_credentials: int = 0
    dropped: list[Dropped] = field(default_factory=list)


class NotifySocket:
    """The receiving end of NOTIFY_SOCKET. ``path`` may start with ``@`` for
    the abstract namespace (nothing on disk, nothing to unlink)."""

    def __init__(self, path: str = DEFAULT_NOTIFY_SOCKET) -> None:
        self.path = path
        self.counts = DropCounts()
        self._ancillary = socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(MAX_FDS * _INT_SIZE)
        self._socket = socket.socket(
            socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
        )
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            _grow_receive_buffer(self._socket)
            self._bind()
        except BaseException:
            self._socket.close()
            raise

    def _bind(self) -> None:
        if self.path.startswith("@"):
            self._socket.bind("\0" + self.path[1:])
            return
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)
        _remove_stale_socket(self.path)
        self._socket.bind(self.path)
        # Services running as other users must be able to send (sendto needs
        # write permission on the file); NotifyAccess= decides who is heard.
        os.chmod(self.path, 0o777)

    def fileno(self) -> int:
        return self._socket.fileno()

    def receive(self, limit: int = MAX_PER_CALL) -> list[Received]:
        """Every pending datagram (up to ``limit``), without blocking.

        Unusable datagrams are counted in ``counts`` and listed for
        ``take_dropped()``; they never raise.
        """
        received: list[Received] = []
        flags = socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
        for _ in range(limit):
            try:
                data, ancillary, msg_flags, _address = self._socket.recvmsg(
                    MAX_MESSAGE, self._ancillary, flags
                )
            except (BlockingIOError, InterruptedError):
                break
            credentials, fds_closed = _take_ancillary(ancillary)
            pid = credentials[0] if credentials else None
            if msg_flags & socket.MSG_TRUNC:
                self._drop(Dropped("truncated", pid, fds_closed))
            elif msg_flags & socket.MSG_CTRUNC:
                self._drop(Dropped("control-truncated", pid, fds_closed))
            elif credentials is None:
                self._drop(Dropped("no-credentials", None, fds_closed))
            else:
                pid, uid, gid = credentials
                received.append(Received(pid, uid, gid, parse_notify(data), fds_closed))
        return received

    def take_dropped(self) -> list[Dropped]:
        """Datagrams dropped since the last call, for the caller to log."""
        dropped, self.counts.dropped = self.counts.dropped, []
        return dropped

    def _drop(self, dropped: Dropped) -> None:
        if dropped.reason == "no-credentials":
            self.counts.no_credentials += 1
        else:
            self.counts.truncated += 1
        self.counts.dropped.append(dropped)

    def close(self) -> None:
        """Close and unlink; safe to call twice."""
        if self._socket.fileno() < 0:
            return
        self._socket.close()
        if not self.path.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def __enter__(self) -> "NotifySocket":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _take_ancillary(
    ancillary: list[tuple[int, int, bytes]],
) -> tuple[tuple[int, int, int] | None, int]:
    """Credentials (or None) and how many passed descriptors were closed."""
    credentials: tuple[int, int, int] | None = None
    closed = 0
    for level, kind, data in ancillary:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_RIGHTS:
            # Truncated control data may end in a partial int: use whole ones.
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % _INT_SIZE])
            for fd in fds:
                closed += _close_quietly(fd)
        elif kind == socket.SCM_CREDENTIALS and len(data) >= _UCRED.size:
            pid, uid, gid = _UCRED.unpack_from(data)
            # pid 0: a sender in a PID namespace we cannot see into.
            if pid > 0:
                credentials = (pid, uid, gid)
    return credentials, closed


def _close_quietly(fd: int) -> int:
    try:
        os.close(fd)
    except OSError:
        return 0
    return 1


def _grow_receive_buffer(sock: socket.socket) -> None:
    try:
        # SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN.
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, RECEIVE_BUFFER)
    except OSError:
        # Failing that, the default buffer still works, only smaller.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


def _remove_stale_socket(path: str) -> None:
    """A socket file left by an earlier run would make bind fail; anything
    that is not a socket is left alone (bind then fails and says so)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
