"""[Timer] units: their configuration and when they elapse next (pure).

Monotonic triggers count from a reference and fire once per reference:
OnBootSec= and OnStartupSec= from the start of guestinit (in a container the
two are the same moment), OnActiveSec= from the timer's own start,
OnUnitActiveSec= / OnUnitInactiveSec= from the last time the triggered unit
became active / inactive (so they repeat). OnCalendar= repeats. With
Persistent=yes, a calendar elapse missed while guestinit was not running
(per the stamp of the last trigger) fires at once on start.
AccuracySec= is accepted but we fire at the exact time: never later than
systemd would. RandomizedDelaySec= adds a delay chosen at each elapse
(FixedRandomDelay=yes: the same delay every time, from the unit's name).
"""

import dataclasses
from datetime import datetime

from guestinit.timer.calendar import CalendarError, CalendarSpec, next_elapse, parse_calendar
from guestinit.unitfile import UnitSpec, parse_timespan

_MONOTONIC = {
    "OnActiveSec": "on_active",
    "OnBootSec": "on_boot",
    "OnStartupSec": "on_startup",
    "OnUnitActiveSec": "on_unit_active",
    "OnUnitInactiveSec": "on_unit_inactive",
}
_FLAGS = {
    "Persistent": "persistent",
    "FixedRandomDelay": "fixed_random_delay",
    "RemainAfterElapse": "remain_after_elapse",
}
_BOOLEANS = {
    "1": True,
    "yes": True,
    "true": True,
    "on": True,
    "0": False,
    "no": False,
    "false": False,
    "off": False,
}


@dataclasses.dataclass(frozen=True)
class TimerConfig:
    unit: str
    calendars: tuple[CalendarSpec, ...] = ()
    on_active: tuple[float, ...] = ()
    on_boot: tuple[float, ...] = ()
    on_startup: tuple[float, ...] = ()
    on_unit_active: tuple[float, ...] = ()
    on_unit_inactive: tuple[float, ...] = ()
    accuracy: float = 60.0
    randomized_delay: float = 0.0
    fixed_random_delay: bool = False
    persistent: bool = False
    remain_after_elapse: bool = True


@dataclasses.dataclass(frozen=True)
class TimerState:
    boot: float  # guestinit's start (monotonic)
    activated: float  # the timer unit's start (monotonic)
    activated_real: datetime  # the same moment, wall clock (aware)
    last_trigger_real: datetime | None = None  # Persistent= stamp, or the last elapse
    last_elapse: float | None = None  # monotonic
    unit_active_at: float | None = None
    unit_inactive_at: float | None = None
    delay: float = 0.0  # RandomizedDelaySec= for the coming elapse


def parse_timer(spec: UnitSpec) -> tuple[TimerConfig | None, list[str]]:
    """[Timer] -> TimerConfig, with problems as "file:line: message"."""
    raw = spec.raw.get("Timer", {})
    errors: list[str] = []
    values: dict[str, object] = {"unit": spec.name.removesuffix(".timer") + ".service"}
    lists: dict[str, list[object]] = {field: [] for field in [*_MONOTONIC.values(), "calendars"]}
    for key, entries in raw.items():
        for entry in entries:
            where = f"{entry.at.file}:{entry.at.line}: {key}={entry.value}"
            value = entry.value.strip()
            try:
                if key in _MONOTONIC or key == "OnCalendar":
                    field = _MONOTONIC.get(key, "calendars")
                    if not value:
                        lists[field].clear()  # an empty assignment resets the list
                    elif key == "OnCalendar":
                        lists[field].append(parse_calendar(value))
                    else:
                        lists[field].append(parse_timespan(value))
                elif key == "AccuracySec":
                    values["accuracy"] = parse_timespan(value)
                elif key == "RandomizedDelaySec":
                    values["randomized_delay"] = parse_timespan(value)
                elif key in ("Persistent", "FixedRandomDelay", "RemainAfterElapse", "WakeSystem"):
                    flag = _BOOLEANS.get(value.lower())
                    if flag is None:
                        raise ValueError("not a boolean")
                    flag_field = _FLAGS.get(key)  # WakeSystem=: accepted, ignored
                    if flag_field:
                        values[flag_field] = flag
                elif key == "Unit":
                    values["unit"] = value
                else:
                    errors.append(f"{where}: not a [Timer] setting we know; ignored")
            except (ValueError, CalendarError) as error:
                errors.append(f"{where}: {error}")
    for field, items in lists.items():
        values[field] = tuple(items)
    config = TimerConfig(**values)  # type: ignore[arg-type]
    triggers = (
        config.calendars,
        config.on_active,
        config.on_boot,
        config.on_startup,
        config.on_unit_active,
        config.on_unit_inactive,
    )
    if not any(triggers):
        errors.append(
            f"{spec.path}: {spec.name} has no trigger (OnCalendar=, On*Sec=): not started"
        )
        return None, errors
    return config, errors


def start(
    config: TimerConfig,
    name: str,
    boot: float,
    now: float,
    now_real: datetime,
    stamp: datetime | None,
    machine_id: str = "",
) -> TimerState:
    """The timer unit starts now (``stamp``: the last trigger, if Persistent=)."""
    import random  # imported where used: it pulls hashlib in (~3 ms)

    state = TimerState(
        boot=boot,
        activated=now,
        activated_real=now_real,
        last_trigger_real=stamp if config.persistent else None,
    )
    return dataclasses.replace(state, delay=_delay(config, name, machine_id, random.random()))


def next_deadline(
    config: TimerConfig, state: TimerState, now: float, now_real: datetime
) -> float | None:
    """The monotonic time of the next elapse, or None if it will not elapse."""
    candidates: list[float] = []
    references = (
        (config.on_boot, state.boot),
        (config.on_startup, state.boot),
        (config.on_active, state.activated),
        (config.on_unit_active, state.unit_active_at),
        (config.on_unit_inactive, state.unit_inactive_at),
    )
    for spans, reference in references:
        if reference is None:
            continue
        for span in spans:
            at = reference + span
            if state.last_elapse is None or at > state.last_elapse:
                candidates.append(at)
    for calendar in config.calendars:
        when = _calendar_next(calendar, state)
        if when is not None:
            candidates.append(now + max(0.0, (when - now_real).total_seconds()))
    if not candidates:
        return None
    return min(candidates) + state.delay


def _calendar_next(calendar: CalendarSpec, state: TimerState) -> datetime | None:
    """The first calendar elapse after the last trigger (or after the timer's
    start). With a Persistent= stamp older than a missed elapse, that elapse is
    in the past: the caller fires at once."""
    after = state.last_trigger_real or state.activated_real
    return next_elapse(calendar, after)


def elapse(
    config: TimerConfig,
    state: TimerState,
    name: str,
    now: float,
    now_real: datetime,
    machine_id: str = "",
    draw: float | None = None,
) -> TimerState:
    """The timer fired now: what it remembers for the next time."""
    if draw is None:
        import random  # only timers elapse: keep it off the start-up path

        draw = random.random()
    chance = draw
    return dataclasses.replace(
        state,
        last_elapse=now,
        last_trigger_real=now_real,
        delay=_delay(config, name, machine_id, chance),
    )


def _delay(config: TimerConfig, name: str, machine_id: str, chance: float) -> float:
    if config.randomized_delay <= 0:
        return 0.0
    if config.fixed_random_delay:
        import hashlib

        digest = hashlib.sha256(f"{machine_id}:{name}".encode()).digest()
        chance = int.from_bytes(digest[:8], "big") / 2**64
    return chance * config.randomized_delay
