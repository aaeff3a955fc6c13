"""``guestinit ctl`` against the real service manager: systemctl's verbs,
output and exit codes, and an unprivileged user refused."""

from tests.integration.initrun import InitRun
from tests.sandbox import Sandbox, ctl, wait_for

LONG = "[Unit]\nDescription={name} test\n[Service]\nExecStart=/bin/sh -c " \
       "'trap \"echo {name} got HUP\" HUP; while :; do sleep 0.05; done'\n"  # fmt: skip


def started(sandbox: Sandbox, *names: str) -> InitRun:
    for name in names:
        sandbox.unit(f"{name}.service", LONG.format(name=name))
    run = sandbox.start(*(f"--start={n}.service" for n in names))
    wait_for(lambda: ctl(run, "is-active", *(f"{n}.service" for n in names)).returncode == 0)
    return run


def test_status_is_active_and_list_units(sandbox: Sandbox) -> None:
    run = started(sandbox, "web", "db")
    status = ctl(run, "status", "web.service")
    assert status.returncode == 0, status.stderr
    assert "● web.service - web test" in status.stdout
    assert "Active: active (running)" in status.stdout and "Main PID:" in status.stdout
    assert ctl(run, "is-active", "web").stdout.strip() == "active"
    missing = ctl(run, "status", "nope.service")
    assert missing.returncode == 4
    listing = ctl(run, "list-units").stdout
    assert "web.service" in listing and "db.service" in listing
    shown = ctl(run, "show", "web.service", "-p", "ActiveState", "-p", "SubState").stdout
    assert shown.split() == ["ActiveState=active", "SubState=running"]
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_stop_start_restart_and_kill(sandbox: Sandbox) -> None:
    run = started(sandbox, "web")
    first = ctl(run, "show", "web", "-p", "MainPID").stdout.strip()
    assert ctl(run, "stop", "web").returncode == 0
    inactive = ctl(run, "is-active", "web")
    assert (inactive.stdout.strip(), inactive.returncode) == ("inactive", 3)
    assert ctl(run, "start", "web").returncode == 0
    assert ctl(run, "restart", "web").returncode == 0
    assert ctl(run, "show", "web", "-p", "MainPID").stdout.strip() != first
    assert ctl(run, "kill", "-s", "HUP", "--kill-whom=main", "web").returncode == 0
    assert ctl(run, "start", "ghost.service").returncode == 5
    assert ctl(run, "exit", "4").returncode == 0
    assert run.wait(timeout=30) == 4
    assert "web got HUP" in run.stdout.decode()


def test_unprivileged_user_is_refused(sandbox: Sandbox) -> None:
    run = started(sandbox, "web")
    refused = ctl(run, "status", user="nobody")
    assert refused.returncode == 4
    assert "permission denied" in (refused.stdout + refused.stderr).lower()
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_health_reports_failed_units(sandbox: Sandbox) -> None:
    sandbox.unit("bad.service", "[Service]\nExecStart=/bin/false\n")
    sandbox.unit("ok.service", LONG.format(name="ok"))
    run = sandbox.start("--start=bad.service", "--start=ok.service")
    wait_for(lambda: ctl(run, "is-failed", "bad.service").returncode == 0)
    health = ctl(run, "health")
    assert health.returncode == 1
    assert "bad.service" in health.stdout + health.stderr
    run.signal(15)
    assert run.wait(timeout=30) == 0
