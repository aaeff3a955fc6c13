"""Units waiting for a start (or stop) job, and which of them are worth a look
(pure).

A queued unit waits while some unit it is ordered after is still queued or
still in transition. Looking at every queued unit after every event made a
start of 2,000 units chained by After= quadratic (cubic, with the rescans):
instead a unit found waiting is parked under the units it waits for, and
looked at again only when one of those moves (``changed``) or leaves the
queue. A chain then starts in one pass, in order.
"""

from collections.abc import Callable, Iterable, Iterator


class JobQueue:
    """Queued unit names in request order, plus the ones to look at again."""

    def __init__(self) -> None:
        self._queued: dict[str, None] = {}
        self._look: dict[str, None] = {}
        self._parked: dict[str, set[str]] = {}  # unit -> queued units waiting for it

    def __contains__(self, name: object) -> bool:
        return name in self._queued

    def __len__(self) -> int:
        return len(self._queued)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._queued))

    @property
    def has_work(self) -> bool:
        """Some queued unit is to be looked at (a pass was cut short)."""
        return bool(self._look)

    def add(self, name: str) -> None:
        if name not in self._queued:
            self._queued[name] = None
            self._look[name] = None

    def update(self, names: Iterable[str]) -> None:
        for name in names:
            self.add(name)

    def discard(self, name: str) -> None:
        """``name`` leaves the queue: who waited for it looks again."""
        if self._queued.pop(name, 0) is None:
            self._look.pop(name, None)
            self.changed(name)

    def clear(self) -> None:
        self._queued.clear()
        self._look.clear()
        self._parked.clear()

    def changed(self, name: str) -> None:
        """``name`` changed state: the units parked under it look again."""
        for waiter in self._parked.pop(name, ()):
            if waiter in self._queued:
                self._look[waiter] = None

    def look_again(self) -> None:
        """The ordering changed: every queued unit is looked at afresh."""
        self._parked.clear()
        self._look = dict.fromkeys(self._queued)

    def ready(self, waits_for: Callable[[str], list[str]]) -> Iterator[str]:
        """Queued units that wait for nothing now, in queue order. The caller
        takes each one out (``discard``) before asking for the next, so that
        the units waiting for it are looked at in the same pass."""
        while self._look:
            name = next(iter(self._look))
            del self._look[name]
            if name not in self._queued:
                continue
            waiting = waits_for(name)
            if waiting:
                for other in waiting:
                    self._parked.setdefault(other, set()).add(name)
                continue
            yield name
