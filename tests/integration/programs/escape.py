"""A unit's main process that leaves a daemon behind the way old daemons do:
fork, setsid, fork again, the middle one exits (so the daemon is re-parented
to PID 1 and sits in a session of its own). Writes the daemon's pid to argv[1]
and then sleeps."""

import os
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(sys.argv[1], "w") as out:
            out.write(str(os.getpid()))
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
while True:
    time.sleep(1)
