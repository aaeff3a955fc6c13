"""Rate limits for log lines that untrusted processes can provoke (pure: the
clock is injected).

A service running as ``nobody`` can send 20,000 bad notify datagrams a
second; one warning each would flood ``docker logs`` and cost PID 1 the time
of writing them. Each kind of message (a key: a short text such as
``"notify: datagrams dropped (truncated)"``) may pass ``burst`` times per
``interval`` seconds; the rest are counted, and once the window is over the
count is reported in one line (``... 19990 similar messages suppressed``).

Use ``LimitedLog`` where lines are logged, and call its ``flush()`` from a
periodic tick (and ``next_deadline()`` to be woken for it), so the count is
reported even when the flood simply stops.
"""

import dataclasses
import time
from collections.abc import Callable

from guestinit import _log

# Defaults: generous for a real problem (a few lines say what is wrong), and
# cheap under a flood (one line per key per 10 s after the first five).
BURST = 5
INTERVAL = 10.0
# Distinct keys tracked at once; beyond that every new key shares one window,
# so keys built from untrusted values cannot grow memory without bound.
MAX_KEYS = 256
OVERFLOW_KEY = "other messages"


@dataclasses.dataclass
class _Window:
    start: float
    passed: int = 0
    suppressed: int = 0


class RateLimiter:
    """``burst`` messages per key per ``interval`` seconds."""

    def __init__(
        self,
        burst: int = BURST,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._max_keys = max_keys
        self._windows: dict[str, _Window] = {}
        self._ended: list[tuple[str, int]] = []

    def allow(self, key: str) -> bool:
        """May a message of kind ``key`` be logged now? (Counts it if not.)"""
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window.start >= self.interval:
            self._close(key, window)
            window = None
        if window is None:
            if len(self._windows) >= self._max_keys:
                self._expire(now)
            if len(self._windows) >= self._max_keys and key != OVERFLOW_KEY:
                return self.allow(OVERFLOW_KEY)
            window = self._windows[key] = _Window(now)
        if window.passed < self.burst:
            window.passed += 1
            return True
        window.suppressed += 1
        return False

    def expired(self, everything: bool = False) -> list[tuple[str, int]]:
        """Windows that are over (``everything``: all, as at exit) and
        suppressed something: (key, how many). Each is reported once; ended
        windows are forgotten."""
        self._expire(float("inf") if everything else self._clock())
        ended, self._ended = self._ended, []
        return ended

    def next_expiry(self) -> float | None:
        """When the earliest window with something suppressed ends (clock time)."""
        if self._ended:
            return self._clock()
        ends = [w.start + self.interval for w in self._windows.values() if w.suppressed]
        return min(ends) if ends else None

    def _expire(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if now - window.start >= self.interval:
                self._close(key, window)

    def _close(self, key: str, window: _Window) -> None:
        del self._windows[key]
        if window.suppressed:
            self._ended.append((key, window.suppressed))


class LimitedLog:
    """A Log whose rate-limited lines say, once their window is over, how
    many like them were suppressed."""

    def __init__(self, log: _log.Log, limiter: RateLimiter | None = None) -> None:
        self.log = log
        self.limiter = limiter or RateLimiter()

    def emit(self, level: int, key: str, text: str) -> None:
        """``text`` at ``level`` unless messages of kind ``key`` are over their limit."""
        if not self.log.enabled(level):
            return  # not printed anyway: counting it would report phantoms
        if self.limiter.allow(key):
            self.log.emit(level, text)

    def warning_of(self, key: str, text: str) -> None:
        self.emit(_log.WARNING, key, text)

    def flush(self, everything: bool = False) -> None:
        """Report the windows that are over (``everything``: at exit, all)."""
        for key, count in self.limiter.expired(everything):
            noun = "message" if count == 1 else "messages"
            self.log.warning(f"{key}: {count} similar {noun} suppressed")

    def next_deadline(self) -> float | None:
        return self.limiter.next_expiry()
