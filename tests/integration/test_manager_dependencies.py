"""Requires=, BindsTo= and Requisite= for real, as systemd applies them: a
dependency whose start fails fails its dependant's start job ("Dependency
failed for ..."), and the dependant never runs; without After= both start in
parallel and a later failure does not stop the dependant."""

import signal

from tests.integration.initrun import InitRun
from tests.sandbox import Sandbox, ctl, wait_for

MIGRATE = "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo migrating; exit 4'\n"


def _web(sandbox: Sandbox, relation: str, marker: str = "web-ran") -> str:
    """web.service with ``relation`` (unit lines); it leaves a marker file when it runs."""
    path = sandbox.path(marker)
    sandbox.unit(
        "web.service",
        f"[Unit]\n{relation}\n[Service]\nExecStart=/bin/sh -c 'touch {path}; exec sleep 60'\n",
    )
    return str(path)


def _stop(run: InitRun) -> str:
    run.signal(signal.SIGTERM)
    run.wait(timeout=30)
    return run.stderr.decode()


def test_a_failed_required_oneshot_fails_web_and_web_never_starts(sandbox: Sandbox) -> None:
    sandbox.unit("migrate.service", MIGRATE)
    marker = _web(sandbox, "Requires=migrate.service\nAfter=migrate.service")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-failed", "migrate.service").stdout.strip() == "failed")
    again = ctl(run, "start", "web.service")  # migrate runs (and fails) again first
    assert again.returncode == 1
    assert "A dependency job for web.service failed." in again.stderr
    status = ctl(run, "status", "web.service")
    assert "inactive (dead)" in status.stdout, status.stdout
    assert ctl(run, "is-active", "web.service").stdout.strip() == "inactive"
    assert not sandbox.path("web-ran").exists(), f"{marker} exists: web ran"
    err = _stop(run)
    # At the default log level (no -v): the line systemd prints.
    assert "Dependency failed for web.service." in err


def test_bindsto_with_after_also_never_starts_and_follows_the_bound_unit_down(
    sandbox: Sandbox,
) -> None:
    sandbox.unit("migrate.service", MIGRATE)
    _web(sandbox, "BindsTo=migrate.service\nAfter=migrate.service")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-failed", "migrate.service").stdout.strip() == "failed")
    assert ctl(run, "is-active", "web.service").stdout.strip() == "inactive"
    assert not sandbox.path("web-ran").exists()
    assert "Dependency failed for web.service." in _stop(run)

    # A bound unit that goes down (here: killed) takes the dependant with it.
    sandbox.unit("db.service", "[Service]\nExecStart=/bin/sleep 60\n")
    _web(sandbox, "BindsTo=db.service\nAfter=db.service", marker="web-ran-2")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-active", "web.service").returncode == 0)
    assert ctl(run, "kill", "-s", "KILL", "db.service").returncode == 0
    wait_for(lambda: ctl(run, "is-active", "web.service").stdout.strip() == "inactive")
    assert ctl(run, "is-failed", "db.service").stdout.strip() == "failed"
    _stop(run)


def test_requisite_fails_when_the_unit_is_not_active(sandbox: Sandbox) -> None:
    sandbox.unit("db.service", "[Service]\nExecStart=/bin/sleep 60\n")
    _web(sandbox, "Requisite=db.service\nAfter=db.service")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-active", "web.service").stdout.strip() == "inactive")
    start = ctl(run, "start", "web.service")
    assert start.returncode == 1 and "A dependency job for web.service failed." in start.stderr
    assert ctl(run, "is-active", "db.service").stdout.strip() == "inactive", "never pulled in"
    assert ctl(run, "start", "db.service").returncode == 0
    assert ctl(run, "start", "web.service").returncode == 0  # now db is active
    wait_for(lambda: sandbox.path("web-ran").exists())
    assert "Dependency failed for web.service." in _stop(run)


def test_requires_without_after_starts_both_and_a_later_failure_leaves_web_running(
    sandbox: Sandbox,
) -> None:
    marker = sandbox.path("web-ran")
    # migrate fails only once web runs: the failure comes after web's start job.
    sandbox.unit(
        "migrate.service",
        "[Service]\nType=oneshot\n"
        f"ExecStart=/bin/sh -c 'while [ ! -e {marker} ]; do sleep 0.05; done; exit 4'\n",
    )
    _web(sandbox, "Requires=migrate.service")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-failed", "migrate.service").stdout.strip() == "failed")
    assert ctl(run, "is-active", "web.service").stdout.strip() == "active"
    err = _stop(run)
    assert "Dependency failed" not in err


def test_an_explicit_stop_of_a_required_unit_stops_the_dependant(sandbox: Sandbox) -> None:
    sandbox.unit("db.service", "[Service]\nExecStart=/bin/sleep 60\n")
    _web(sandbox, "Requires=db.service")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-active", "web.service", "db.service").returncode == 0)
    assert ctl(run, "stop", "db.service").returncode == 0
    wait_for(lambda: ctl(run, "is-active", "web.service").stdout.strip() == "inactive")
    _stop(run)


def test_a_restart_of_a_required_unit_restarts_the_dependant(sandbox: Sandbox) -> None:
    sandbox.unit("db.service", "[Service]\nExecStart=/bin/sleep 60\n")
    _web(sandbox, "Requires=db.service\nAfter=db.service")
    run = sandbox.start("--start", "web.service", "--", "sleep", "60")
    wait_for(lambda: ctl(run, "is-active", "web.service", "db.service").returncode == 0)

    def main_pid(name: str) -> str:
        return ctl(run, "show", "-p", "MainPID", name).stdout.strip()

    before = main_pid("web.service")
    assert ctl(run, "restart", "db.service").returncode == 0
    wait_for(lambda: main_pid("web.service") not in (before, "MainPID=0"))
    assert ctl(run, "is-active", "web.service").stdout.strip() == "active"
    _stop(run)
