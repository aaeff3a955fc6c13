"""The stdout sink with a real pipe, and the rotating file (tmp_path)."""

import os
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
