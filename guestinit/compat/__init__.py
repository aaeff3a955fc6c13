"""Drop-in personalities: run through a link named ``tini`` or ``dumb-init``,
guestinit takes that tool's command line, environment, messages and exit
codes, so replacing /usr/bin/tini or /usr/bin/dumb-init changes nothing for
scripts. Behaviour beyond theirs (the bounded drain as PID 1) only ever gives
processes more time to clean up, never less.
"""
