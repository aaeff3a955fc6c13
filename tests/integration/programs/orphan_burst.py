"""Main process for reaping tests: makes COUNT orphans (each child forks a
grandchild and exits at once), then waits until no zombie is left in this PID
namespace and prints ``zombies 0`` (or how many remain after TIMEOUT s)."""

import os
import sys
import time

count = int(sys.argv[1])
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
for _ in range(count):
    if os.fork() == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    os.wait()  # our own child: reaped here; the grandchild is PID 1's job


def zombies() -> int:
    found = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    text = stat.read()
            except OSError:
                continue
            if text[text.rfind(b")") + 2 :].startswith(b"Z"):
                found += 1
    return found


deadline = time.monotonic() + timeout
while (left := zombies()) and time.monotonic() < deadline:
    time.sleep(0.01)
print(f"zombies {left}", flush=True)
