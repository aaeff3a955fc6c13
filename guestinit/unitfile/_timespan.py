"""Time spans of systemd.time(7): ``"1min 30s"`` -> 90.0, ``"infinity"`` -> math.inf.

Components add up and the space between them is optional (``"55s500ms"``); a number
without a unit takes the key's default unit, seconds unless the key says otherwise.
A month is 30.44 days and a year 365.25 days, as systemd defines them.
"""

from __future__ import annotations

import math

from guestinit.unitfile._syntax import WHITESPACE

USEC = 1e-6
MSEC = 1e-3
SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
MONTH = 30.44 * DAY
YEAR = 365.25 * DAY

_UNITS = {
    "usec": USEC,
    "us": USEC,
    "\u00b5s": USEC,  # micro sign
    "\u03bcs": USEC,  # Greek mu
    "msec": MSEC,
    "ms": MSEC,
    "seconds": SECOND,
    "second": SECOND,
    "sec": SECOND,
    "s": SECOND,
    "minutes": MINUTE,
    "minute": MINUTE,
    "min": MINUTE,
    "m": MINUTE,
    "hours": HOUR,
    "hour": HOUR,
    "hr": HOUR,
    "h": HOUR,
    "days": DAY,
    "day": DAY,
    "d": DAY,
    "weeks": WEEK,
    "week": WEEK,
    "w": WEEK,
    "months": MONTH,
    "month": MONTH,
    "M": MONTH,
    "years": YEAR,
    "year": YEAR,
    "y": YEAR,
}
# Longest first, so "ms" wins over "m" and "min" over "m".
_BY_LENGTH = sorted(_UNITS, key=len, reverse=True)


def _number(text: str, pos: int) -> tuple[float, int]:
    start = pos
    while pos < len(text) and text[pos].isascii() and text[pos].isdigit():
        pos += 1
    whole = text[start:pos]
    fraction = ""
    if pos < len(text) and text[pos] == ".":
        pos += 1
        frac_start = pos
        while pos < len(text) and text[pos].isascii() and text[pos].isdigit():
            pos += 1
        fraction = text[frac_start:pos]
    if not whole and not fraction:
        raise ValueError(f"expected a number at {text[start:]!r}")
    return float(f"{whole or '0'}.{fraction or '0'}"), pos


def parse_timespan(text: str, default_unit: float = SECOND) -> float:
    """Seconds as a float (math.inf for ``infinity``); ValueError names the fault."""
    stripped = text.strip(WHITESPACE)
    if stripped == "infinity":
        return math.inf
    if not stripped:
        raise ValueError("empty time span")
    total = 0.0
    pos = 0
    while pos < len(stripped):
        if stripped[pos] in "+-":
            raise ValueError(f"time spans cannot be signed: {text!r}")
        value, pos = _number(stripped, pos)
        while pos < len(stripped) and stripped[pos] in WHITESPACE:
            pos += 1
        multiplier = default_unit
        for unit in _BY_LENGTH:
            if stripped.startswith(unit, pos):
                multiplier = _UNITS[unit]
                pos += len(unit)
                break
        total += value * multiplier
        while pos < len(stripped) and stripped[pos] in WHITESPACE:
            pos += 1
        if pos < len(stripped) and not (stripped[pos].isdigit() or stripped[pos] in ".+-"):
            raise ValueError(f"unknown time unit at {stripped[pos:]!r}")
    # systemd counts in whole microseconds; rounding keeps "0.1" and "100ms" equal.
    return round(total, 6)


_FORMAT_UNITS = (("w", WEEK), ("d", DAY), ("h", HOUR), ("min", MINUTE), ("s", SECOND))


def format_timespan(seconds: float) -> str:
    """The shortest exact text for ``seconds`` that parse_timespan reads back."""
    if math.isinf(seconds):
        return "infinity"
    usec = round(seconds * 1_000_000)
    if usec < 0:
        raise ValueError("negative time span")
    if usec == 0:
        return "0"
    parts: list[str] = []
    for name, size in _FORMAT_UNITS:
        unit_usec = round(size * 1_000_000)
        count, usec = divmod(usec, unit_usec)
        if count:
            parts.append(f"{count}{name}")
    msec, usec = divmod(usec, 1000)
    if msec:
        parts.append(f"{msec}ms")
    if usec:
        parts.append(f"{usec}us")
    return " ".join(parts)
