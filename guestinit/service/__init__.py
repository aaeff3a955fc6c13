"""Supervising services: the systemd unit semantics guestinit runs.

Pure (no I/O, tested with a fake clock and plain values):

- ``states``          the vocabulary: sub-states and active states, as systemd names them.
- ``model``           ``step(state, event, now) -> (state, actions)`` for one service.
- ``backoff``         restart delays and start limits.
- ``ordering``        After=/Before=/Requires= ... into a start and stop order.
- ``notify_message``  an sd_notify datagram -> ``NotifyMessage``; NotifyAccess= checks.
- ``exec_env``        ``ExecContext`` (how to start one Exec*= command), the service
                      environment, WorkingDirectory=, systemd's pre-exec exit codes.

Side effects (called by the pid1 loop, never blocking it):

- ``tracking``        which processes belong to a unit (reads /proc; sessions, descendants).
- ``notify_socket``   the AF_UNIX datagram socket services notify; sender credentials.
- ``spawn``           fork + exec of one service process; failures come back through a pipe.
"""
