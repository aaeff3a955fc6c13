"""Sends its arguments (joined by newlines) to $NOTIFY_SOCKET from its own
pid, waits for the manager to have read it (sd_notify_barrier: a pipe's write
end goes along with BARRIER=1; the reader closing it is the answer), then
sleeps SECONDS. Without the barrier a sender that exits at once may be gone
before its message is read, and then nobody can tell which unit it was from.
Usage: notify_send.py SECONDS LINE..."""

import array
import os
import select
import socket
import sys
import time

address = os.environ["NOTIFY_SOCKET"]
if address.startswith("@"):
    address = "\0" + address[1:]
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
    out.sendto("\n".join(sys.argv[2:]).encode(), address)
    read_end, write_end = os.pipe()
    fds = array.array("i", [write_end]).tobytes()
    out.sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)], 0, address)
    os.close(write_end)
    select.select([read_end], [], [], 5.0)  # EOF once the manager closed its copy
    os.close(read_end)
time.sleep(float(sys.argv[1]))
