"""Time spans (systemd.time(7))."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestinit.unitfile import format_timespan, parse_timespan
from guestinit.unitfile._timespan import USEC


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1min 30s", 90.0),
        ("1min30s", 90.0),
        ("500ms", 0.5),
        ("2h", 7200.0),
        ("2 h", 7200.0),
        ("48hr", 172800.0),
        ("5us", 5e-6),
        ("5\u00b5s", 5e-6),
        ("90", 90.0),
        ("1.5", 1.5),
        ("0.1", 0.1),
        ("55s500ms", 55.5),
        ("300ms20s 5day", 5 * 86400 + 20.3),
        ("1y 12month", 365.25 * 86400 + 12 * 30.44 * 86400),
        ("1w", 604800.0),
        ("3 minutes", 180.0),
        ("0", 0.0),
        ("  7s  ", 7.0),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_timespan(text) == pytest.approx(seconds)


def test_infinity() -> None:
    assert parse_timespan("infinity") == math.inf


def test_default_unit_applies_to_bare_numbers_only() -> None:
    assert parse_timespan("500", USEC) == pytest.approx(0.0005)
    assert parse_timespan("2s", USEC) == 2.0


@pytest.mark.parametrize("text", ["", "abc", "5x", "-5s", "1 2 z", "s", "5secs", "+3"])
def test_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timespan(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90.0, "1min 30s"), (0.5, "500ms"), (0.0, "0"), (math.inf, "infinity"), (5e-6, "5us")],
)
def test_format(seconds: float, text: str) -> None:
    assert format_timespan(seconds) == text


@given(st.integers(min_value=0, max_value=10**15))
def test_round_trip_in_microseconds(usec: int) -> None:
    seconds = usec / 1_000_000
    assert parse_timespan(format_timespan(seconds)) == pytest.approx(seconds, abs=1e-6)


@given(st.text(max_size=30))
def test_random_text_parses_or_raises_value_error(text: str) -> None:
    try:
        value = parse_timespan(text)
    except ValueError:
        return
    assert value >= 0
