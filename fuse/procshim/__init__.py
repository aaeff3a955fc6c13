"""procshim: /proc and /sys files computed from the cgroup's real limits.

Layout (arrows point down; nothing below imports upward):

- ``files``       the one object that reads files, below an injectable root
- ``cgroup/``     what the cgroup says: ``detect()`` picks one ``CgroupReader``
                  (v1, v2, hybrid) whose methods return frozen ``*Readings``
- ``render/``     one pure function per virtual file: host text + readings -> bytes;
                  missing readings give back the host text unchanged
- ``views``       virtual path -> renderer, so the FUSE layer stays a thin shell
- ``ops``/``serve`` the FUSE binding (written separately; not imported here)
"""
