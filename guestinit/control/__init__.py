"""The control channel: ``guestinit ctl`` talking to the running service manager.

- ``protocol``  pure: the wire format (newline-delimited JSON), verbs and their
                arguments, validation, ``LineBuffer`` framing. The protocol is
                specified in its docstring and in README.md.
- ``results``   pure: the ``result`` shape of every verb (TypedDicts) and the
                exit code systemctl would give for it (``exit_for``).
- ``server``    side effects: the listening AF_UNIX socket, SO_PEERCRED checks,
                non-blocking reads and writes driven by the PID-1 loop.
- ``render``    pure: results -> the text systemctl would print.
- ``client``    ``guestinit ctl VERB ...``: parse, connect, send, print, exit.

Import cost: ``client``, ``render`` and ``protocol`` import only ``json``,
``socket``, ``os``, ``sys``, ``time`` and ``enum`` (already loaded by ``re``),
because ``guestinit ctl health`` runs as a container healthcheck every few
seconds. ``results`` (typing) and ``server`` are for the manager's side.
"""
