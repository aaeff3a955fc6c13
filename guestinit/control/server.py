"""The control socket, served from the PID-1 loop (side effects; the wire
format is ``protocol``).

The loop polls ``fds()`` for reading and ``write_fds()`` for writing and calls
``handle(fd)`` for each ready one. Nothing here blocks: the listening socket
and every connection are non-blocking, a connection is read only when its
answers have been written (so a client that does not read cannot make us
buffer without bound), and what does not fit the socket waits in a bounded
buffer for the next ``handle``.

Who may talk to us is decided from the kernel's credentials for the peer
(``SO_PEERCRED``, ``SO_PEERGROUPS``), never from anything the peer says, at
``accept`` time: a refused peer gets one error response and is closed before
any of its bytes are parsed.

A handler answers at once with a ``Response``, or returns ``DEFER`` and later
calls ``reply(peer.connection, response)``: how ``start`` waits for its job
without blocking the loop.
"""

import contextlib
import errno
import math
import os
import socket
import stat
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from guestinit import _log
from guestinit.control.protocol import (
    EXIT_FAILURE,
    EXIT_INVALID,
    EXIT_PERMISSION,
    MAX_LINE,
    MAX_RESPONSE,
    LineBuffer,
    ProtocolError,
    Request,
    Response,
    clip_strings,
    decode_request,
    encode_response,
)

DEFAULT_CONTROL_SOCKET = "/run/guestinit/control.sock"
PERMISSION_DENIED = "permission denied: guestinit ctl needs root (or --control-group)"

# Answers waiting for a slow reader, per connection; past this the client is
# not reading and is dropped. Big enough for `status` of thousands of units.
MAX_OUTGOING = MAX_RESPONSE
MAX_CONNECTIONS = 64
# A connection that sends nothing and waits for nothing is closed after
# IDLE_TIMEOUT; a request line must be complete REQUEST_TIMEOUT after its
# first byte (one byte a second would otherwise hold a connection for ever);
# an answer nobody reads for IDLE_TIMEOUT drops its connection. A connection
# waiting for a job (`ctl start`) has no timeout here: its job has one.
IDLE_TIMEOUT = 10.0
REQUEST_TIMEOUT = 5.0
READ_CHUNK = 64 * 1024
ACCEPTS_PER_CALL = 32  # a connect flood must not keep the loop from the rest
BACKLOG = 64

# Not in the socket module; fixed in the Linux ABI (asm-generic/socket.h).
_SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)
_SO_SNDBUFFORCE = 32
_UCRED = struct.Struct("iII")  # struct ucred: pid_t pid; uid_t uid; gid_t gid
_GID = struct.Struct("I")
_NGROUPS_MAX = 65536


@dataclass(frozen=True)
class PeerCred:
    """Who is on the other end, as the kernel saw it at ``connect``."""

    pid: int  # 0 when the peer is in a PID namespace we cannot see
    uid: int
    gid: int
    groups: frozenset[int] = frozenset()  # supplementary groups
    connection: int = 0  # our serial number for the connection, for reply()


class Deferred:
    """The handler will answer later, through ``ControlServer.reply``."""

    def __repr__(self) -> str:
        return "DEFER"


DEFER = Deferred()

Handler = Callable[[Request, PeerCred], Response | Deferred]


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    peer: PeerCred
    buffer: LineBuffer
    out: bytearray = field(default_factory=bytearray)
    closing: bool = False  # no more reading; closed once `out` and `pending` are empty
    refused: bool = False
    pending: set[int] = field(default_factory=set)  # ids of deferred requests
    active: float = 0.0  # monotonic: accepted, or last byte read or written
    line_started: float | None = None  # monotonic: first byte of an unfinished line

    def expires(self, idle: float, request: float) -> float | None:
        """When it is closed if nothing happens (None: it waits for a job)."""
        if self.pending and not self.out:
            return None
        if self.line_started is not None and not self.out:
            return self.line_started + request
        return self.active + idle

    def eviction_rank(self) -> tuple[int, float] | None:
        """Which connection gives way to a new one when all slots are taken:
        idle ones first, then unfinished lines, then unread answers, oldest
        first; never one whose job is running."""
        if self.pending:
            return None
        if self.out:
            return 2, self.active
        if self.line_started is not None:
            return 1, self.line_started
        return 0, self.active


class ControlServer:
    """The listening socket and its connections."""

    def __init__(
        self,
        path: str = DEFAULT_CONTROL_SOCKET,
        *,
        allowed_gid: int | None = None,
        handler: Handler,
        log: _log.Log | None = None,
        proc: str = "/proc",
        max_line: int = MAX_LINE,
        max_outgoing: int = MAX_OUTGOING,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.allowed_gid = allowed_gid
        self._handler = handler
        self._log = log or _log.Log()
        self._proc = proc
        self._max_line = max_line
        self._max_outgoing = max_outgoing
        self._max_connections = max_connections
        self._idle_timeout = idle_timeout
        self._request_timeout = request_timeout
        self._clock = clock
        self._evicted = 0  # since the last warning about it
        self._evicted_said = -math.inf
        self._connections: dict[int, _Connection] = {}
        self._by_serial: dict[int, _Connection] = {}
        self._serial = 0
        self._listener = socket.socket(
            socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
        )
        try:
            self._bind()
            self._listener.listen(BACKLOG)
        except BaseException:
            self._listener.close()
            raise

    def _bind(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)
        _remove_stale_socket(self.path)
        # Created 0600 from the start: with chmod after bind, there would be a
        # moment in which the umask's (often 0755) mode let anyone connect.
        old = os.umask(0o177)
        try:
            self._listener.bind(self.path)
        finally:
            os.umask(old)
        if self.allowed_gid is not None:
            os.chown(self.path, -1, self.allowed_gid)
            os.chmod(self.path, 0o660)

    # --- what the loop calls ------------------------------------------------

    def fileno(self) -> int:
        """The listening socket."""
        return self._listener.fileno()

    def fds(self) -> list[int]:
        """Descriptors to poll for reading: the listener, and connections
        whose answers are all written (flow control) and that are still open."""
        ready = [c.sock.fileno() for c in self._connections.values() if _readable(c)]
        return [self._listener.fileno(), *ready]

    def write_fds(self) -> list[int]:
        """Connections with answers the socket did not take yet: poll for writing."""
        return [c.sock.fileno() for c in self._connections.values() if c.out]

    def handle(self, fd: int) -> None:
        """``fd`` is readable or writable: accept, write, read. Never raises
        (but for bugs in ourselves) and never blocks."""
        if fd == self._listener.fileno():
            self._accept()
            return
        conn = self._connections.get(fd)
        if conn is None:
            return  # closed earlier in this turn of the loop
        try:
            self._flush(conn)
            if _readable(conn):
                self._read(conn)
                self._flush(conn)
        except OSError:
            # ECONNRESET, EPIPE: the client went away; nothing to answer.
            self._drop(conn)
            return
        self._close_if_done(conn)

    def open_connections(self) -> int:
        return len(self._connections)

    def next_deadline(self) -> float | None:
        """When ``expire`` has a connection to close (monotonic), if ever."""
        due = [
            when
            for conn in self._connections.values()
            if (when := conn.expires(self._idle_timeout, self._request_timeout)) is not None
        ]
        return min(due) if due else None

    def expire(self, now: float) -> None:
        """Close the connections whose time is up (see IDLE_TIMEOUT)."""
        for conn in list(self._connections.values()):
            when = conn.expires(self._idle_timeout, self._request_timeout)
            if when is None or now < when:
                continue
            if conn.line_started is not None and not conn.out and not conn.closing:
                message = f"request not complete after {self._request_timeout:g} s"
                conn.closing = True
                conn.line_started = None
                self._queue(conn, Response.failure(0, message, EXIT_INVALID))
                conn.active = now  # the answer gets its own IDLE_TIMEOUT to be read
                with contextlib.suppress(OSError):
                    self._flush(conn)
                self._close_if_done(conn)
            else:
                self._drop(conn)

    def reply(self, connection: int, response: Response) -> bool:
        """Answer a request the handler deferred; False when its client has gone."""
        conn = self._by_serial.get(connection)
        if conn is None:
            return False
        conn.pending.discard(response.id)
        self._queue(conn, response)
        try:
            self._flush(conn)
        except OSError:
            self._drop(conn)
            return False
        self._close_if_done(conn)
        return True

    def close(self) -> None:
        """Write what can be written without waiting, close everything and
        remove the socket file (unless another server listens on it now)."""
        if self._listener.fileno() < 0:
            return
        for conn in list(self._connections.values()):
            with contextlib.suppress(OSError):
                self._flush(conn)
            self._drop(conn)
        self._listener.close()
        # Ours is closed now, so if something still answers on the path it is
        # a newer server's socket (ours was removed and the path reused): keep it.
        with contextlib.suppress(OSError):
            _remove_stale_socket(self.path)

    def __enter__(self) -> "ControlServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- accepting ------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(ACCEPTS_PER_CALL):
            try:
                sock, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # EMFILE & co.: the connection stays queued; try next turn.
                self._log.warning(f"control socket: cannot accept: {error.strerror}")
                return
            sock.setblocking(False)
            if len(self._connections) >= self._max_connections and not self._evict_one():
                self._log.warning("control socket: too many connections, refusing one")
                _send_and_close(sock, Response.failure(0, "too many connections"))
                continue
            self._admit(sock)

    def _evict_one(self) -> bool:
        """Make room for a new connection by closing the least useful one:
        idle connections cannot lock `ctl` out."""
        ranked = [
            (rank, conn)
            for conn in self._connections.values()
            if (rank := conn.eviction_rank()) is not None
        ]
        if not ranked:
            return False  # every slot waits for a job
        _rank, victim = min(ranked, key=lambda pair: pair[0])
        self._drop(victim)
        self._evicted += 1
        now = self._clock()
        if now - self._evicted_said >= self._idle_timeout:
            self._log.warning(
                f"control socket: {self._max_connections} connections open; closed "
                f"{self._evicted} idle or slow one(s) to admit new ones"
            )
            self._evicted, self._evicted_said = 0, now
        return True

    def _admit(self, sock: socket.socket) -> None:
        self._serial += 1
        try:
            peer = self._credentials(sock, self._serial)
        except OSError as error:
            self._log.warning(f"control socket: no peer credentials: {error.strerror}")
            sock.close()
            return
        conn = _Connection(sock, peer, LineBuffer(self._max_line), active=self._clock())
        self._connections[sock.fileno()] = conn
        self._by_serial[peer.connection] = conn
        if not self.allows(peer):
            self._log.info(f"control socket: refused pid {peer.pid} (uid {peer.uid})")
            conn.refused = conn.closing = True
            self._queue(conn, Response.failure(0, PERMISSION_DENIED, EXIT_PERMISSION))
        # Room for big answers in the kernel, so that they rarely wait for us.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, _SO_SNDBUFFORCE, self._max_outgoing)
        self.handle(sock.fileno())

    def allows(self, peer: PeerCred) -> bool:
        """Root, or a member of the control group."""
        if peer.uid == 0:
            return True
        group = self.allowed_gid
        return group is not None and (peer.gid == group or group in peer.groups)

    def _credentials(self, sock: socket.socket, serial: int) -> PeerCred:
        pid, uid, gid = _UCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        )
        return PeerCred(pid, uid, gid, self._groups(sock, pid), serial)

    def _groups(self, sock: socket.socket, pid: int) -> frozenset[int]:
        """The peer's supplementary groups as of ``connect``: SO_PEERGROUPS
        (Linux 4.13), else /proc/PID/status now (racy with exit and pid reuse,
        hence only the fallback)."""
        for count in (64, _NGROUPS_MAX):
            try:
                data = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERGROUPS, count * _GID.size)
            except OSError as error:
                if error.errno == errno.ERANGE:
                    continue
                break
            return frozenset(gid for (gid,) in _GID.iter_unpack(data))
        if pid <= 0:
            return frozenset()
        try:
            with open(f"{self._proc}/{pid}/status", encoding="utf-8", errors="replace") as file:
                return parse_status_groups(file.read())
        except OSError:
            return frozenset()

    # --- reading, answering, writing ------------------------------------------

    def _read(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        conn.active = self._clock()
        if not data:
            # End of input. A last line without "\n" still counts: `printf ... | socat`.
            conn.closing = True
            conn.line_started = None
            tail = conn.buffer.tail()
            if tail.strip():
                self._dispatch(conn, tail)
            return
        lines = conn.buffer.feed(data)
        for line in lines:
            self._dispatch(conn, line)
        if not conn.buffer.partial:
            conn.line_started = None
        elif conn.line_started is None or lines:
            conn.line_started = conn.active
        if conn.buffer.overflowed:
            conn.closing = True
            message = f"request line longer than {self._max_line} bytes"
            self._queue(conn, Response.failure(0, message, EXIT_INVALID))

    def _dispatch(self, conn: _Connection, line: bytes) -> None:
        request = decode_request(line)
        if isinstance(request, ProtocolError):
            self._queue(conn, Response.failure(request.id or 0, request.message, EXIT_INVALID))
            return
        # Pending before the call: a handler may reply() before it returns DEFER.
        conn.pending.add(request.id)
        try:
            answer = self._handler(request, conn.peer)
        except Exception as error:
            _log.print_traceback(self._log, f"control: {request.verb} failed")
            message = f"internal error: {type(error).__name__}: {error}"
            answer = Response.failure(request.id, message, EXIT_FAILURE)
        if not isinstance(answer, Deferred):
            conn.pending.discard(request.id)
            self._queue(conn, answer)

    def _queue(self, conn: _Connection, response: Response) -> None:
        try:
            data = encode_response(response)
        except (TypeError, ValueError) as error:
            self._log.error(f"control: {response.id}: result is not JSON: {error}")
            data = encode_response(Response.failure(response.id, "internal error: bad result"))
        if len(data) > self._max_outgoing:
            # Some unit's field is huge: cut long strings rather than fail for all.
            clipped = Response(
                response.id,
                response.ok,
                response.exit,
                clip_strings(response.result),
                response.error,
            )
            data = encode_response(clipped)
        if len(data) > self._max_outgoing:
            message = f"response too large ({len(data)} bytes)"
            data = encode_response(Response.failure(response.id, message))
        if len(conn.out) + len(data) > self._max_outgoing:
            self._log.warning(f"control socket: pid {conn.peer.pid} does not read; dropped")
            conn.out.clear()
            conn.pending.clear()
            conn.closing = True
            return
        conn.out += data

    def _flush(self, conn: _Connection) -> None:
        while conn.out:
            try:
                sent = conn.sock.send(conn.out, socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                return
            del conn.out[:sent]
            conn.active = self._clock()

    def _close_if_done(self, conn: _Connection) -> None:
        if conn.closing and not conn.out and not conn.pending:
            self._drop(conn)

    def _drop(self, conn: _Connection) -> None:
        if self._connections.pop(conn.sock.fileno(), None) is None:
            return
        self._by_serial.pop(conn.peer.connection, None)
        if conn.refused:
            # Unread input would turn our close into ECONNRESET for the peer,
            # which might then miss the answer: read it away first.
            with contextlib.suppress(OSError):
                for _ in range(16):
                    if not conn.sock.recv(READ_CHUNK):
                        break
        conn.sock.close()


def _readable(conn: _Connection) -> bool:
    return not conn.closing and not conn.out


def _send_and_close(sock: socket.socket, response: Response) -> None:
    with contextlib.suppress(OSError):
        sock.send(encode_response(response), socket.MSG_NOSIGNAL)
    sock.close()


def parse_status_groups(text: str) -> frozenset[int]:
    """The ``Groups:`` line of /proc/PID/status ("Groups:\\t4 27 100 \\n")."""
    for line in text.splitlines():
        if line.startswith("Groups:"):
            return frozenset(int(word) for word in line[7:].split() if word.isdigit())
    return frozenset()


def _remove_stale_socket(path: str) -> None:
    """Remove a socket file left by an earlier run; refuse to take over one a
    live server answers on. Anything that is not a socket is left alone (bind
    then fails and says so)."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    try:
        probe.connect(path)
    except (BlockingIOError, InterruptedError):
        pass  # EAGAIN: its backlog is full, so it is very much alive
    except OSError:
        os.unlink(path)  # ECONNREFUSED: nobody listens any more
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "a service manager is already listening", path)
