"""The stdout sink with a real pipe, and the rotating file (tmp_path)."""

import os
import select
import threading
import time
import tty
from pathlib import Path

from guestinit.logs.sink import RotatingFile, StdoutSink


def test_sink_never_blocks_and_counts_what_it_drops() -> None:
    read_fd, write_fd = os.pipe()
    try:
        sink = StdoutSink(write_fd, limit=4096)
        line = b"x" * 1000 + b"\n"
        for _ in range(1000):  # far more than the pipe (64 KiB) and the queue hold
            sink.write(line)
        assert sink.pending() and sink.dropped > 0
        received = b""
        while sink.pending():
            received += os.read(read_fd, 1 << 20)
            sink.flush()
        os.set_blocking(read_fd, False)
        try:
            while chunk := os.read(read_fd, 1 << 20):
                received += chunk
        except BlockingIOError:
            pass
        assert b"log lines dropped (stdout too slow)" in received
        assert received.count(line) >= 64
        sink.close()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_rotation_keeps_n_files(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    log = RotatingFile(str(path), max_bytes=100, keep=2)
    for index in range(10):
        log.write(f"{index:02d}".encode() + b"." * 47 + b"\n")
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.log", "web.log.1", "web.log.2"]
    assert path.read_bytes().startswith(b"08") and (tmp_path / "web.log.2").read_bytes().startswith(
        b"04"
    )


def test_a_regular_file_is_appended_to_as_the_shell_opened_it(tmp_path: Path) -> None:
    """``guestinit >> app.log``: earlier content stays, and our lines and the
    main process's lines (same fd, shared O_APPEND description) all land whole."""
    path = tmp_path / "app.log"
    path.write_bytes(b"from an earlier run\n")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        sink = StdoutSink(fd)
        assert sink.fileno() == fd  # not reopened: a reopen would start at offset 0
        for index in range(200):
            sink.write(f"sink-{index}\n".encode())
            os.write(fd, f"main-{index}\n".encode())  # the main process, same file
        assert not sink.pending()
        sink.close()
    finally:
        os.close(fd)
    lines = path.read_bytes().decode().splitlines()
    assert lines[0] == "from an earlier run"
    assert sorted(lines[1:]) == sorted(
        [f"sink-{i}" for i in range(200)] + [f"main-{i}" for i in range(200)]
    )


def test_a_terminal_gets_every_line(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)  # no \n -> \r\n translation: compare bytes as written
    try:
        sink = StdoutSink(slave)
        assert sink.fileno() != slave  # a description of its own, non-blocking
        expected = b"".join(f"line {i} {'x' * 50}\n".encode() for i in range(2000))
        received = bytearray()
        for index in range(2000):
            sink.write(f"line {index} {'x' * 50}\n".encode())
            received += _read_available(master)
        while sink.pending() or len(received) < len(expected):
            sink.flush()
            received += _read_available(master, wait=1.0)
        assert bytes(received) == expected
        sink.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_slow_pipe_reader_loses_nothing_and_lines_never_interleave() -> None:
    """A reader slower than the writers; the main process writes into the same
    pipe (blocking, as a program does) while the sink queues and flushes."""
    read_fd, write_fd = os.pipe()
    received = bytearray()

    def slow_reader() -> None:
        while chunk := os.read(read_fd, 512):
            received.extend(chunk)
            time.sleep(0.0005)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    main_fd = os.dup(write_fd)
    try:
        sink = StdoutSink(write_fd)

        def main_process() -> None:
            for index in range(3000):
                os.write(main_fd, f"main {index} {'m' * 80}\n".encode())

        writer = threading.Thread(target=main_process)
        writer.start()
        for index in range(3000):
            sink.write(f"sink {index} {'s' * 80}\n".encode())
            if sink.pending():
                _wait_writable(sink.fileno())
                sink.flush()
        while sink.pending():
            _wait_writable(sink.fileno())
            sink.flush()
        writer.join()
        sink.close()
    finally:
        os.close(main_fd)
        os.close(write_fd)
        reader.join(timeout=60)
        os.close(read_fd)
    lines = bytes(received).decode().splitlines()
    assert sink.dropped == 0
    assert [ln for ln in lines if ln.startswith("sink ")] == [
        f"sink {i} {'s' * 80}" for i in range(3000)
    ]
    assert [ln for ln in lines if ln.startswith("main ")] == [
        f"main {i} {'m' * 80}" for i in range(3000)
    ]
    assert len(lines) == 6000  # nothing else: no line was cut into two


def _wait_writable(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    poller.poll(30_000)


def _read_available(fd: int, wait: float = 0.0) -> bytes:
    data = b""
    while select.select([fd], [], [], wait)[0]:
        data += os.read(fd, 65536)
        wait = 0.0
    return data
