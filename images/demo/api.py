"""The demo's Type=notify service: reports READY=1 and a STATUS= line over
$NOTIFY_SOCKET (as sd_notify does), then serves nothing until SIGTERM."""

import os
import signal
import socket
import sys
import time


def notify(text: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
            out.sendto(text.encode(), "\0" + address[1:] if address[0] == "@" else address)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(print("demo-api: SIGTERM, bye", flush=True)))
time.sleep(0.3)  # pretend to warm up: the main process waits for READY=1
notify("READY=1\nSTATUS=serving the demo")
print("demo-api: ready", flush=True)
while True:
    signal.pause()
