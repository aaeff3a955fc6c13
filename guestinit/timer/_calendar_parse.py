"""Calendar expression text -> CalendarSpec (systemd.time(7), "Calendar Events").

The grammar, as systemd 252 accepts it (checked against ``systemd-analyze calendar``):

    [WEEKDAYS] [DATE] [TIME] [ZONE]   or   SHORTHAND [ZONE]

WEEKDAYS is a ``,`` list of names or ``..``/``-`` ranges; DATE is ``[Y-]M-D``
(``~`` instead of the last ``-`` counts days from the month's end); TIME is
``H:M[:S]``. Every date/time item is ``*`` or a ``,`` list of ``N``, ``N/R``,
``N..M`` and ``N..M/R``. Spaces separate the parts; no other whitespace is allowed.
"""

from __future__ import annotations

import re
import zoneinfo

from guestinit.timer._calendar_model import (
    ANY,
    END_OF_MONTH_MAX,
    EVERY_SECOND,
    FIELD_BOUNDS,
    MAX_COMPONENTS,
    USEC_PER_SEC,
    CalendarError,
    CalendarSpec,
    Chain,
    Component,
    Field,
    Weekday,
)

_SHORTHANDS = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
}

_WEEKDAY_NAMES = {
    **{d.abbreviation.lower(): d for d in Weekday},
    "monday": Weekday.MON,
    "tuesday": Weekday.TUE,
    "wednesday": Weekday.WED,
    "thursday": Weekday.THU,
    "friday": Weekday.FRI,
    "saturday": Weekday.SAT,
    "sunday": Weekday.SUN,
}

# Numbers are C ints in systemd; anything bigger is ERANGE there and an error here.
_INT_MAX = 2**31 - 1
_ASCII_DIGITS = frozenset("0123456789")
_LETTERS = re.compile(r"[A-Za-z]+")
# What systemd's timezone_is_valid() lets through before it looks for the file.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-.]+)*")


def parse_calendar(text: str) -> CalendarSpec:
    """Parse a calendar expression; raise CalendarError if systemd would refuse it."""
    body, zone = _split_zone(text)
    if not body:
        raise CalendarError(f"empty calendar expression: {text!r}")
    if body.startswith("@"):
        raise CalendarError("@SECONDS timestamps are not supported as calendar events")
    shorthand = _SHORTHANDS.get(body.lower())
    cursor = _Cursor(shorthand if shorthand is not None else body)
    weekdays = _parse_weekdays(cursor)
    year, month, day, end_of_month = _parse_date(cursor)
    hour, minute, second = _parse_time(cursor)
    if not cursor.at_end():
        raise CalendarError(f"unexpected {cursor.rest()!r} in calendar expression {text!r}")
    return _normalize(
        text,
        weekdays=weekdays,
        chains={
            Field.YEAR: year,
            Field.MONTH: month,
            Field.DAY: day,
            Field.HOUR: hour,
            Field.MINUTE: minute,
            Field.SECOND: second,
        },
        end_of_month=end_of_month,
        zone=zone,
    )


def _split_zone(text: str) -> tuple[str, str | None]:
    """Peel a trailing `` UTC`` or `` Area/City`` off; the rest is the expression."""
    if text[-4:].upper() == " UTC":
        return text[:-4], "UTC"
    body, space, last = text.rpartition(" ")
    if space and _zone_exists(last):
        return body, last
    return text, None


def _zone_exists(name: str) -> bool:
    if not _ZONE_NAME.fullmatch(name) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


class _Cursor:
    """A position in the text; every parse step reads through one."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, width: int = 1) -> str:
        return self.text[self.pos : self.pos + width]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def rest(self) -> str:
        return self.text[self.pos :]

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def error(self, what: str) -> CalendarError:
        return CalendarError(f"{what} at {self.rest()!r} in calendar expression {self.text!r}")


def _parse_weekdays(cur: _Cursor) -> frozenset[Weekday] | None:
    days: set[Weekday] = set()
    range_from: Weekday | None = None
    while True:
        match = _LETTERS.match(cur.text, cur.pos)
        day = _WEEKDAY_NAMES.get(match.group().lower()) if match else None
        if match is None or day is None:
            if not days:
                return None  # no weekdays: the text starts with the date or time
            raise cur.error("expected a weekday name")
        cur.pos = match.end()
        if cur.peek() not in ("", "-", ".", ",", " "):
            raise cur.error("unexpected character after weekday")
        if range_from is not None:
            if range_from > day:
                raise cur.error("weekday range runs backwards")
            days.update(Weekday(n) for n in range(range_from, day + 1))
        days.add(day)
        sep = cur.peek()
        if sep == "":
            return frozenset(days)
        if sep == " ":
            cur.skip_spaces()
            return frozenset(days)
        # A range start stays set after its end, so `Mon..Wed..Fri` is refused.
        if sep in (".", "-"):
            if range_from is not None:
                raise cur.error("a weekday range cannot continue")
            if sep == "." and cur.peek(2) != "..":
                raise cur.error("expected '..'")
            range_from = day
            cur.pos += 2 if sep == "." else 1
        else:
            range_from = None
            cur.pos += 1
        # A trailing comma is fine; an open range is not.
        if cur.peek() in ("", " "):
            if range_from is not None:
                raise cur.error("open weekday range")
            cur.skip_spaces()
            return frozenset(days)


def _parse_date(cur: _Cursor) -> tuple[Chain, Chain, Chain, bool]:
    if cur.at_end():
        return ANY, ANY, ANY, False
    start = cur.pos
    first = _parse_chain(cur, seconds=False)
    if cur.peek() in ("", ":"):
        cur.pos = start  # that was the hour: no date given
        return ANY, ANY, ANY, False
    end_of_month = _date_separator(cur)
    second = _parse_chain(cur, seconds=False)
    if cur.peek() in ("", " "):
        cur.skip_spaces()
        return ANY, first, second, end_of_month
    if end_of_month:
        raise cur.error("'~' must separate month and day")
    end_of_month = _date_separator(cur)
    third = _parse_chain(cur, seconds=False)
    if cur.peek() not in ("", " "):
        raise cur.error("unexpected character after date")
    cur.skip_spaces()
    return first, second, third, end_of_month


def _date_separator(cur: _Cursor) -> bool:
    """Consume ``-`` or ``~``; True for ``~`` (days counted from the month's end)."""
    sep = cur.peek()
    if sep not in ("-", "~"):
        raise cur.error("expected '-' or '~' in date")
    cur.pos += 1
    return sep == "~"


def _parse_time(cur: _Cursor) -> tuple[Chain, Chain, Chain]:
    midnight = (Component(0),)
    if cur.at_end():
        return midnight, midnight, midnight
    hour = _parse_chain(cur, seconds=False)
    if cur.peek() != ":":
        raise cur.error("expected ':' in time")
    cur.pos += 1
    minute = _parse_chain(cur, seconds=False)
    if cur.at_end():
        return hour, minute, midnight
    if cur.peek() != ":":
        raise cur.error("expected ':' in time")
    cur.pos += 1
    return hour, minute, _parse_chain(cur, seconds=True)


def _parse_chain(cur: _Cursor, *, seconds: bool) -> Chain:
    if cur.peek() == "*":
        cur.pos += 1
        return (EVERY_SECOND,) if seconds else ANY
    unit = USEC_PER_SEC if seconds else 1
    items: list[Component] = []
    while True:
        if len(items) >= MAX_COMPONENTS:
            raise cur.error("too many list items")
        start = _parse_number(cur, seconds)
        stop, repeat = -1, 0
        if cur.peek(2) == "..":
            cur.pos += 2
            stop = _parse_number(cur, seconds)
            repeat = unit
        if cur.peek() == "/":
            cur.pos += 1
            repeat = _parse_number(cur, seconds)
            if repeat == 0:
                raise cur.error("repetition must not be zero")
        elif seconds and stop >= 0 and start + repeat > stop:
            # A seconds range without a step repeats by 1s, so it must span one.
            raise cur.error("seconds range shorter than its 1s step")
        if cur.peek() not in ("", " ", ",", "-", "~", ":"):
            raise cur.error("unexpected character in list")
        items.append(Component(start, stop, repeat))
        if cur.peek() != ",":
            return tuple(items)
        cur.pos += 1


def _parse_number(cur: _Cursor, seconds: bool) -> int:
    """A decimal; with ``seconds`` also a fraction, returned in microseconds."""
    digits = _take_digits(cur)
    if not digits:
        raise cur.error("expected a number")
    value = _bounded_int(cur, digits)
    if not seconds:
        return value
    value *= USEC_PER_SEC
    if cur.peek() == "." and cur.peek(2) != "..":
        cur.pos += 1
        frac = _take_digits(cur)
        if not frac:
            raise cur.error("expected digits after '.'")
        # Six places kept, rounded half up on the seventh, as systemd does.
        value += int(frac[:6].ljust(6, "0")) + (1 if frac[6:7] >= "5" else 0)
    if value > _INT_MAX:
        raise cur.error("number out of range")
    return value


def _take_digits(cur: _Cursor) -> str:
    start = cur.pos
    while cur.peek() and cur.peek() in _ASCII_DIGITS:
        cur.pos += 1
    return cur.text[start : cur.pos]


def _bounded_int(cur: _Cursor, digits: str) -> int:
    # Length check first: int() of thousands of digits is slow and may be refused.
    significant = digits.lstrip("0")
    if len(significant) > 10 or int(significant or "0") > _INT_MAX:
        raise cur.error("number out of range")
    return int(significant or "0")


def _normalize(
    text: str,
    *,
    weekdays: frozenset[Weekday] | None,
    chains: dict[Field, Chain],
    end_of_month: bool,
    zone: str | None,
) -> CalendarSpec:
    if weekdays is not None and len(weekdays) == len(Weekday):
        weekdays = None
    if not chains[Field.DAY]:
        end_of_month = False  # "the last any-day" is any day
    chains[Field.YEAR] = tuple(_full_year(c) for c in chains[Field.YEAR])
    for field, chain in chains.items():
        items = sorted({_normalize_range(text, c) for c in chain})
        for index, item in enumerate(items):
            _validate(text, field, item, end_of_month and field is Field.DAY, index)
        chains[field] = tuple(items)
    return CalendarSpec(
        weekdays=weekdays,
        year=chains[Field.YEAR],
        month=chains[Field.MONTH],
        day=chains[Field.DAY],
        hour=chains[Field.HOUR],
        minute=chains[Field.MINUTE],
        second=chains[Field.SECOND],
        end_of_month=end_of_month,
        timezone=zone,
    )


def _full_year(c: Component) -> Component:
    def widen(year: int) -> int:
        if 0 <= year < 70:
            return year + 2000
        if 70 <= year < 100:
            return year + 1900
        return year

    return Component(widen(c.start), widen(c.stop) if c.stop >= 0 else -1, c.repeat)


def _normalize_range(text: str, c: Component) -> Component:
    """Pull ``stop`` back to the last value hit; a one-value range is a plain value."""
    if c.stop < 0:
        return c
    if c.stop < c.start:
        raise CalendarError(f"range runs backwards in calendar expression {text!r}")
    stop = c.start + (c.stop - c.start) // c.repeat * c.repeat
    if stop == c.start:
        return Component(c.start)
    return Component(c.start, stop, c.repeat)


def _validate(text: str, field: Field, c: Component, end_of_month: bool, index: int) -> None:
    low, high = FIELD_BOUNDS[field]
    if end_of_month:
        # systemd 252 lowers the bound by three more days for each later list
        # item (`*-*~28` is fine, `*-*~1,28` is refused); refuse what it refuses.
        high = END_OF_MONTH_MAX - 3 * index
    ok = low <= c.start <= high and c.repeat <= high - low
    if c.stop >= 0:
        ok = ok and c.stop <= high
    elif c.repeat > 0:
        # A single value with a step must hit a second value inside the field.
        # With `~` the step runs toward the month's end, i.e. down the ~ count.
        ok = ok and (c.start - c.repeat >= low if end_of_month else c.start + c.repeat <= high)
    if not ok:
        name = field.name.lower()
        raise CalendarError(f"{name} value out of range in calendar expression {text!r}")
