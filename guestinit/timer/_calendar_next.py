"""When a calendar event elapses next.

The search runs on wall-clock fields in the spec's zone and steps field-wise:
find the first matching year, then month, day, hour, minute and second; when a
field has no match left, carry into the field above and reset the ones below.
So `*-02-29` or `2199-*-*` costs a few hundred steps, never a scan by minute.

Daylight saving time follows ``systemd-analyze calendar``: wall-clock times in
a spring-forward gap never elapse, and in a fall-back hour a time elapses once,
at its first occurrence after ``after``.
"""

from __future__ import annotations

import calendar
import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo

from guestinit.timer._calendar_model import (
    MAX_YEAR,
    USEC_PER_SEC,
    CalendarSpec,
    Chain,
    Component,
)

_ONE_USEC = timedelta(microseconds=1)


def next_elapse(
    spec: CalendarSpec, after: datetime, local: tzinfo | None = None
) -> datetime | None:
    """The first time strictly after ``after`` that matches ``spec``, or None if never.

    ``after`` must be timezone-aware; the result is in its zone. A spec without
    its own zone is evaluated in ``local``, which defaults to ``after``'s zone.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("next_elapse needs a timezone-aware datetime")
    zone = spec_zone(spec, local if local is not None else after.tzinfo)
    after_utc = after.astimezone(UTC)
    try:
        wall = after.astimezone(zone).replace(tzinfo=None, fold=0) + _ONE_USEC
    except OverflowError:
        return None  # at the end of datetime's range; far beyond MAX_YEAR anyway
    while True:
        found = next_wall_time(spec, wall)
        if found is None:
            return None
        instant = _resolve(found, zone, after_utc)
        if instant is not None:
            return instant.astimezone(after.tzinfo)
        wall = _gap_end(found, zone) if not _exists(found, zone) else found + _ONE_USEC


def spec_zone(spec: CalendarSpec, local: tzinfo) -> tzinfo:
    if spec.timezone is None:
        return local
    if spec.timezone == "UTC":
        return UTC
    return zoneinfo.ZoneInfo(spec.timezone)


def next_wall_time(spec: CalendarSpec, start: datetime) -> datetime | None:
    """The first naive wall-clock time >= ``start`` whose fields all match."""
    year, month, day = start.year, start.month, start.day
    hour, minute = start.hour, start.minute
    usec = start.second * USEC_PER_SEC + start.microsecond
    while True:
        found_year = _first_match(spec.year, year, MAX_YEAR)
        if found_year is None:
            return None
        if found_year != year:
            year, month, day, hour, minute, usec = found_year, 1, 1, 0, 0, 0

        found_month = _first_match(spec.month, month, 12)
        if found_month is None:
            year, month, day, hour, minute, usec = year + 1, 1, 1, 0, 0, 0
            continue
        if found_month != month:
            month, day, hour, minute, usec = found_month, 1, 0, 0, 0

        found_day = _first_day(spec, year, month, day)
        if found_day is None:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            day, hour, minute, usec = 1, 0, 0, 0
            continue
        if found_day != day:
            day, hour, minute, usec = found_day, 0, 0, 0

        found_hour = _first_match(spec.hour, hour, 23)
        if found_hour is None:
            year, month, day = _next_day(year, month, day)
            hour, minute, usec = 0, 0, 0
            continue
        if found_hour != hour:
            hour, minute, usec = found_hour, 0, 0

        found_minute = _first_match(spec.minute, minute, 59)
        if found_minute is None:
            year, month, day, hour = _next_hour(year, month, day, hour)
            minute, usec = 0, 0
            continue
        if found_minute != minute:
            minute, usec = found_minute, 0

        found_usec = _first_match(spec.second, usec, 60 * USEC_PER_SEC - 1)
        if found_usec is None:
            year, month, day, hour, minute = _next_minute(year, month, day, hour, minute)
            usec = 0
            continue
        second, micro = divmod(found_usec, USEC_PER_SEC)
        return datetime(year, month, day, hour, minute, second, micro)


def matches(spec: CalendarSpec, wall: datetime) -> bool:
    """Whether a naive wall-clock time matches every field of ``spec``."""
    if spec.weekdays is not None and wall.weekday() not in spec.weekdays:
        return False
    usec = wall.second * USEC_PER_SEC + wall.microsecond
    day_chain = _day_chain(spec, wall.year, wall.month)
    return (
        _chain_contains(spec.year, wall.year)
        and _chain_contains(spec.month, wall.month)
        and _chain_contains(day_chain, wall.day)
        and _chain_contains(spec.hour, wall.hour)
        and _chain_contains(spec.minute, wall.minute)
        and _chain_contains(spec.second, usec)
    )


def _chain_contains(chain: Chain, value: int) -> bool:
    return not chain or any(c.contains(value) for c in chain)


def _first_match(chain: Chain, value: int, high: int) -> int | None:
    """The smallest value >= ``value`` and <= ``high`` in ``chain`` (empty chain: any)."""
    if not chain:
        return value if value <= high else None
    candidates = [v for c in chain if (v := c.first_at_or_after(value)) is not None]
    best = min(candidates, default=None)
    return best if best is not None and best <= high else None


def _first_day(spec: CalendarSpec, year: int, month: int, day: int) -> int | None:
    days_in_month = calendar.monthrange(year, month)[1]
    chain = _day_chain(spec, year, month)
    while True:
        found = _first_match(chain, day, days_in_month)
        if found is None:
            return None
        if spec.weekdays is None or date(year, month, found).weekday() in spec.weekdays:
            return found
        day = found + 1


def _day_chain(spec: CalendarSpec, year: int, month: int) -> Chain:
    """The day chain as days of this month; ``~N`` is the N-th day from the end."""
    if not spec.end_of_month:
        return spec.day
    last = calendar.monthrange(year, month)[1]
    # Counting from the end flips a range: ~1..3 is (last-2)..last, stepping upward.
    return tuple(
        Component(last - c.start + 1, -1, c.repeat)
        if c.stop < 0
        else Component(last - c.stop + 1, last - c.start + 1, c.repeat)
        for c in spec.day
    )


def _next_day(year: int, month: int, day: int) -> tuple[int, int, int]:
    if day < calendar.monthrange(year, month)[1]:
        return year, month, day + 1
    return (year + 1, 1, 1) if month == 12 else (year, month + 1, 1)


def _next_hour(year: int, month: int, day: int, hour: int) -> tuple[int, int, int, int]:
    if hour < 23:
        return year, month, day, hour + 1
    return (*_next_day(year, month, day), 0)


def _next_minute(
    year: int, month: int, day: int, hour: int, minute: int
) -> tuple[int, int, int, int, int]:
    if minute < 59:
        return year, month, day, hour, minute + 1
    return (*_next_hour(year, month, day, hour), 0)


def _exists(wall: datetime, zone: tzinfo) -> bool:
    """False for wall-clock times skipped by a spring-forward transition."""
    aware = wall.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def _resolve(wall: datetime, zone: tzinfo, after_utc: datetime) -> datetime | None:
    """The instant of ``wall`` after ``after_utc``: the earlier one of a repeated hour if it is."""
    if not _exists(wall, zone):
        return None
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant > after_utc:
            return instant
    return None


def _gap_end(wall: datetime, zone: tzinfo) -> datetime:
    """The first existing wall-clock second after ``wall``, which lies in a gap.

    The gap is at most as long as the offset jump; zone transitions fall on
    whole seconds, so bisect over seconds within that span.
    """
    before = wall.replace(tzinfo=zone, fold=0).utcoffset() or timedelta()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset() or timedelta()
    base = wall.replace(microsecond=0)
    low, high = 0, int(abs((after - before).total_seconds())) + 1
    while low + 1 < high:
        middle = (low + high) // 2
        if _exists(base + timedelta(seconds=middle), zone):
            high = middle
        else:
            low = middle
    return base + timedelta(seconds=high)
