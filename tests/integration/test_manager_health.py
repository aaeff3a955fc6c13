"""X-HealthCheck= for real: a command check failing three times restarts the
unit per Restart=; tcp: checks; ctl health names the unhealthy unit."""

import socket

from tests.sandbox import Sandbox, ctl, wait_for

SERVICE = """[Service]
ExecStart=/bin/sh -c 'while :; do sleep 0.05; done'
Restart=on-failure
X-HealthCheck={check}
X-HealthInterval=0.2s
X-HealthTimeout=1s
X-HealthRetries=3
"""


def test_failing_command_check_restarts_the_unit(sandbox: Sandbox) -> None:
    flag = sandbox.path("healthy")
    flag.write_text("yes")
    checks = sandbox.path("checks")  # a line per check run
    check = f"/bin/sh -c 'echo ran >> {checks}; test -e {flag}'"
    sandbox.unit("web.service", SERVICE.format(check=check))
    run = sandbox.start("-v", "--start=web.service")
    wait_for(lambda: ctl(run, "is-active", "web").returncode == 0)
    first = ctl(run, "show", "web", "-p", "MainPID").stdout.strip()
    # More passing checks than the 3 that would restart it, then still healthy.
    wait_for(lambda: checks.exists() and len(checks.read_text().splitlines()) > 3, timeout=20)
    assert ctl(run, "health").returncode == 0, "checks pass while the flag exists"
    assert ctl(run, "show", "web", "-p", "MainPID").stdout.strip() == first
    flag.unlink()
    wait_for(
        lambda: (
            ctl(run, "show", "web", "-p", "MainPID").stdout.strip() not in ("", first, "MainPID=0")
        ),
        timeout=20,
    )
    run.signal(15)
    run.wait(timeout=30)
    err = run.stderr.decode()
    assert "web.service: health check failed (3/3)" in err
    assert "web.service: unhealthy after 3 failed checks" in err
    assert "scheduling restart" in err


def test_tcp_check_and_ctl_health(sandbox: Sandbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    try:
        sandbox.unit(
            "up.service",
            SERVICE.format(check=f"tcp:127.0.0.1:{port}").replace(
                "Restart=on-failure", "Restart=no"
            ),
        )
        sandbox.unit(
            "down.service",
            SERVICE.format(check=f"tcp:127.0.0.1:{dead_port}").replace(
                "Restart=on-failure", "Restart=no"
            ),
        )
        run = sandbox.start("--start=up.service", "--start=down.service")
        wait_for(
            lambda: "down.service" in ctl(run, "health").stdout + ctl(run, "health").stderr,
            timeout=20,
        )
        health = ctl(run, "health")
        assert health.returncode == 1
        assert "up.service" not in health.stdout + health.stderr
        run.signal(15)
        run.wait(timeout=30)
    finally:
        listener.close()
