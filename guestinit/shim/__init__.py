"""Keeping the resource shim (procshim) mounted while guestinit is PID 1.

procshim runs as a child process, never inside PID 1 (libfuse and ctypes stay
out of the init). It mounts its FUSE filesystem, binds each virtual file over
the real one in our mount namespace and reports on a pipe; this package starts
it, watches it, and when it dies or hangs removes the stale binds at once so
readers see the real files again, then starts it anew.

- ``mode``      whether to run it: --procshim=auto|on|off|required, and what the
                machine allows (/dev/fuse, CAP_SYS_ADMIN)
- ``keeper``    the supervisor, shaped like the loop's ``Services``; which mounts
                a dead child left comes from ``procshim.mounttable`` (pure)
- ``system``    the keeper's side effects; ``factory`` the decision at start-up
"""
