"""The units PID 1's loop has to look at on every turn (pure bookkeeping).

Most loaded units need nothing between events: inactive, or active with no
timeout running. Walking all of them on every turn of the loop, to find the
few with a deadline, processes to wait for or a health check, cost
milliseconds per turn with 2,000 units loaded, and turned each start into
work proportional to every unit. The manager tells the list after each
state change; the loop walks only the units on it.
"""

from collections.abc import Iterator

from guestinit.service.registry import Unit
from guestinit.service.states import KILL_STATES, Sub


def wants_empty(unit: Unit) -> bool:
    """The unit waits for its processes to be gone (they may not be our
    children, so nobody tells us): its emptiness is polled."""
    state = unit.state
    if state is None:
        return False
    forking_unknown = state.sub is Sub.RUNNING and state.main_pid is None
    return state.sub in KILL_STATES or forking_unknown


class Watchlist:
    def __init__(self) -> None:
        self._units: dict[str, Unit] = {}

    def update(self, unit: Unit) -> None:
        """Call after ``unit`` changed state (or its health checks did)."""
        state = unit.state
        watched = unit.health_state is not None or (
            state is not None and (state.next_deadline() is not None or wants_empty(unit))
        )
        if watched:
            self._units[unit.name] = unit
        else:
            self._units.pop(unit.name, None)

    def __iter__(self) -> Iterator[Unit]:
        return iter(list(self._units.values()))

    def waiting_for_empty(self) -> list[Unit]:
        return [unit for unit in self._units.values() if wants_empty(unit)]
