"""Service supervision: systemd's service semantics without systemd.

Pure (no I/O): ``states`` (the vocabulary: sub-states, results, types),
``model`` (one service's ``step(config, state, event, now)``), ``backoff``
(restart delays, start limits), ``notify_message`` (sd_notify datagrams).
With side effects, driven by PID 1's loop: ``notify_socket`` (receiving
sd_notify), ``spawn`` (fork/exec of unit commands with their execution
environment, built purely by ``exec_env``).
This package is imported only when units are in use, so it may use
dataclasses and enums freely (see guestinit/__init__.py on start-up cost).
"""
