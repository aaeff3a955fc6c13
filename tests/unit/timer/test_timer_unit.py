"""Timer units: parsing [Timer] and the next elapse, with injected clocks."""

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from guestinit.timer import timer_unit
from guestinit.timer.persist import read_stamp, write_stamp
from guestinit.unitfile import parse_unit_text

DEBIAN = Path(__file__).resolve().parents[2] / "fixtures" / "units" / "debian"
NOON = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def config_of(text: str, name: str = "t.timer") -> tuple[timer_unit.TimerConfig | None, list[str]]:
    result = parse_unit_text(text, name, f"/u/{name}")
    assert result.spec is not None
    return timer_unit.parse_timer(result.spec)


def fresh(config: timer_unit.TimerConfig, **changes: object) -> timer_unit.TimerState:
    state = timer_unit.start(config, "t.timer", boot=0.0, now=100.0, now_real=NOON, stamp=None)
    return dataclasses.replace(state, **changes)  # type: ignore[arg-type]


def test_debian_logrotate_timer() -> None:
    text = (DEBIAN / "logrotate.timer").read_text()
    config, errors = config_of(text, "logrotate.timer")
    assert errors == [] and config is not None
    assert config.unit == "logrotate.service" and config.persistent
    assert [c.normalized() for c in config.calendars] == ["*-*-* 00:00:00"]
    assert config.accuracy == 3600


def test_monotonic_triggers_fire_once_per_reference() -> None:
    config, _ = config_of("[Timer]\nOnBootSec=5min\nOnActiveSec=30s\n")
    assert config is not None
    state = fresh(config)
    assert timer_unit.next_deadline(config, state, 100.0, NOON) == 130.0
    state = timer_unit.elapse(config, state, "t.timer", 130.0, NOON, draw=0.0)
    assert timer_unit.next_deadline(config, state, 130.0, NOON) == 300.0
    state = timer_unit.elapse(config, state, "t.timer", 300.0, NOON, draw=0.0)
    assert timer_unit.next_deadline(config, state, 300.0, NOON) is None


def test_on_unit_active_repeats_after_each_activation() -> None:
    config, _ = config_of("[Timer]\nOnUnitActiveSec=1h\nUnit=job.service\n")
    assert config is not None and config.unit == "job.service"
    state = fresh(config)
    assert timer_unit.next_deadline(config, state, 100.0, NOON) is None, "unit never active yet"
    state = dataclasses.replace(state, unit_active_at=200.0)
    assert timer_unit.next_deadline(config, state, 200.0, NOON) == 3800.0
    state = timer_unit.elapse(config, state, "t.timer", 3800.0, NOON, draw=0.0)
    state = dataclasses.replace(state, unit_active_at=3801.0)
    assert timer_unit.next_deadline(config, state, 3801.0, NOON) == 7401.0


def test_calendar_daily_and_persistent_catch_up() -> None:
    config, _ = config_of("[Timer]\nOnCalendar=daily\nPersistent=true\n")
    assert config is not None
    state = fresh(config)
    twelve_hours = 12 * 3600.0
    assert timer_unit.next_deadline(config, state, 100.0, NOON) == 100.0 + twelve_hours
    missed = timer_unit.start(config, "t.timer", 0.0, 100.0, NOON, NOON - timedelta(days=2))
    assert timer_unit.next_deadline(config, missed, 100.0, NOON) == 100.0, "catch up at once"
    recent = timer_unit.start(config, "t.timer", 0.0, 100.0, NOON, NOON - timedelta(hours=1))
    assert timer_unit.next_deadline(config, recent, 100.0, NOON) == 100.0 + twelve_hours


def test_randomized_delay_and_fixed_delay() -> None:
    config, _ = config_of("[Timer]\nOnActiveSec=10s\nRandomizedDelaySec=100s\n")
    assert config is not None
    state = timer_unit.elapse(config, fresh(config), "t.timer", 100.0, NOON, draw=0.25)
    assert state.delay == 25.0
    fixed, _ = config_of(
        "[Timer]\nOnActiveSec=10s\nRandomizedDelaySec=100s\nFixedRandomDelay=yes\n"
    )
    assert fixed is not None
    delays = {
        timer_unit.elapse(fixed, fresh(fixed), "t.timer", 1.0, NOON, draw=d).delay
        for d in (0.1, 0.9)
    }
    assert len(delays) == 1 and 0 <= delays.pop() < 100


def test_bad_expressions_name_file_and_line_and_no_trigger_is_refused() -> None:
    config, errors = config_of("[Timer]\nOnCalendar=someday\nOnActiveSec=1s\n")
    assert config is not None and len(errors) == 1
    assert errors[0].startswith("/u/t.timer:2: OnCalendar=someday: ")
    none, errors = config_of("[Timer]\nOnCalendar=bogus\n")
    assert none is None and any("no trigger" in e for e in errors)


def test_stamps(tmp_path: Path) -> None:
    assert read_stamp(str(tmp_path / "missing"), "t.timer") is None
    assert write_stamp(str(tmp_path / "timers"), "t.timer", NOON) is None
    assert read_stamp(str(tmp_path / "timers"), "t.timer") == NOON
