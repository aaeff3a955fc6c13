"""Restart delays, pure.

systemd (254+): the delay is RestartSec= each time, unless both RestartSteps=
and RestartMaxDelaySec= are set: then restart number n waits
RestartSec * (RestartMaxDelaySec / RestartSec) ** ((n - 1) / RestartSteps),
reaching RestartMaxDelaySec at the last step and staying there.

Our default, only for units that set none of RestartSec=, RestartSteps=,
RestartMaxDelaySec= (a deliberate difference, see README): the delay doubles
from 100 ms up to 30 s (0.1, 0.2, 0.4 ... 25.6, 30 s), so a crash loop backs
off quickly without a stuck service waiting long for its first restart.
"""

import math

DEFAULT_RESTART_SEC = 0.1
DEFAULT_MAX_DELAY = 30.0


# RestartSteps not set: our default, doubling from RestartSec up to the cap.
DOUBLING = -1


def restart_delay(restarts: int, base: float, max_delay: float, steps: int) -> float:
    """The delay before restart number ``restarts + 1`` (``restarts`` done so far).

    ``steps`` > 0 is systemd's RestartSteps (geometric growth reaching the cap
    after that many restarts); DOUBLING doubles each time up to the cap; 0
    keeps the delay constant.
    """
    if steps == DOUBLING and base > 0:
        return min(max(max_delay, base), base * 2.0 ** min(restarts, 64))
    if steps <= 0 or base <= 0 or max_delay <= base or math.isinf(max_delay):
        return base  # systemd: no growth without both settings and a start above 0
    ratio = max_delay / base
    return min(max_delay, base * float(ratio ** (min(restarts, steps) / steps)))


class StartLimit:
    """StartLimitIntervalSec/StartLimitBurst: at most ``burst`` starts within
    any ``interval`` seconds (restarts count as starts)."""

    __slots__ = ("burst", "interval", "starts")

    def __init__(self, interval: float, burst: int, starts: tuple[float, ...] = ()) -> None:
        self.interval = interval
        self.burst = burst
        self.starts = starts

    def record(self, now: float) -> tuple["StartLimit", bool]:
        """Count a start at ``now``; returns the new limit and whether it is hit."""
        if self.interval <= 0 or self.burst <= 0:
            return self, False
        recent = tuple(t for t in self.starts if now - t < self.interval)
        if len(recent) >= self.burst:
            return StartLimit(self.interval, self.burst, recent), True
        return StartLimit(self.interval, self.burst, (*recent, now)), False
