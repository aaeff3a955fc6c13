"""Sends its arguments (joined by newlines) to $NOTIFY_SOCKET from its own
pid, then sleeps SECONDS (default 30). Usage: notify_send.py SECONDS LINE..."""

import os
import socket
import sys
import time

address = os.environ["NOTIFY_SOCKET"]
if address.startswith("@"):
    address = "\0" + address[1:]
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
    out.sendto("\n".join(sys.argv[2:]).encode(), address)
time.sleep(float(sys.argv[1]))
