"""The calendar event model and its normalized text form (systemd.time(7)).

A spec is six chains of components (year, month, day, hour, minute, second)
plus an optional weekday set and time zone. An empty chain is ``*``. Seconds
are kept in microseconds so that ``05:40:23.42/3.17`` stays exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

USEC_PER_SEC = 1_000_000

# systemd refuses years outside this window; two-digit years map into it.
MIN_YEAR = 1970
MAX_YEAR = 2199

# systemd caps a comma list; a longer one is an error, not a slow parse.
MAX_COMPONENTS = 240


class CalendarError(ValueError):
    """A calendar expression systemd would refuse; the caller adds file:line."""


class Weekday(IntEnum):
    """Days in ``datetime.weekday()`` order, which is also systemd's print order."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6

    @property
    def abbreviation(self) -> str:
        return self.name.capitalize()


class Field(IntEnum):
    """The six chains of a spec, in the order they are written."""

    YEAR = 0
    MONTH = 1
    DAY = 2
    HOUR = 3
    MINUTE = 4
    SECOND = 5


# Bounds each chain is validated against (seconds in microseconds).
FIELD_BOUNDS: dict[Field, tuple[int, int]] = {
    Field.YEAR: (MIN_YEAR, MAX_YEAR),
    Field.MONTH: (1, 12),
    Field.DAY: (1, 31),
    Field.HOUR: (0, 23),
    Field.MINUTE: (0, 59),
    Field.SECOND: (0, 60 * USEC_PER_SEC - 1),
}

# With ``~`` the day counts back from the month's end, and only four weeks back:
# every month has a 28th-last day.
END_OF_MONTH_MAX = 28


@dataclass(frozen=True, order=True)
class Component:
    """One list item: ``start``, ``start/repeat``, ``start..stop`` or ``start..stop/repeat``.

    ``stop`` is inclusive and normalized to the last value actually hit;
    ``repeat`` is 0 for a single value. Field order is also systemd's sort order.
    """

    start: int
    stop: int = -1
    repeat: int = 0

    def contains(self, value: int) -> bool:
        if value == self.start:
            return True
        if self.repeat <= 0 or value < self.start:
            return False
        if self.stop >= 0 and value > self.stop:
            return False
        return (value - self.start) % self.repeat == 0

    def first_at_or_after(self, value: int) -> int | None:
        """The smallest value of this component >= ``value``, unbounded above unless ``stop``."""
        if self.start >= value:
            return self.start
        if self.repeat <= 0:
            return None
        steps = -(-(value - self.start) // self.repeat)
        found = self.start + steps * self.repeat
        if self.stop >= 0 and found > self.stop:
            return None
        return found


Chain = tuple[Component, ...]

ANY: Chain = ()
# ``*`` in the seconds position means "every whole second", not "every microsecond".
EVERY_SECOND = Component(0, -1, USEC_PER_SEC)


@dataclass(frozen=True)
class CalendarSpec:
    """A parsed, normalized calendar event. Build it with ``parse_calendar``."""

    weekdays: frozenset[Weekday] | None
    year: Chain
    month: Chain
    day: Chain
    hour: Chain
    minute: Chain
    second: Chain
    end_of_month: bool = False
    # "UTC" for the literal suffix, else an IANA name; None means the local zone.
    timezone: str | None = None

    def chain(self, field: Field) -> Chain:
        return (self.year, self.month, self.day, self.hour, self.minute, self.second)[field]

    def normalized(self) -> str:
        """The form ``systemd-analyze calendar`` prints as "Normalized form"."""
        words = []
        if self.weekdays is not None:
            words.append(_format_weekdays(self.weekdays))
        date_sep = "~" if self.end_of_month else "-"
        words.append(
            f"{_format_chain(self.year, 4)}-{_format_chain(self.month, 2)}"
            f"{date_sep}{_format_chain(self.day, 2)}"
        )
        words.append(
            f"{_format_chain(self.hour, 2)}:{_format_chain(self.minute, 2)}"
            f":{_format_seconds(self.second)}"
        )
        if self.timezone is not None:
            words.append(self.timezone)
        return " ".join(words)

    def __str__(self) -> str:
        return self.normalized()


def _format_weekdays(days: frozenset[Weekday]) -> str:
    # Runs of three or more print as a range, shorter runs as a list: Mon..Thu,Sat,Sun.
    parts: list[str] = []
    run: list[Weekday] = []
    for day in [*Weekday, None]:
        if day is not None and day in days:
            run.append(day)
            continue
        if len(run) >= 3:
            parts.append(f"{run[0].abbreviation}..{run[-1].abbreviation}")
        else:
            parts.extend(d.abbreviation for d in run)
        run = []
    return ",".join(parts)


def _format_chain(chain: Chain, width: int) -> str:
    if not chain:
        return "*"
    return ",".join(_format_component(c, lambda v: f"{v:0{width}d}", 1) for c in chain)


def _format_seconds(chain: Chain) -> str:
    # Any bare 0/1 makes systemd print the whole seconds chain as "*"
    # (it still matches the other items: `*:*:0/1,0.5` fires twice a second).
    if not chain or EVERY_SECOND in chain:
        return "*"
    return ",".join(_format_component(c, _format_usec, USEC_PER_SEC) for c in chain)


def _format_usec(value: int) -> str:
    whole, frac = divmod(value, USEC_PER_SEC)
    return f"{whole:02d}.{frac:06d}" if frac else f"{whole:02d}"


def _format_repeat(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    return f"{whole}.{frac:06d}" if frac else f"{whole}"


def _format_component(c: Component, fmt: Callable[[int], str], unit: int) -> str:
    text = fmt(c.start)
    if c.stop >= 0:
        text += ".." + fmt(c.stop)
    # A range stepping by one unit is just the range.
    if c.repeat > 0 and not (c.stop >= 0 and c.repeat == unit):
        text += "/" + _format_repeat(c.repeat, unit)
    return text
