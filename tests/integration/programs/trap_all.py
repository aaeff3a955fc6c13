"""Main process for forwarding tests: records every signal delivery it gets.

Prints ``ready`` once its handlers are in place, then ``got N`` per delivery
(read from the wakeup fd, so two queued realtime signals print twice even when
Python's handler would coalesce them); exits 0 after the signal named on its
command line (default SIGTERM).
"""

import os
import select
import signal
import sys

last = int(sys.argv[1]) if len(sys.argv) > 1 else int(signal.SIGTERM)
uncatchable = {signal.SIGKILL, signal.SIGSTOP, 32, 33}
read_fd, write_fd = os.pipe2(os.O_NONBLOCK)
signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
for n in range(1, signal.NSIG):
    if n not in uncatchable:
        signal.signal(n, lambda number, frame: None)
os.write(1, b"ready\n")
while True:
    select.select([read_fd], [], [])
    for number in os.read(read_fd, 1024):
        os.write(1, f"got {number}\n".encode())
        if number == last:
            sys.exit(0)
