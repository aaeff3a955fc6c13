"""The start and stop queues, worked off in dependency order a slice at a time.

A unit starts once nothing it is ordered after is queued, has a start job
running or is activating (nor, Requisite= without After=, is its requisite
still activating), and stops once nothing ordered after it is queued or
deactivating (the start order backwards). What starting or stopping a unit
means is service.transaction's (the callbacks); this module decides only
when. Each ``run`` works at most ``budget`` seconds: the rest is left for the
next turn of PID 1's loop (``has_work``), so a job on thousands of units never
holds the loop long.
"""

import time
from collections.abc import Callable, Container, Mapping

from guestinit.service.jobqueue import JobQueue
from guestinit.service.registry import Registry, Unit
from guestinit.service.states import Active


class Dispatcher:
    def __init__(
        self,
        registry: Registry,
        start: Callable[[Unit, float], None],
        stop: Callable[[Unit, float], None],
        budget: float,
        running: Container[str],
    ) -> None:
        self.starts = JobQueue()
        self.stops = JobQueue()
        self._registry = registry
        self._units = registry.units
        self._start = start
        self._stop = stop
        self._budget = budget
        self._running = running  # units whose start job is under way
        self._edges_seen = -1  # the registry generation the queues last saw

    @property
    def has_work(self) -> bool:
        """A run was cut short, or units were queued since the last one."""
        queued = bool(self.starts or self.stops)
        return self.starts.has_work or self.stops.has_work or (queued and self._registry.stale)

    def changed(self, name: str) -> None:
        """``name`` changed state: the units waiting for it look again."""
        self.starts.changed(name)
        self.stops.changed(name)

    def run(self, now: float) -> None:
        if not (self.starts or self.stops):
            return
        if self._registry.stale:
            # Recomputing the ordering of thousands of units takes tens of
            # ms: a turn of its own; the jobs go on in the next.
            self._registry.edges  # noqa: B018
            return
        edges = self._registry.edges
        if self._edges_seen != self._registry.generation:
            self._edges_seen = self._registry.generation
            self.starts.look_again()
            self.stops.look_again()
        until = time.monotonic() + self._budget
        # At least one unit per run, however busy the machine: never a livelock.
        while self._run_stops(now, until) | self._run_starts(edges, now, until):
            if time.monotonic() > until:
                break

    def _run_starts(self, edges: Mapping[str, set[str]], now: float, until: float) -> bool:
        def waits_for(name: str) -> list[str]:
            waiting = [
                other
                for other in edges.get(name, ())
                if other in self.starts
                or other in self._running
                or self._units[other].active is Active.ACTIVATING
            ]
            # Requisite= without After= still waits for a unit still starting.
            return waiting + [
                other
                for other in self._units[name].deps.requisite
                if other in self._units and self._units[other].active is Active.ACTIVATING
            ]

        progressed = False
        for name in self.starts.ready(waits_for):
            self.starts.discard(name)
            progressed = True
            self._start(self._units[name], now)
            if time.monotonic() > until:
                break  # the rest on the next turns
        return progressed

    def _run_stops(self, now: float, until: float) -> bool:
        reverse = self._registry.stop_edges

        def waits_for(name: str) -> list[str]:
            return [
                other
                for other in reverse.get(name, ())
                if other in self.stops or self._units[other].active is Active.DEACTIVATING
            ]

        progressed = False
        for name in self.stops.ready(waits_for):
            self.stops.discard(name)
            progressed = True
            self._stop(self._units[name], now)
            if time.monotonic() > until:
                break
        return progressed
