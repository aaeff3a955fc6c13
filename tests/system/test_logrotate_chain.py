"""The whole daily chain, for real, with Debian's units unmodified: a timer
starts logrotate.service, logrotate rotates rsyslog's file and runs Debian's
postrotate (/usr/lib/rsyslog/rsyslog-rotate), which reaches rsyslogd through
guestinit's systemctl shim (`systemctl kill -s HUP rsyslog.service`), and
rsyslog writes to a new file."""

import subprocess
from pathlib import Path

import pytest

from tests.integration.initrun import launcher
from tests.sandbox import Sandbox, wait_for

NEEDED = [
    Path(p)
    for p in (
        "/lib/systemd/system/rsyslog.service",
        "/lib/systemd/system/logrotate.service",
        "/usr/lib/rsyslog/rsyslog-rotate",
        "/usr/sbin/logrotate",
    )
]


@pytest.mark.skipif(not all(p.exists() for p in NEEDED), reason="Debian's rsyslog and logrotate")
def test_timer_logrotate_and_rsyslog_reopen_through_the_shim(sandbox: Sandbox) -> None:
    log_sock, log_file = sandbox.path("log.sock"), sandbox.path("all.log")
    rsyslog_conf = sandbox.path("rsyslog.conf")
    rsyslog_conf.write_text(f'module(load="imuxsock" SysSock.Name="{log_sock}")\n*.* {log_file}\n')
    logrotate_conf = sandbox.path("logrotate.conf")
    logrotate_conf.write_text(
        f"{log_file} {{\n  rotate 3\n  size 1\n  missingok\n  postrotate\n"
        "    /usr/lib/rsyslog/rsyslog-rotate\n  endscript\n}\n"
    )
    state = sandbox.path("logrotate-state")
    state.mkdir()
    sandbox.bind(rsyslog_conf, "/etc/rsyslog.conf")
    sandbox.bind(logrotate_conf, "/etc/logrotate.conf")
    sandbox.bind(state, "/var/lib/logrotate")
    sandbox.commands.append("mkdir -p /run/systemd/system")  # what rsyslog-rotate checks
    shims = sandbox.path("bin")
    launcher(shims, "systemctl")
    # Debian's logrotate.timer says "daily"; ours fires 2 s after the boot.
    sandbox.unit("rotate-soon.timer", "[Timer]\nOnActiveSec=2s\nUnit=logrotate.service\n")

    def log(message: str) -> None:
        subprocess.run(["logger", "-u", str(log_sock), "-t", "chain", message], check=True)

    run = sandbox.start(
        "-v",
        "--unit-path",
        "/lib/systemd/system",
        "--start=rsyslog.service",
        "--start=rotate-soon.timer",
        env={"PATH": f"{shims}:/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    wait_for(log_sock.exists)
    log("before rotation")
    wait_for(lambda: Path(f"{log_file}.1").exists(), timeout=30)

    def reopened() -> bool:
        log("after rotation")  # rsyslog opens its file anew at the next line
        return log_file.exists()

    wait_for(reopened, timeout=20, interval=0.3)
    wait_for(lambda: "after rotation" in log_file.read_text())
    assert "before rotation" in Path(f"{log_file}.1").read_text()
    run.signal(15)
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert "rotate-soon.timer: elapsed, starting logrotate.service" in err
    assert "logrotate.service: main process" in err
