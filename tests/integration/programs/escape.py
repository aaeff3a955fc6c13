"""A unit's main process that leaves a daemon behind the way old daemons do:
fork, setsid, fork again, the middle one exits (so the daemon is re-parented
to PID 1 and sits in a session of its own). Once re-parented, the daemon
writes its pid to argv[1] (whole, by rename) and then sleeps."""

import os
import sys
import time

if os.fork() == 0:
    os.setsid()
    middle = os.getpid()
    if os.fork() == 0:
        while os.getppid() == middle:  # the middle one has not exited yet
            time.sleep(0.001)
        with open(sys.argv[1] + ".new", "w") as out:
            out.write(str(os.getpid()))
        os.rename(sys.argv[1] + ".new", sys.argv[1])
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
while True:
    time.sleep(1)
