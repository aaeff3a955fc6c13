"""Sends COUNT datagrams of SIZE bytes to $NOTIFY_SOCKET, then a barrier (a
pipe's write end with BARRIER=1) and waits until the manager has read
everything before it (it closes the pipe end on arrival).
Usage: notify_flood.py COUNT SIZE [TEXT] (TEXT, e.g. MAINPID=7, instead of SIZE bytes)"""

import array
import os
import select
import socket
import sys

address = os.environ["NOTIFY_SOCKET"]
if address.startswith("@"):
    address = "\0" + address[1:]
count, size = int(sys.argv[1]), int(sys.argv[2])
payload = b"STATUS=" + b"x" * max(0, size - 7)
if len(sys.argv) > 3:
    payload = sys.argv[3].encode()
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
    for _number in range(count):
        out.sendto(payload, address)
    read_end, write_end = os.pipe()
    fds = array.array("i", [write_end]).tobytes()
    out.sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)], 0, address)
    os.close(write_end)
    answered, _, _ = select.select([read_end], [], [], 60.0)
    sys.exit(0 if answered else 1)
