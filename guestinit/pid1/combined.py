"""Two Services as one for the loop: the service manager and a helper keeper
(the resource shim's), which must both be up before the main process starts.

The manager's events pass through, but UnitsReady is held until every part is
ready; UnitsStopped waits for every part too. Processes are offered to each
part in turn.
"""

from guestinit.pid1 import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from guestinit.pid1.loop import Services


class CombinedServices:
    def __init__(self, parts: "list[Services]") -> None:
        self._parts = parts
        self._ready: set[int] = set()
        self._stopped: set[int] = set()
        self._events: list[model.Event] = []

    def readers(self) -> "dict[int, Callable[[], None]]":
        merged: dict[int, Callable[[], None]] = {}
        for part in self._parts:
            merged.update(part.readers())
        return merged

    def writers(self) -> "dict[int, Callable[[], None]]":
        merged: dict[int, Callable[[], None]] = {}
        for part in self._parts:
            merged.update(part.writers())
        return merged

    def next_deadline(self) -> float | None:
        due = [d for d in (part.next_deadline() for part in self._parts) if d is not None]
        return min(due) if due else None

    def tick(self, now: float) -> None:
        for part in self._parts:
            part.tick(now)

    def claim(self, pid: int, status: int, now: float) -> bool:
        return any(part.claim(pid, status, now) for part in self._parts)

    def start(self, now: float) -> None:
        for part in self._parts:
            part.start(now)

    def stop_all(self, now: float) -> None:
        for part in reversed(self._parts):
            part.stop_all(now)

    def events(self) -> "list[model.Event]":
        self._collect()
        events, self._events = self._events, []
        return events

    def has_events(self) -> bool:
        return bool(self._events) or any(part.has_events() for part in self._parts)

    def main_spawned(self, pid: int) -> None:
        for part in self._parts:
            part.main_spawned(pid)

    def close(self) -> None:
        for part in self._parts:
            part.close()

    def _collect(self) -> None:
        everyone = set(range(len(self._parts)))
        for index, part in enumerate(self._parts):
            for event in part.events():
                if isinstance(event, model.UnitsReady):
                    self._ready.add(index)
                    if self._ready == everyone:
                        self._events.append(event)
                elif isinstance(event, model.UnitsStopped):
                    self._stopped.add(index)
                    if self._stopped == everyone:
                        self._events.append(event)
                else:
                    self._events.append(event)
