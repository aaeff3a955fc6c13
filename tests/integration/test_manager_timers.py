"""Timer units for real: OnActiveSec= and OnUnitActiveSec= start their unit,
Persistent= leaves a stamp, list-timers shows them."""

import time

from tests.sandbox import Sandbox, ctl, wait_for


def test_timer_starts_its_unit_repeatedly(sandbox: Sandbox) -> None:
    marks = sandbox.path("marks")
    sandbox.unit(
        "tick.service", f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo x >> {marks}'\n"
    )
    sandbox.unit(
        "tick.timer",
        "[Timer]\nOnActiveSec=0.3s\nOnUnitActiveSec=0.5s\nPersistent=yes\n"
        "OnCalendar=*-*-* 03:00:00\n",
    )
    run = sandbox.start("-v", "--start=tick.timer")
    wait_for(lambda: marks.exists() and len(marks.read_text().split()) >= 3, timeout=20)
    listing = ctl(run, "list-timers")
    assert "tick.timer" in listing.stdout and "tick.service" in listing.stdout, listing.stdout
    run.signal(15)
    assert run.wait(timeout=30) == 0
    assert "tick.timer: elapsed, starting tick.service" in run.stderr.decode()
    assert (sandbox.path("state") / "timers" / "stamp-tick.timer").exists()


def test_timer_without_a_trigger_is_refused_with_file_and_line(sandbox: Sandbox) -> None:
    sandbox.unit("bad.timer", "[Timer]\nOnCalendar=never ever\n")
    run = sandbox.start("--start=bad.timer", "--", "true")
    started = time.monotonic()
    assert run.wait(timeout=30) == 0
    assert time.monotonic() - started < 10
    err = run.stderr.decode()
    assert f"{sandbox.units}/bad.timer:2: OnCalendar=never ever" in err
    assert "has no trigger" in err
