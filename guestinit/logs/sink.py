"""Where log lines go: guestinit's stdout, never blocking PID 1, and an
optional per-unit file copy with size-based rotation.

Our stdout is shared with the main process (same open file), so making it
non-blocking would change the main process's writes too. Instead we open it
again (/proc/self/fd/1 gives a pipe or terminal a new open file of its own)
with O_NONBLOCK. When stdout cannot keep up, lines are queued up to a bound,
then dropped and counted; a "N lines dropped" notice follows once there is
room, so a flooding service never delays signal handling or reaping.
"""

import errno
import os
import select

QUEUE_LIMIT = 1024 * 1024


class StdoutSink:
    def __init__(self, fd: int = 1, limit: int = QUEUE_LIMIT) -> None:
        self._fd, self._own = _nonblocking_copy(fd)
        self._queue = bytearray()
        self._limit = limit
        self.dropped = 0
        # A blocking fd (no reopen possible) takes at most one page per write
        # after poll() said writable, so that write cannot block.
        self._chunk = 65536 if self._own else 4096

    def write(self, line: bytes) -> None:
        if self._queue or self.dropped or not self._writable_now():
            self._enqueue(line)
            self.flush()
            return
        try:
            written = os.write(self._fd, line[: self._chunk])
        except BlockingIOError:
            written = 0
        except OSError as error:
            if error.errno == errno.EPIPE:
                self.dropped += 1  # nobody reads our stdout any more
                return
            raise
        if written < len(line):
            self._enqueue(line[written:])

    def pending(self) -> bool:
        """True while lines wait for stdout to become writable."""
        return bool(self._queue) or self.dropped > 0

    def fileno(self) -> int:
        return self._fd

    def flush(self) -> None:
        """Write what stdout takes now (call when it is writable)."""
        while self._queue and self._writable_now():
            try:
                written = os.write(self._fd, self._queue[: self._chunk])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._queue.clear()
                return
            del self._queue[:written]
        if self.dropped:
            notice = f"guestinit: {self.dropped} log lines dropped (stdout too slow)\n".encode()
            self.dropped = 0
            self._queue += notice
            self.flush()

    def _writable_now(self) -> bool:
        if self._own:
            return True  # non-blocking: os.write says EAGAIN itself
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


def _nonblocking_copy(fd: int) -> tuple[int, bool]:
    """A non-blocking descriptor for the same pipe or terminal as ``fd``, and
    whether it is ours to close. A socket or a file cannot be reopened: then
    writes use ``fd`` itself, checked with poll() first so they do not block
    (a pipe that polls writable takes at least one page)."""
    try:
        return os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC), True
    except OSError:
        return fd, False


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
