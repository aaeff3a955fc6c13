"""Log entries -> journalctl's output formats; --since and -n parsing (pure)."""

import json
import time

import pytest

from guestinit import _argv
from guestinit.control.journalctl import parse, parse_since
from guestinit.control.logview import render_entry

ENTRY = {
    "seq": 7,
    "time": time.mktime((2026, 12, 8, 1, 2, 3, 0, 0, -1)) + 0.25,
    "unit": "web.service",
    "name": "web",
    "pid": 42,
    "stream": "stdout",
    "priority": 6,
    "message": "listening",
}


def test_short_cat_and_json() -> None:
    assert render_entry(ENTRY, "short", "box") == "Dec 08 01:02:03 box web[42]: listening"
    assert render_entry(ENTRY, "cat", "box") == "listening"
    fields = json.loads(render_entry(ENTRY, "json", "box"))
    assert fields["_SYSTEMD_UNIT"] == "web.service" and fields["_PID"] == "42"
    assert fields["__REALTIME_TIMESTAMP"] == str(int(ENTRY["time"] * 1_000_000))  # type: ignore[operator]
    assert render_entry(ENTRY, "short-precise", "box").startswith("Dec 08 01:02:03.250000 ")


def test_since_forms() -> None:
    now = time.mktime((2026, 12, 8, 12, 0, 0, 0, 0, -1))
    assert parse_since("-5min", now) == now - 300
    assert parse_since("2 h ago", now) == now - 7200
    assert parse_since("2026-12-08 11:00:00", now) == now - 3600
    assert parse_since("11:30", now) == now - 1800
    assert parse_since("today", now) == now - 12 * 3600
    with pytest.raises(_argv.UsageError):
        parse_since("teatime", now)


def test_journalctl_options() -> None:
    query, _ = parse(["-u", "web", "-f", "-b", "0", "--no-pager", "-o", "cat"], 0.0, ctl=False)
    assert (query.units, query.follow, query.lines, query.output) == (
        ["web.service"],
        True,
        10,
        "cat",
    )
    query, _ = parse(["logs", "web", "db.service", "-n", "all"][1:], 0.0, ctl=True)
    assert (query.units, query.lines) == (["web.service", "db.service"], -1)
    with pytest.raises(_argv.UsageError):
        parse(["-o", "verbose"], 0.0, ctl=False)
