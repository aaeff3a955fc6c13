"""One pure function per virtual file: (host text, readings, ...) -> bytes.

Every renderer gives the host text back unchanged when the readings it
needs are unknown: a container sees the host's numbers rather than an error.
``cpus`` holds the shared choice of visible CPUs and the spreading of CPU time.
"""
