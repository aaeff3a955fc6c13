"""RestartSec= for real: an explicit value is waited each time (systemd's
rule), measured from the unit's own start stamps; ``ctl status`` shows the
restart that is due."""

import itertools
import signal

from tests.sandbox import Sandbox, ctl, wait_for


def test_restart_sec_is_constant_and_status_shows_the_next_restart(sandbox: Sandbox) -> None:
    stamps = sandbox.path("starts")
    sandbox.unit(
        "flaky.service",
        "[Unit]\nStartLimitIntervalSec=0\n"
        "[Service]\nRestart=always\nRestartSec=1\n"
        f"ExecStart=/bin/sh -c 'cut -d\" \" -f1 /proc/uptime >> {stamps}; exit 1'\n",
    )
    run = sandbox.start("--start", "flaky.service", "--", "sleep", "120")
    wait_for(lambda: "auto-restart" in ctl(run, "status", "flaky.service").stdout)
    status = ctl(run, "status", "flaky.service").stdout
    assert "activating (auto-restart) (Result: exit-code)" in status, status
    assert "    Restart: #" in status and "; in " in status, status

    def starts() -> list[float]:
        return [float(x) for x in stamps.read_text().split()] if stamps.exists() else []

    wait_for(lambda: len(starts()) >= 5, timeout=60)
    run.signal(signal.SIGTERM)
    run.wait(timeout=30)
    times = starts()[:5]
    intervals = [b - a for a, b in itertools.pairwise(times)]
    assert all(i >= 0.95 for i in intervals), intervals  # never sooner than RestartSec
    # Doubling would make the last interval at least 2-3x the first.
    assert max(intervals) / min(intervals) < 1.8, intervals
