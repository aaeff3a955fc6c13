"""Main process for drain tests.

Starts a background worker that needs CLEANUP seconds after SIGTERM (or
ignores SIGTERM when CLEANUP is "ignore") and writes MARKER when done, then
exits with CODE as soon as the worker is ready (leaving the worker behind).
Usage: worker_tree.py MARKER CLEANUP CODE
"""

import os
import signal
import sys
import time

marker, cleanup, code = sys.argv[1], sys.argv[2], int(sys.argv[3])
ready_r, ready_w = os.pipe()
if os.fork() == 0:
    os.setsid()  # out of the main process's group: only the drain reaches it
    if cleanup == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:

        def on_term(number: int, frame: object) -> None:
            time.sleep(float(cleanup))
            with open(marker, "w") as out:
                out.write(f"cleaned {os.getpid()}\n")
            os._exit(0)

        signal.signal(signal.SIGTERM, on_term)
    os.write(ready_w, f"{os.getpid()}\n".encode())
    while True:
        signal.pause()
worker = os.read(ready_r, 100).decode().strip()
print(f"worker {worker}", flush=True)
sys.exit(code)
