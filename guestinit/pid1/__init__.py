"""Being PID 1 (or a child subreaper).

- ``model``   the pure lifecycle: ``step(state, event, now) -> (state, actions)``.
- ``loop``    the one loop: waits on the signal wakeup fd and the next deadline,
              turns what happened into events, executes the model's actions.
- ``signals`` handlers that only wake the loop; which signals each personality
              forwards; the signal state the main process starts with.
- ``signalfd`` the blocked fault signals (dumb-init's set), read with their si_code.
- ``tty``     dumb-init's terminal hand-off and its move to ``/``.
- ``reaper``  the only caller of ``waitpid`` in the program.
- ``spawn``   fork/exec of the main process (never ``subprocess``).
- ``drain``   who "everything else" is: ``kill(-1)`` as PID 1, descendants otherwise.
- ``notify``  sd_notify messages to the parent (podman, systemd-nspawn).
"""
