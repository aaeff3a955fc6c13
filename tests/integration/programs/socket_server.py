"""A socket-activated test server: describes what it was given (LISTEN_*
variables and the descriptors from 3 on) and serves the first traffic.

A stream listener: accept one connection, answer with the description as one
JSON line. A datagram socket or FIFO: read one message, append the
description with the message to REPORT. Then exit 0 (the socket unit listens
again for the next one)."""

import json
import os
import select
import socket
import stat
import sys


def describe(fd: int) -> dict[str, object]:
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode):
        return {"fd": fd, "kind": "fifo"}
    sock = socket.socket(fileno=os.dup(fd))
    try:
        name = sock.getsockname()
        # Python gives an abstract AF_UNIX name as bytes (leading NUL).
        address = name.decode() if isinstance(name, bytes) else name
        address = list(address) if isinstance(address, tuple) else address
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        return {
            "fd": fd,
            "kind": "socket",
            "family": sock.family.name,
            "type": sock.type.name,
            "address": name
            if isinstance(name, str)
            else list(name)
            if isinstance(name, tuple)
            else name.decode(errors="replace"),
            "listening": bool(listening),
            "blocking": sock.getblocking(),
        }
    finally:
        sock.close()


def main() -> int:
    report_path = sys.argv[1]
    count = int(os.environ.get("LISTEN_FDS", "0"))
    fds = list(range(3, 3 + count))
    described_fds = [describe(fd) for fd in fds]
    info: dict[str, object] = {
        "pid": os.getpid(),
        "LISTEN_PID": os.environ.get("LISTEN_PID"),
        "LISTEN_FDS": os.environ.get("LISTEN_FDS"),
        "LISTEN_FDNAMES": os.environ.get("LISTEN_FDNAMES"),
        "fds": described_fds,
    }
    if not fds:
        with open(report_path, "a") as report:
            report.write(json.dumps(info) + "\n")
        return 1
    ready, _, _ = select.select(fds, [], [], 60)
    fd = ready[0]
    described = next(d for d in described_fds if d["fd"] == fd)
    if described.get("kind") == "socket" and described.get("listening"):
        listener = socket.socket(fileno=fd)
        connection, _ = listener.accept()
        with connection:
            connection.sendall((json.dumps(info) + "\n").encode())
        return 0
    data = os.read(fd, 65536)
    info["message"] = data.decode(errors="replace")
    info["ready_fd"] = fd
    with open(report_path, "a") as report:
        report.write(json.dumps(info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
