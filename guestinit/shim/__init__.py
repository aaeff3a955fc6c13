"""Keeping the resource shim (procshim) mounted while guestinit is PID 1.

Two layers over each file, so a reader never meets the host's numbers. First
a forked child renders every file once (procshim's own renderers), writes them
into a small tmpfs and binds them over /proc and /sys: the main process starts
right after, its first read already the cgroup's. Then procshim runs as a child
process, never inside PID 1 (libfuse and ctypes stay out of the init): it
mounts its FUSE filesystem, binds each virtual file on top of the static one,
keeps the static layer fresh under its binds, and reports on a pipe. This
package starts it, watches it, and when it dies or hangs removes only its binds
(readers fall back to the static layer), then starts it anew. DESIGN.md here
argues the choice.

- ``mode``      whether to run it: --procshim=auto|on|off|required, and what the
                machine allows (/dev/fuse, CAP_SYS_ADMIN)
- ``keeper``    the supervisor, shaped like the loop's ``Services``; which mounts
                a dead child left comes from ``procshim.mounttable`` (pure)
- ``static``    the static layer: the forked child that renders and binds it
- ``system``    the keeper's side effects; ``factory`` the decision at start-up
"""
