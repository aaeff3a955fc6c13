"""Where log lines go: guestinit's stdout, never blocking PID 1, and an
optional per-unit file copy with size-based rotation.

Our stdout is shared with the main process (same open file description), so
making it non-blocking would change the main process's writes too. What we
do depends on what stdout is:

- a pipe or a terminal: opened again (/proc/self/fd/1 gives it an open file
  description of its own) with O_NONBLOCK. Writes carry whole lines of at
  most PIPE_BUF bytes, which a pipe takes all or nothing, so our lines never
  interleave mid-line with the main process's own writes.
- a regular file (``guestinit ... >> app.log``): written through fd 1
  itself. Reopening would start a new description at offset 0 without
  O_APPEND and overwrite the file; fd 1 keeps the shell's O_APPEND and shared
  offset, and a file write never waits for a reader.
- anything else (a socket): fd 1 itself, a write only after poll() said
  writable, at most a page at a time.

When stdout cannot keep up, lines queue; past ``saturated()`` the router
stops reading the services' pipes (they wait, as they would on a slow pipe
of their own: nothing is lost), and only past the hard ``limit`` are lines
dropped and counted, with a "N lines dropped" notice once there is room, so
a flood never delays signal handling or reaping.
"""

import os
import select
import stat
import time

QUEUE_LIMIT = 1024 * 1024
# The most a pipe takes in one atomic write (Linux PIPE_BUF).
PIPE_BUF = 4096


class StdoutSink:
    def __init__(self, fd: int = 1, limit: int = QUEUE_LIMIT) -> None:
        self._fd, self._own, self._regular = _stdout_for_us(fd)
        self._queue = bytearray()
        self._limit = limit
        self.dropped = 0
        self._gone = False

    def write(self, line: bytes) -> None:
        if self._gone:
            return
        if self._queue or self.dropped or not self._writable_now():
            self._enqueue(line)
            self.flush()
            return
        written = self._write_some(line)
        if written is None:
            return
        if written < len(line):
            self._enqueue(line[written:])

    def pending(self) -> bool:
        """True while lines wait for stdout to become writable."""
        return bool(self._queue) or self.dropped > 0

    def saturated(self) -> bool:
        """Enough is queued: stop reading more service output for now."""
        return len(self._queue) >= self._limit // 4

    def fileno(self) -> int:
        return self._fd

    def flush(self) -> None:
        """Write what stdout takes now (call when it is writable)."""
        while self._queue and self._writable_now():
            written = self._write_some(self._queue)
            if written is None:
                self._queue.clear()
                return
            if written == 0:
                return
            del self._queue[:written]
        if self.dropped and not self._queue:
            notice = f"guestinit: {self.dropped} log lines dropped (stdout too slow)\n".encode()
            self.dropped = 0
            self._queue += notice
            self.flush()

    def drain(self, timeout: float) -> None:
        """At exit: wait up to ``timeout`` seconds for stdout to take the queue."""
        deadline = time.monotonic() + timeout
        while self.pending() and (remaining := deadline - time.monotonic()) > 0:
            poller = select.poll()
            poller.register(self._fd, select.POLLOUT)
            if not poller.poll(remaining * 1000):
                return
            self.flush()

    def _write_some(self, data: bytes | bytearray) -> int | None:
        """One write of the head of ``data``: bytes written, or None when
        stdout is gone for good (nobody reads it any more)."""
        piece = data if self._regular else _whole_lines(data, PIPE_BUF)
        try:
            return os.write(self._fd, piece)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            # EPIPE (nobody reads any more) or worse: stop writing for good.
            self._gone = True
            self._queue.clear()
            self.dropped = 0
            return None

    def _writable_now(self) -> bool:
        if self._own or self._regular:
            return True  # non-blocking, or a file: os.write never waits long
        poller = select.poll()
        poller.register(self._fd, select.POLLOUT)
        return bool(poller.poll(0))

    def _enqueue(self, line: bytes) -> None:
        if len(self._queue) + len(line) > self._limit:
            self.dropped += 1
        else:
            self._queue += line

    def close(self) -> None:
        if self._own:
            os.close(self._fd)


def _whole_lines(data: bytes | bytearray, most: int) -> bytes | bytearray:
    """The longest head of ``data`` made of whole lines and at most ``most``
    bytes; a single longer line is cut at ``most`` (it cannot be atomic)."""
    if len(data) <= most:
        return data
    end = data.rfind(b"\n", 0, most)
    return data[: end + 1] if end >= 0 else data[:most]


def _stdout_for_us(fd: int) -> tuple[int, bool, bool]:
    """(descriptor to write, whether it is ours to close, whether it is a
    regular file); see the module docstring for the three cases."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return fd, False, False
    if stat.S_ISREG(mode) or stat.S_ISBLK(mode):
        return fd, False, True
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        flags = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
        try:
            return os.open(f"/proc/self/fd/{fd}", flags), True, False
        except OSError:
            pass
    return fd, False, False


class RotatingFile:
    """``DIR/UNIT.log``, rotated to ``.1`` ... ``.N`` past ``max_bytes``."""

    def __init__(self, path: str, max_bytes: int, keep: int) -> None:
        self._path = path
        self._max = max_bytes
        self._keep = keep
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open on purpose
        self._size = self._file.tell()

    def write(self, line: bytes) -> None:
        if self._size + len(line) > self._max and self._size > 0:
            self._rotate()
        self._file.write(line)
        self._size += len(line)

    def _rotate(self) -> None:
        self._file.close()
        for index in range(self._keep - 1, 0, -1):
            older = f"{self._path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self._path}.{index + 1}")
        if self._keep > 0:
            os.replace(self._path, f"{self._path}.1")
        else:
            os.unlink(self._path)
        self._file = open(self._path, "ab", buffering=0)  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        self._file.close()
