"""procshim: /proc and /sys files computed from the cgroup's real limits.

Layout (arrows point down; nothing below imports upward):

- ``cli``         the command line: ``mount`` (in a container), ``serve`` (host
                  mode), ``check``; ``check`` prints readings and views
- ``serve``       the running server: mount, binds, heartbeat, the guard that
                  detaches them when it dies, stop; ``_libc``
                  mount(2)/umount2(2); ``binding`` mfusepy or fusepy
- ``ops``         the FUSE operations; the only place that maps errors to errno
- ``snapshot``    one file's bytes for one reader: host text + that reader's
                  cgroup through ``views``; ``targets`` finds the reader's cgroup
                  (or its PID namespace init's); ``loadtrack`` keeps load averages
- ``static``      the files rendered once into plain files: the layer guestinit
                  binds under ours, so readers never meet the host's files
- ``host``        the host's real files, opened before the binds hide them
- ``views``       virtual path -> renderer (pure)
- ``render/``     one pure function per virtual file: host text + readings -> bytes;
                  missing readings give back the host text unchanged
- ``cgroup/``     what the cgroup says: ``detect()`` picks one ``CgroupReader``
                  (v1, v2, hybrid) whose methods return frozen ``*Readings``
- ``files``       the one object that reads files, below an injectable root
- ``mounttable``  which mounts a dead server left behind (pure)
"""

__version__ = "0.1.0"
