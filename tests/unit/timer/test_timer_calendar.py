"""Calendar events against what systemd-analyze says (captured in a fixture), plus properties."""

from __future__ import annotations

import calendar as gregorian
import json
import os
import shutil
import subprocess
import time
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from guestinit.timer.calendar import (
    CalendarError,
    CalendarSpec,
    Component,
    next_elapse,
    parse_calendar,
)

FIXTURE = Path(__file__).parents[2] / "fixtures" / "calendar" / "systemd_analyze.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
INVALID: list[str] = DATA["invalid"]


def base_time(text: str) -> datetime:
    """The fixture's ``2024-01-15 12:34:56 UTC`` form."""
    stamp, _, zone = text.rpartition(" ")
    assert zone == "UTC"
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


def elapses(spec: CalendarSpec, after: datetime, tz: str, count: int) -> list[datetime]:
    found: list[datetime] = []
    local = zoneinfo.ZoneInfo(tz)
    for _ in range(count):
        nxt = next_elapse(spec, after, local)
        if nxt is None:
            break
        found.append(nxt)
        after = nxt
    return found


def test_fixture_names_its_systemd() -> None:
    assert DATA["systemd_version"].startswith("systemd 252")
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{c['expr']}@{c['base']}" for c in CASES])
def test_matches_systemd_analyze(case: dict[str, Any]) -> None:
    spec = parse_calendar(case["expr"])
    assert spec.normalized() == case["normalized"]
    got = elapses(spec, base_time(case["base"]), case["tz"], len(case["elapses"]) or 1)
    # systemd-analyze prints whole seconds; compare instants at that precision.
    want = [datetime.fromisoformat(e) for e in case["elapses"]]
    assert [g.replace(microsecond=0) for g in got[: len(want)]] == want
    if not want:
        assert got == []


@pytest.mark.parametrize("case", CASES, ids=[c["expr"] for c in CASES])
def test_normalized_form_is_a_fixed_point(case: dict[str, Any]) -> None:
    assert parse_calendar(case["normalized"]).normalized() == case["normalized"]


@pytest.mark.parametrize("text", INVALID)
def test_refused_like_systemd(text: str) -> None:
    with pytest.raises(CalendarError):
        parse_calendar(text)


def test_epoch_timestamps_are_not_supported() -> None:
    with pytest.raises(CalendarError, match="@SECONDS"):
        parse_calendar("@1234")


def test_spec_is_frozen_data() -> None:
    spec = parse_calendar("Mon,Wed..Fri *-*-1/7 09:00 UTC")
    assert spec.day == (Component(1, -1, 7),)
    assert spec.hour == (Component(9),)
    assert spec.timezone == "UTC"
    assert str(spec) == "Mon,Wed..Fri *-*-01/7 09:00:00 UTC"
    with pytest.raises(AttributeError):
        spec.timezone = None  # type: ignore[misc]


def test_result_is_in_the_zone_of_after() -> None:
    plus2 = timezone(timedelta(hours=2))
    after = datetime(2024, 1, 15, 12, 0, tzinfo=plus2)
    nxt = next_elapse(parse_calendar("daily UTC"), after)
    assert nxt == datetime(2024, 1, 16, 0, 0, tzinfo=UTC)
    assert nxt is not None
    assert nxt.tzinfo is plus2


def test_spec_without_zone_uses_after_zone_by_default() -> None:
    plus2 = timezone(timedelta(hours=2))
    after = datetime(2024, 1, 15, 12, 0, tzinfo=plus2)
    assert next_elapse(parse_calendar("daily"), after) == datetime(2024, 1, 16, tzinfo=plus2)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert next_elapse(parse_calendar("daily"), after, berlin) == datetime(
        2024, 1, 16, tzinfo=berlin
    )


def test_strictly_after() -> None:
    at_midnight = datetime(2024, 1, 16, tzinfo=UTC)
    assert next_elapse(parse_calendar("daily"), at_midnight) == datetime(2024, 1, 17, tzinfo=UTC)
    just_before = at_midnight - timedelta(microseconds=1)
    assert next_elapse(parse_calendar("daily"), just_before) == at_midnight


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_elapse(parse_calendar("daily"), datetime(2024, 1, 1))


def test_never_after_2199() -> None:
    late = datetime(2199, 12, 31, 23, 59, tzinfo=UTC)
    assert next_elapse(parse_calendar("minutely"), late) is None
    assert next_elapse(parse_calendar("minutely"), datetime.max.replace(tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("expr", "after", "want"),
    [
        ("*-02-29 00:00", datetime(2097, 3, 1, tzinfo=UTC), datetime(2104, 2, 29, tzinfo=UTC)),
        ("2199-*-*", datetime(2024, 1, 1, tzinfo=UTC), datetime(2199, 1, 1, tzinfo=UTC)),
        ("Mon *-02-29", datetime(2024, 3, 1, tzinfo=UTC), datetime(2044, 2, 29, tzinfo=UTC)),
        ("*-2-30", datetime(2024, 1, 1, tzinfo=UTC), None),
        (
            "2199-12-31 23:59:59.999999",
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    ],
)
def test_far_elapses_are_fast(expr: str, after: datetime, want: datetime | None) -> None:
    spec = parse_calendar(expr)
    started = time.perf_counter()
    for _ in range(20):
        assert next_elapse(spec, after) == want
    # Field-wise stepping: well under a millisecond each; a minute-by-minute
    # scan over 175 years would take minutes.
    assert time.perf_counter() - started < 2.0


# --- properties ------------------------------------------------------------

CALENDAR_CHARS = "0123456789*-~:,./ MonTueWdhFriSatSunUTCdailyEurope/Berlin@"


@given(st.one_of(st.text(alphabet=CALENDAR_CHARS, max_size=40), st.text(max_size=40)))
@settings(max_examples=1000)
def test_random_text_only_raises_calendar_error(text: str) -> None:
    try:
        spec = parse_calendar(text)
    except CalendarError:
        return
    assert parse_calendar(spec.normalized()).normalized() == spec.normalized()


def _component(low: int, high: int, width: int = 2) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        start = draw(st.integers(low, high))
        kind = draw(st.sampled_from(["one", "repeat", "range", "range-repeat"]))
        if kind == "repeat" and start < high:
            return f"{start:0{width}d}/{draw(st.integers(1, high - start))}"
        if kind.startswith("range") and start < high:
            stop = draw(st.integers(start + 1, high))
            if kind == "range-repeat":
                return f"{start}..{stop}/{draw(st.integers(1, high - low))}"
            return f"{start}..{stop}"
        return f"{start:0{width}d}"

    return build()


def _chain(low: int, high: int, wildcard: float = 0.5) -> st.SearchStrategy[str]:
    listed = st.lists(_component(low, high), min_size=1, max_size=3).map(",".join)
    return st.one_of(st.just("*"), listed) if wildcard else listed


@st.composite
def calendar_texts(draw: st.DrawFn) -> str:
    words = []
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])))
        if days:
            words.append(",".join(days))
    year = draw(st.one_of(st.just("*"), st.just("*"), _chain(2024, 2030)))
    sep = draw(st.sampled_from(["-", "-", "~"]))
    day = _chain(1, 28) if sep == "~" else _chain(1, 31)
    words.append(f"{year}-{draw(_chain(1, 12))}{sep}{draw(day)}")
    words.append(f"{draw(_chain(0, 23))}:{draw(_chain(0, 59))}:{draw(_chain(0, 59))}")
    words.extend(draw(st.sampled_from([[], ["UTC"], ["Europe/Berlin"], ["America/New_York"]])))
    return " ".join(words)


def _in_chain(chain: tuple[Component, ...], value: int) -> bool:
    """An oracle for membership written apart from the search code."""
    if not chain:
        return True
    for c in chain:
        last = c.stop if c.stop >= 0 else 10**12
        if c.repeat == 0 and value == c.start:
            return True
        if c.repeat and c.start <= value <= last and (value - c.start) % c.repeat == 0:
            return True
    return False


def _oracle(spec: CalendarSpec, wall: datetime, *, ignore_seconds: bool = False) -> bool:
    day = wall.day
    if spec.end_of_month:
        day = gregorian.monthrange(wall.year, wall.month)[1] - wall.day + 1
        ok_day = not spec.day or any(
            (c.stop < 0 and c.repeat == 0 and day == c.start)
            or (c.stop < 0 and c.repeat and day <= c.start and (c.start - day) % c.repeat == 0)
            or (c.stop >= 0 and c.start <= day <= c.stop and (c.stop - day) % c.repeat == 0)
            for c in spec.day
        )
    else:
        ok_day = _in_chain(spec.day, day)
    return (
        (spec.weekdays is None or wall.weekday() in spec.weekdays)
        and ok_day
        and _in_chain(spec.year, wall.year)
        and _in_chain(spec.month, wall.month)
        and _in_chain(spec.hour, wall.hour)
        and _in_chain(spec.minute, wall.minute)
        and (ignore_seconds or _in_chain(spec.second, wall.second * 1_000_000 + wall.microsecond))
    )


AFTER = st.datetimes(
    min_value=datetime(2023, 1, 1),
    max_value=datetime(2031, 1, 1),
    timezones=st.sampled_from([UTC, zoneinfo.ZoneInfo("Europe/Berlin")]),
)


def _parse_or_reject(text: str) -> CalendarSpec:
    try:
        return parse_calendar(text)
    except CalendarError:
        assume(False)
        raise


@given(calendar_texts(), AFTER)
@settings(max_examples=150, deadline=None)
def test_next_elapse_matches_and_is_later(text: str, after: datetime) -> None:
    spec = _parse_or_reject(text)
    got = next_elapse(spec, after)
    if got is None:
        return
    assert got > after
    zone = zoneinfo.ZoneInfo(spec.timezone) if spec.timezone not in (None, "UTC") else None
    wall_zone = zone or (UTC if spec.timezone == "UTC" else after.tzinfo)
    assert _oracle(spec, got.astimezone(wall_zone).replace(tzinfo=None))


@given(calendar_texts(), AFTER)
@settings(max_examples=100, deadline=None)
def test_next_elapse_skips_no_earlier_match(text: str, after: datetime) -> None:
    # UTC only: no DST, so every wall-clock second is one instant.
    spec = _parse_or_reject(text.rpartition(" ")[0] + " UTC")
    after = after.astimezone(UTC)
    got = next_elapse(spec, after)
    end = after + timedelta(days=1)
    if got is not None:
        end = min(end, got)
    # The strategy writes whole seconds only, so checking each second is exhaustive:
    # walk the minutes, and the seconds of the minutes whose other fields match.
    minute = after.replace(second=0, microsecond=0, tzinfo=None)
    while minute < end.replace(tzinfo=None):
        if _oracle(spec, minute.replace(second=0), ignore_seconds=True):
            for second in range(60):
                probe = minute.replace(second=second)
                if after.replace(tzinfo=None) < probe < end.replace(tzinfo=None):
                    assert not _oracle(spec, probe), probe
        minute += timedelta(minutes=1)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize(
    "expr", ["Mon..Fri 09:00", "*-*~1..6/2", "*:0/15", "Sat *-*-1..7 18:00", "quarterly UTC"]
)
def test_live_systemd_analyze(expr: str) -> None:
    proc = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            "--iterations=3",
            "--base-time=2025-06-30 23:59:59 UTC",
            expr,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
        check=False,
    )
    if "base-time" in proc.stderr:
        pytest.skip("systemd-analyze too old for --base-time")
    lines = dict(line.strip().partition(": ")[::2] for line in proc.stdout.splitlines())
    spec = parse_calendar(expr)
    assert spec.normalized() == lines["Normalized form"]
    want = [lines["Next elapse"], lines["Iter. #2"], lines["Iter. #3"]]
    got = elapses(spec, datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC), "UTC", 3)
    assert [g.strftime("%a %Y-%m-%d %H:%M:%S UTC") for g in got] == want
