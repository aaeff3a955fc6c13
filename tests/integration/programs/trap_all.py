"""Main process for forwarding tests: records every signal it receives.

Prints ``ready`` once its handlers are in place, then ``got N`` per signal;
exits 0 after the signal named on its command line (default SIGTERM).
"""

import os
import signal
import sys

last = int(sys.argv[1]) if len(sys.argv) > 1 else int(signal.SIGTERM)
uncatchable = {signal.SIGKILL, signal.SIGSTOP, 32, 33}


def record(number: int, frame: object) -> None:
    os.write(1, f"got {number}\n".encode())
    if number == last:
        os._exit(0)


for n in range(1, signal.NSIG):
    if n not in uncatchable:
        signal.signal(n, record)
os.write(1, b"ready\n")
while True:
    signal.pause()
