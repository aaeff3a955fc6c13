"""Catch real syslog datagrams: a throwaway AF_UNIX socket standing in for /dev/log.

Used by the live tests here and by tests/fixtures/syslog/capture_datagrams.py.
"""

from __future__ import annotations

import logging
import logging.handlers
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOGGER = shutil.which("logger")


@contextmanager
def syslog_socket() -> Iterator[tuple[str, socket.socket]]:
    """A bound datagram socket in a fresh directory; both removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="gi-syslog-") as tmp:
        path = str(Path(tmp) / "log")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)
            sock.settimeout(5)
            yield path, sock
        finally:
            sock.close()


def logger_datagram(*args: str) -> bytes:
    """What util-linux ``logger -u SOCKET ARGS...`` sends."""
    if LOGGER is None:
        raise RuntimeError("util-linux logger is not installed")
    with syslog_socket() as (path, sock):
        subprocess.run([LOGGER, "--socket-errors=on", "-u", path, *args], check=True, timeout=10)
        return sock.recv(65536)


def handler_datagram(
    message: str, *, ident: str = "", level: int = logging.WARNING, facility: int = 1
) -> bytes:
    """What Python's ``logging.handlers.SysLogHandler`` sends."""
    with syslog_socket() as (path, sock):
        handler = logging.handlers.SysLogHandler(address=path, facility=facility)
        handler.ident = ident
        try:
            record = logging.LogRecord("capture", level, __file__, 0, message, None, None)
            handler.emit(record)
        finally:
            handler.close()
        return sock.recv(65536)
