"""guestinit: PID 1 for containers and VM guests.

Layout (see DESIGN.md in the steering repo for the why):

- ``cli``       argument parsing only; ``main()`` reads like a table of contents.
- ``compat/``   tini's and dumb-init's command lines, mapped onto the same config.
- ``pid1/``     being PID 1: the pure lifecycle model, the loop, signals, the one
                reaper, spawning the main process, the drain, parent notification.
- ``_argv``     a tiny getopt-style parser; ``_log`` the stderr logger;
                ``_signames`` signal names <-> numbers.
- ``tmpfiles/`` tmpfiles.d applied without systemd (``systemd-tmpfiles``,
                ``guestinit tmpfiles``), run as a unit's process, never in PID 1.
- ``hints``     runtime environment hints from cgroup limits (pure);
                ``hints_system`` reads the limits, prints or applies them.

Start-up cost matters here (``guestinit -- cmd`` should cost about a bare
interpreter), so the PID-1 path imports only ``os``, ``sys``, ``_signal``,
``select`` and ``errno``: ``signal`` drags in ``enum`` (~5 ms), ``argparse`` and
``getopt`` pull ``re``/``gettext`` (~9 ms), ``dataclasses`` ~19 ms (measured with
``python3 -X importtime`` on Debian's 3.11). Heavier modules stay lazy.
"""

__version__ = "0.1.0"
