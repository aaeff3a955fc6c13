"""Service output and syslog messages -> guestinit's stdout (and files).

Each service process writes into a pipe of its own; the loop reads the pipes
(non-blocking, at most ``READ_CHUNK`` per pipe per turn, so a flood cannot
starve signal handling), splits lines, prefixes them with the unit's name and
the process's pid, and hands them to the stdout sink. With ``log_dir`` every
unit also gets ``DIR/UNIT.log`` with size-based rotation. The built-in
syslog socket (when no syslog daemon runs) feeds the same stream.
"""

import datetime
import functools
import os
import socket
import struct
import time
from collections.abc import Callable

from guestinit import _log
from guestinit.logs.format import LineFormat
from guestinit.logs.lines import LineSplitter
from guestinit.logs.ring import LogRing
from guestinit.logs.sink import RotatingFile, StdoutSink
from guestinit.logs.syslog_parse import parse_syslog

READ_CHUNK = 64 * 1024
# A partial line (a prompt, a progress bar) is written out after this long
# without its newline. Long enough that a writer descheduled mid-line on a
# busy machine (100 ms happens) does not get its line cut in two.
PARTIAL_DELAY = 1.0
# At exit, how long the last lines may wait for a slow stdout reader.
DRAIN_AT_EXIT = 5.0


class _Pipe:
    __slots__ = ("journal", "name", "pid", "splitter", "unit")

    def __init__(self, name: str, pid: int, journal: bool, unit: str | None = None) -> None:
        self.name = name
        self.pid = pid
        self.unit = unit
        self.splitter = LineSplitter()
        # StandardOutput=journal: to journald when one listens, else the stream.
        self.journal = journal


class LogRouter:
    def __init__(
        self,
        log: _log.Log,
        line_format: str = "prefixed",
        log_dir: str | None = None,
        max_bytes: int = 10 * 1024 * 1024,
        keep: int = 5,
    ) -> None:
        self._log = log
        self._format = LineFormat(line_format)
        self._sink = StdoutSink()
        self._pipes: dict[int, _Pipe] = {}
        self._log_dir = log_dir
        self._max_bytes = max_bytes
        self._keep = keep
        self._files: dict[str, RotatingFile] = {}
        self._syslog: socket.socket | None = None
        self._syslog_path: str | None = None
        self._min_severity = 7
        self._journal: socket.socket | None = None
        # The last lines of every unit, for ctl logs / status and journalctl.
        self.ring = LogRing()
        # Which unit a syslog sender's pid belongs to (the manager knows).
        self.unit_of_pid: Callable[[int], str | None] | None = None

    # ---- service pipes ---------------------------------------------------------------
    def new_pipe(self) -> tuple[int, int]:
        """(read end, write end) for one process's stdout and stderr."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(read_fd, False)
        return read_fd, write_fd

    def attach(
        self, read_fd: int, name: str, pid: int, journal: bool = False, unit: str | None = None
    ) -> None:
        """Start reading ``read_fd`` for process ``pid`` of unit ``unit``,
        whose lines are prefixed with ``name``."""
        self._pipes[read_fd] = _Pipe(name, pid, journal, unit)

    def open_journal(self, path: str) -> bool:
        """Send StandardOutput=journal lines to journald's native socket at
        ``path`` when one is listening there (a container sharing the host's
        journal); True when it is."""
        if not _socket_alive(path):
            return False
        out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            out.connect(path)
        except OSError:
            out.close()
            return False
        out.setblocking(False)
        self._journal = out
        return True

    def readers(self) -> dict[int, Callable[[], None]]:
        if self._sink.saturated():
            # Stdout is behind: leave the services' output in their pipes
            # (they wait, as on any slow pipe) rather than drop it.
            return {}
        readers: dict[int, Callable[[], None]] = {
            fd: functools.partial(self._read_pipe, fd) for fd in self._pipes
        }
        if self._syslog is not None:
            readers[self._syslog.fileno()] = self._read_syslog
        return readers

    def writers(self) -> dict[int, Callable[[], None]]:
        return {self._sink.fileno(): self._sink.flush} if self._sink.pending() else {}

    def next_deadline(self) -> float | None:
        if self._sink.saturated():
            return None  # tick() flushes nothing meanwhile; stdout's POLLOUT wakes us
        times = [p.splitter.partial_since for p in self._pipes.values() if p.splitter.partial_since]
        return min(times) + PARTIAL_DELAY if times else None

    def tick(self, now: float) -> None:
        if self._sink.saturated():
            return  # nothing would go out now: keep partial lines whole meanwhile
        for fd, pipe in self._pipes.items():
            since = pipe.splitter.partial_since
            # The rest of the line may already wait in the pipe (we were slow
            # to read it): then it is not a partial line, do not cut it.
            if since is not None and now - since >= PARTIAL_DELAY and not _unread(fd):
                for line in pipe.splitter.flush():
                    self.emit(pipe.name, pipe.pid, line, journal=pipe.journal, unit=pipe.unit)

    def _read_pipe(self, fd: int) -> None:
        pipe = self._pipes[fd]
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            for line in pipe.splitter.flush():
                self.emit(pipe.name, pipe.pid, line, journal=pipe.journal, unit=pipe.unit)
            del self._pipes[fd]
            os.close(fd)
            return

        for line in pipe.splitter.feed(data, time.monotonic()):
            self.emit(pipe.name, pipe.pid, line, journal=pipe.journal, unit=pipe.unit)

    # ---- the built-in syslog ------------------------------------------------------------
    def open_syslog(self, path: str, min_severity: int) -> bool:
        """Own ``path`` (/dev/log) unless something else does; True when opened."""
        if _socket_alive(path):
            self._log.info(f"{path} is served by someone else: not starting the built-in syslog")
            return False
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            if os.path.exists(path) and _is_socket(path):
                os.unlink(path)
            listener.bind(path)
            os.chmod(path, 0o666)  # every user may log, as with any syslog daemon
        except OSError as error:
            listener.close()
            self._log.warning(f"built-in syslog: cannot bind {path}: {error.strerror}")
            return False
        listener.setblocking(False)
        # The kernel tells each sender's pid (SCM_CREDENTIALS): what a line is
        # attributed to a unit by, whether or not the message names a pid.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._syslog, self._syslog_path, self._min_severity = listener, path, min_severity
        return True

    def _read_syslog(self) -> None:
        assert self._syslog is not None
        now = datetime.datetime.now(datetime.UTC).astimezone()
        for _ in range(256):  # bounded: other descriptors get their turn too
            try:
                datagram, ancillary, _flags, _address = self._syslog.recvmsg(65536, _CREDS_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            message = parse_syslog(datagram, now)
            sender = _sender_pid(ancillary) or message.pid
            if int(message.severity) > self._min_severity:
                continue
            name = message.ident or "syslog"
            resolve = self.unit_of_pid
            self.emit(
                name,
                message.pid,
                message.text.encode("utf-8", "replace"),
                priority=int(message.facility) * 8 + int(message.severity),
                unit_file=False,
                unit=resolve(sender) if resolve and sender else None,
                stream="syslog",
            )

    # ---- output ------------------------------------------------------------------------
    def emit(
        self,
        name: str,
        pid: int | None,
        line: bytes,
        priority: int | None = None,
        unit_file: bool = True,
        journal: bool = False,
        unit: str | None = None,
        stream: str = "stdout",
    ) -> None:
        text = line.decode("utf-8", "replace")
        now = time.time()
        severity = 6 if priority is None else priority & 7
        self.ring.add(now, unit, name, pid, text, stream, severity)
        if journal and self._journal is not None and self._to_journal(name, pid, text):
            return
        rendered = self._format.render(name, pid, text, priority=priority)
        self._sink.write(rendered)
        if self._log_dir and unit_file:
            # Files are read later, without the stream's context: each line
            # says when it was written (local time, ISO 8601 with offset).
            stamp = datetime.datetime.fromtimestamp(now).astimezone().isoformat("T", "milliseconds")
            self._file(name).write(f"{stamp} ".encode() + rendered)

    def _to_journal(self, name: str, pid: int | None, text: str) -> bool:
        """journald's native protocol: KEY=VALUE lines in one datagram."""
        assert self._journal is not None
        fields = [f"MESSAGE={text}", f"SYSLOG_IDENTIFIER={name}", "PRIORITY=6"]
        if pid:
            fields.append(f"SYSLOG_PID={pid}")
        try:
            self._journal.send("\n".join(fields).encode("utf-8", "replace") + b"\n")
        except OSError:
            return False  # full or gone: the line goes to the stream instead
        return True

    def _file(self, name: str) -> RotatingFile:
        handle = self._files.get(name)
        if handle is None:
            assert self._log_dir is not None
            os.makedirs(self._log_dir, exist_ok=True)
            handle = RotatingFile(
                os.path.join(self._log_dir, f"{name}.log"), self._max_bytes, self._keep
            )
            self._files[name] = handle
        return handle

    def close(self) -> None:
        """Read what the pipes still hold, write everything out, close."""
        for fd in list(self._pipes):
            for _ in range(64):
                if fd not in self._pipes:
                    break
                if self._sink.saturated():
                    self._sink.drain(DRAIN_AT_EXIT)
                self._read_pipe(fd)
        for fd, pipe in list(self._pipes.items()):
            for line in pipe.splitter.flush():
                self.emit(pipe.name, pipe.pid, line, journal=pipe.journal, unit=pipe.unit)
            os.close(fd)
        self._pipes.clear()
        self._sink.drain(DRAIN_AT_EXIT)
        self._sink.close()
        for handle in self._files.values():
            handle.close()
        if self._journal is not None:
            self._journal.close()
        if self._syslog is not None:
            self._syslog.close()
            if self._syslog_path and _is_socket(self._syslog_path):
                os.unlink(self._syslog_path)


def _unread(fd: int) -> int:
    """Bytes waiting in the pipe ``fd`` (FIONREAD); 0 when unknown."""
    import fcntl
    import termios

    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]
    except OSError:
        return 0


_UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid
_CREDS_SPACE = socket.CMSG_SPACE(_UCRED.size)


def _sender_pid(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = _UCRED.unpack(data[: _UCRED.size])[0]
            return pid if pid > 0 else None
    return None


def _is_socket(path: str) -> bool:
    import stat

    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def _socket_alive(path: str) -> bool:
    """Does a datagram socket at ``path`` have a reader (a live syslog daemon)?"""
    if not _is_socket(path):
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()
