"""Main process for -g tests: forks a child in the same process group; both
report SIGUSR1 as ``PID-ROLE got 10``; the main process exits on SIGTERM."""

import os
import signal
import sys

role = "main"
child = os.fork()
if child == 0:
    role = "child"


def on_usr1(number: int, frame: object) -> None:
    os.write(1, f"{role} got {number}\n".encode())


signal.signal(signal.SIGUSR1, on_usr1)
if role == "main":
    signal.signal(signal.SIGTERM, lambda n, f: sys.exit(0))
os.write(1, f"{role} ready\n".encode())
while True:
    signal.pause()
