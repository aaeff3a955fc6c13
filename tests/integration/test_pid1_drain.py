"""The bounded drain: what is left gets SIGTERM and the grace period, then SIGKILL."""

import os
import signal
import time
from pathlib import Path

from tests.integration.conftest import InitFactory, ProgramPath


def test_slow_worker_gets_its_second_to_clean_up(
    init: InitFactory, program: ProgramPath, tmp_path: Path
) -> None:
    marker = tmp_path / "cleaned"
    started = time.monotonic()
    run = init("--", *program("worker_tree", str(marker), "1", "5"))
    assert run.wait() == 5
    elapsed = time.monotonic() - started
    assert marker.read_text().startswith("cleaned")
    assert 1.0 <= elapsed < 5.0  # waited for the worker, not for the whole grace


def test_grace_expiry_kills_a_worker_that_ignores_sigterm(
    init: InitFactory, program: ProgramPath, tmp_path: Path
) -> None:
    marker = tmp_path / "cleaned"
    started = time.monotonic()
    run = init("--grace", "1", "--", *program("worker_tree", str(marker), "ignore", "0"))
    worker = int(run.read_line().split()[1])
    assert run.wait() == 0
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 4.0
    assert not marker.exists()
    assert b"SIGKILL" in run.stderr
    del worker  # its pid is inside the namespace, which is gone with it


def test_sigterm_to_guestinit_stops_main_then_drains(
    init: InitFactory, program: ProgramPath, tmp_path: Path
) -> None:
    marker = tmp_path / "cleaned"
    script = f"""
{" ".join(program("worker_tree", str(marker), "0.5", "0"))} &
trap 'exit 7' TERM
while :; do sleep 0.05; done
"""
    run = init("--", "sh", "-c", script)
    assert run.read_line().startswith("worker")
    run.signal(signal.SIGTERM)
    assert run.wait() == 7
    assert marker.exists()


def test_main_ignoring_sigterm_is_killed_after_grace(init: InitFactory) -> None:
    run = init(
        "--grace", "1", "--", "sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.05; done"
    )
    assert run.read_line() == "up"
    started = time.monotonic()
    run.signal(signal.SIGTERM)
    assert run.wait() == 128 + signal.SIGKILL
    assert 1.0 <= time.monotonic() - started < 4.0


def test_grace_zero_kills_at_once(init: InitFactory, program: ProgramPath, tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    started = time.monotonic()
    run = init("--grace", "0", "--", *program("worker_tree", str(marker), "ignore", "3"))
    assert run.wait() == 3
    assert time.monotonic() - started < 3.0
    assert os.path.exists(marker) is False
