"""Main process for job-control tests, run with a terminal on stdin: reports
whether it owns the terminal's foreground, then echoes lines until killed."""

import os
import sys

foreground = os.tcgetpgrp(0) == os.getpgrp()
print(f"foreground {'yes' if foreground else 'no'}", flush=True)
for line in sys.stdin:
    print(f"echo {line.strip()}", flush=True)
