"""Timer units in the manager: start and stop them, keep each one's next
elapse, and start its Unit= when it elapses (side effects: the clock and the
Persistent= stamps; the schedule itself is guestinit.timer.timer_unit)."""

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime

from guestinit import _log
from guestinit.service.registry import Unit
from guestinit.service.states import Active
from guestinit.timer import persist, timer_unit


class Timers:
    def __init__(
        self,
        log: _log.Log,
        units: dict[str, Unit],
        stamp_dir: str,
        start_unit: Callable[[str, float], None],
    ) -> None:
        self._log = log
        self._units = units
        self._stamp_dir = stamp_dir
        self._start_unit = start_unit
        self._boot = time.monotonic()
        # The started timers: a unit's state change looks only at these (a
        # walk over every unit at each change made starting 2,000 units quadratic).
        self._running: dict[str, Unit] = {}

    def start(self, unit: Unit, now: float) -> None:
        config = unit.timer
        assert config is not None
        stamp = persist.read_stamp(self._stamp_dir, unit.name) if config.persistent else None
        state = timer_unit.start(config, unit.name, self._boot, now, _now_real(), stamp)
        target = self._units.get(config.unit)
        if target is not None and target.active is Active.ACTIVE:
            state = dataclasses.replace(state, unit_active_at=now)
        unit.timer_state = state
        self._running[unit.name] = unit
        self._plan(unit, now)
        if unit.timer_next is not None:
            left = max(0.0, unit.timer_next - now)
            self._log.info(f"{unit.name}: next elapse in {left:.0f}s, starts {config.unit}")

    def stop(self, unit: Unit) -> None:
        unit.timer_state = None
        unit.timer_next = None
        self._running.pop(unit.name, None)

    def tick(self, now: float) -> None:
        for unit in list(self._running.values()):
            if unit.timer_next is None or now < unit.timer_next:
                continue
            config, state = unit.timer, unit.timer_state
            assert config is not None and state is not None
            real = _now_real()
            self._log.info(f"{unit.name}: elapsed, starting {config.unit}")
            unit.timer_state = timer_unit.elapse(config, state, unit.name, now, real)
            if config.persistent:
                problem = persist.write_stamp(self._stamp_dir, unit.name, real)
                if problem:
                    self._log.warning(f"{unit.name}: cannot keep its Persistent= stamp: {problem}")
            self._start_unit(config.unit, now)
            self._plan(unit, now)

    def on_unit_change(self, unit: Unit, before: Active, after: Active, now: float) -> None:
        """OnUnitActiveSec= counts from the triggered unit leaving the inactive
        state (a oneshot is never "active" for long), OnUnitInactiveSec= from
        its return to it."""
        at_rest = (Active.INACTIVE, Active.FAILED)
        for timer in list(self._running.values()):
            state = timer.timer_state
            if state is None or timer.timer is None or timer.timer.unit != unit.name:
                continue
            if before in at_rest and after not in at_rest:
                timer.timer_state = dataclasses.replace(state, unit_active_at=now)
            elif after in at_rest and before not in at_rest:
                timer.timer_state = dataclasses.replace(state, unit_inactive_at=now)
            self._plan(timer, now)

    def deadlines(self) -> list[float]:
        return [u.timer_next for u in self._running.values() if u.timer_next is not None]

    def rows(self) -> list[tuple[str, str, float | None, float | None]]:
        """(timer, activates, next epoch, last epoch) for list-timers."""
        rows = []
        now, wall = time.monotonic(), time.time()
        for unit in self._units.values():
            if unit.timer is None or unit.timer_state is None:
                continue
            nxt = round(wall + unit.timer_next - now, 3) if unit.timer_next is not None else None
            last = unit.timer_state.last_trigger_real
            rows.append((unit.name, unit.timer.unit, nxt, last.timestamp() if last else None))
        return rows

    def _plan(self, unit: Unit, now: float) -> None:
        if unit.timer is None or unit.timer_state is None:
            unit.timer_next = None
            return
        unit.timer_next = timer_unit.next_deadline(unit.timer, unit.timer_state, now, _now_real())


def _now_real() -> datetime:
    return datetime.now().astimezone()
