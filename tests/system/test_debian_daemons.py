"""Debian's rsyslog.service, cron.service and logrotate.service, unmodified,
under guestinit, each with our own configuration bound over /etc."""

import shutil
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.sandbox import Sandbox, children_named, wait_for, wait_for_port
from tests.system.test_debian_ssh import ssh_sandbox

UNITS = Path("/lib/systemd/system")


def needs(*names: str) -> pytest.MarkDecorator:
    missing = [n for n in names if not (UNITS / n).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"Debian units missing: {missing}")


def processes_named(init_pid: int, name: str) -> list[psutil.Process]:
    return children_named(init_pid, name, recursive=True)


@needs("rsyslog.service", "syslog.socket")
def test_rsyslog_service_receives_logger_lines(sandbox: Sandbox) -> None:
    socket_path = sandbox.path("log.sock")
    log_file = sandbox.path("all.log")
    conf = sandbox.path("rsyslog.conf")
    conf.write_text(f'module(load="imuxsock" SysSock.Name="{socket_path}")\n*.* {log_file}\n')
    sandbox.bind(conf, "/etc/rsyslog.conf")
    run = sandbox.start("-v", "--start", "rsyslog.service", unit_path=False)
    wait_for(socket_path.exists)
    subprocess.run(["logger", "-u", str(socket_path), "-t", "gi-test", "hello rsyslog"], check=True)
    wait_for(lambda: log_file.exists() and "gi-test: hello rsyslog" in log_file.read_text())
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert "rsyslog.service: started" in err, err
    assert "syslog.socket: this unit type is not run by guestinit" in err


@needs("cron.service")
def test_cron_service_runs_and_stops(sandbox: Sandbox) -> None:
    crontab = sandbox.path("crontab")
    crontab.write_text("SHELL=/bin/sh\n")
    cron_d = sandbox.path("cron.d")
    cron_d.mkdir()
    sandbox.bind(crontab, "/etc/crontab")
    sandbox.bind(cron_d, "/etc/cron.d")
    run = sandbox.start("-v", "--start", "cron.service", unit_path=False)
    init = run.init_pid()
    wait_for(lambda: bool(processes_named(init, "cron")))
    cron = processes_named(init, "cron")[0]
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    assert not cron.is_running()
    assert "cron.service: started" in run.stderr.decode()


@needs("logrotate.service")
def test_logrotate_service_runs_as_a_oneshot(sandbox: Sandbox) -> None:
    app_log = sandbox.path("app.log")
    app_log.write_text("line\n" * 100)
    conf = sandbox.path("logrotate.conf")
    conf.write_text(f"{app_log} {{\n    rotate 2\n    size 1\n    missingok\n}}\n")
    state = sandbox.path("logrotate-state")
    state.mkdir()
    sandbox.bind(conf, "/etc/logrotate.conf")
    sandbox.bind(state, "/var/lib/logrotate")
    run = sandbox.start("-v", "--start", "logrotate.service", "--", "sleep", "0.2", unit_path=False)
    assert run.wait(timeout=60) == 0
    assert Path(f"{app_log}.1").exists(), run.stderr.decode()
    err = run.stderr.decode()
    assert "logrotate.service: main process" in err and "exited with status 0" in err
    # 15 hardening keys we do not implement: one warning naming the file.
    assert err.count("logrotate.service") >= 1 and "not implemented" in err.lower()
    assert shutil.which("logrotate")


@needs("cron.service")
def test_a_cron_d_job_runs_at_the_minute_boundary(sandbox: Sandbox) -> None:
    """The one test that waits for a minute boundary (up to ~70 s)."""
    marker = sandbox.path("cron-ran")
    crontab = sandbox.path("crontab")
    crontab.write_text("SHELL=/bin/sh\n")
    cron_d = sandbox.path("cron.d")
    cron_d.mkdir()
    (cron_d / "guestinit-test").write_text(f"* * * * * root echo ran-by-cron >> {marker}\n")
    sandbox.bind(crontab, "/etc/crontab")
    sandbox.bind(cron_d, "/etc/cron.d")
    run = sandbox.start("--start", "cron.service", unit_path=False)
    wait_for(marker.exists, timeout=75, interval=0.5)
    assert marker.read_text().startswith("ran-by-cron")
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0


@needs("ssh.service", "cron.service")
def test_sshd_and_cron_log_through_the_builtin_syslog(sandbox: Sandbox) -> None:
    """Debian's ssh.service runs sshd without -e, so sshd logs through
    syslog(3), as cron does: with no syslog daemon, guestinit owns /dev/log
    (in a /dev of the namespace's own) and their lines reach its stdout."""
    port, _key = ssh_sandbox(sandbox)
    crontab = sandbox.path("crontab")
    crontab.write_text("SHELL=/bin/sh\n")
    cron_d = sandbox.path("cron.d")
    cron_d.mkdir()
    sandbox.bind(crontab, "/etc/crontab")
    sandbox.bind(cron_d, "/etc/cron.d")
    sandbox.private_dev = True
    run = sandbox.start(
        "--start=ssh.service", "--start=cron.service", unit_path=False, syslog="/dev/log"
    )
    wait_for_port(port)
    # Both daemons' syslog(3) lines, read as they come.
    seen: list[str] = []
    while not (any_from("sshd[", seen) and any_from("cron[", seen)):
        seen.append(run.read_line(timeout=60))
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    out = "\n".join(seen) + run.stdout.decode()
    assert f"Server listening on 127.0.0.1 port {port}" in out


def any_from(prefix: str, lines: list[str]) -> bool:
    return any(line.startswith(prefix) for line in lines)
