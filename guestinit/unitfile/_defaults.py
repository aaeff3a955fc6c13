"""Defaults, and where they differ from systemd's, why.

A container gets ``docker stop``: SIGTERM, then SIGKILL 10 s later. systemd's
defaults assume a machine that may take its time, so the stop timeout and the
restart backoff are ours; each differing value names systemd's next to it.

Restart backoff is exponential. systemd (v254+) grows the delay from RestartSec=
to RestartMaxDelaySec= over RestartSteps= restarts; the service layer should read
that as a geometric progression (the parser only stores the three numbers):

    delay(n) = RestartSec * (RestartMaxDelaySec / RestartSec) ** (min(n, steps) / steps)

With 100 ms, 30 s and 8 steps each step multiplies the delay by 300 ** (1/8), about
2.04: 0.1, 0.2, 0.42, 0.85, 1.7, 3.5, 7.1, 14.6, then 30 s for good. systemd's own
defaults (RestartSteps=0, RestartMaxDelaySec=infinity) mean a flat RestartSec=,
which hammers a crash-looping service ten times a second.
"""

import math

RESTART_SEC = 0.1  # same as systemd
RESTART_STEPS = 8  # systemd: 0 (no backoff)
RESTART_MAX_DELAY_SEC = 30.0  # systemd: infinity
TIMEOUT_START_SEC = 90.0  # same as systemd's DefaultTimeoutStartSec=
# systemd: 90 s (DefaultTimeoutStopSec=). 5 s leaves ExecStop= and the SIGKILL
# of stragglers room inside docker stop's 10 s.
TIMEOUT_STOP_SEC = 5.0
START_LIMIT_INTERVAL_SEC = 10.0  # same as systemd's DefaultStartLimitIntervalSec=
START_LIMIT_BURST = 5  # same as systemd's DefaultStartLimitBurst=

SYSTEMD_RESTART_STEPS = 0
SYSTEMD_RESTART_MAX_DELAY_SEC = math.inf
SYSTEMD_TIMEOUT_STOP_SEC = 90.0
