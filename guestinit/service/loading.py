"""Unit files read a few at a time, between turns of PID 1's loop.

Reading and parsing one unit file costs 0.2-2 ms; a start of 2,000 units (or
a daemon-reload with 2,000 loaded) done in one go kept PID 1 from reaping and
forwarding signals for a second or more. The manager asks for the files a job
will need (``preload``) or for a reload, and ``work`` reads them in slices of
at most a given time; the job goes on once ``busy`` is over.
"""

import collections
import gc
import time
from collections.abc import Iterable

from guestinit.service.registry import Registry

_BIG_BATCH = 200


class Loader:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._to_load: collections.deque[str] = collections.deque()
        self._walked: set[str] = set()  # this round: loaded and their pulls queued
        self._to_reload: collections.deque[str] = collections.deque()
        self._reload_warnings: list[str] = []
        self.reload_warnings: list[str] = []  # those of the last finished reload
        self._read = 0  # files read in this batch

    @property
    def busy(self) -> bool:
        return bool(self._to_load or self._to_reload)

    def preload(self, names: Iterable[str]) -> bool:
        """Queue ``names`` and what they pull in for loading; True when
        something is left to read (the caller waits for ``busy`` to end)."""
        self._to_load.extend(name for name in names if name not in self._walked)
        self._registry.hold = True
        self._walk(time.monotonic() + 0.001)  # what is loaded already costs little
        self._batch_over()
        return self.busy

    def reload(self) -> None:
        """daemon-reload: every unit loaded now is read again."""
        if not self._to_reload:
            self._reload_warnings = []
        known = set(self._to_reload)
        self._to_reload.extend(name for name in self._registry.units if name not in known)
        self._registry.hold = self.busy

    def work(self, until: float) -> None:
        """Read files until ``until`` (monotonic) or until nothing is left;
        at least one file per call, however late, so that work always moves."""
        first = True
        while self._to_reload and (first or time.monotonic() < until):
            first = False
            self._reload_warnings += self._registry.reload_one(self._to_reload.popleft())
            self._read += 1
            if not self._to_reload:
                self.reload_warnings = self._reload_warnings
                self._registry.reloaded()
        self._walk(until, at_least_one=first)
        self._batch_over()

    def _batch_over(self) -> None:
        self._registry.hold = self.busy
        if not self.busy and self._read >= _BIG_BATCH:
            # Thousands of long-lived unit records: left to the cyclic
            # collector, each full collection walks them all (100+ ms with
            # 2,000 units, at some allocation in a later turn). Frozen, they
            # are skipped; they hold no reference cycles, so reference
            # counting still frees them when a reload replaces them.
            gc.freeze()
        if not self.busy:
            self._read = 0

    def _walk(self, until: float, at_least_one: bool = False) -> None:
        units = self._registry.units
        while self._to_load:
            name = self._to_load[0]
            if name not in units and not at_least_one and time.monotonic() >= until:
                return
            self._to_load.popleft()
            if name in self._walked:
                continue
            self._walked.add(name)
            unit = units.get(name)
            if unit is None:
                # Kept if it has a file; a name without one is kept only by
                # the job's own closure (a query must not grow the table).
                unit = self._registry.get(name)
                self._read += 1
                at_least_one = False
            self._to_load.extend(sorted(unit.deps.pulls - self._walked))
        self._walked.clear()
