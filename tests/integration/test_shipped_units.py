"""The unit files in units/: they parse cleanly, and ssh.service runs a real
sshd under guestinit that accepts a key login."""

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from guestinit.timer.calendar import parse_calendar
from guestinit.unitfile import parse_unit_text
from tests.sandbox import REPO, Sandbox, ctl, wait_for_port
from tests.system.test_debian_ssh import ssh_sandbox

UNITS = REPO / "units"
SHIPPED = sorted(path for path in UNITS.iterdir() if path.suffix in (".service", ".timer"))


def test_the_expected_units_are_shipped() -> None:
    names = {path.name for path in SHIPPED}
    expected = {"ssh", "cron", "rsyslog", "logrotate"}
    assert {f"{name}.service" for name in expected} | {"logrotate.timer"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_unit_parses_without_a_diagnostic(path: Path) -> None:
    result = parse_unit_text(path.read_text(), path.name, str(path))
    assert result.ok
    assert result.diagnostics == ()


def test_logrotate_timer_is_daily() -> None:
    path = UNITS / "logrotate.timer"
    spec = parse_unit_text(path.read_text(), path.name, str(path)).spec
    assert spec is not None
    timer = {key: [v.value for v in values] for key, values in spec.raw["Timer"].items()}
    assert timer["OnCalendar"] == ["daily"] and timer["Persistent"] == ["true"]
    assert parse_calendar("daily").normalized() == "*-*-* 00:00:00"


def test_rsyslog_service_does_without_syslog_socket() -> None:
    path = UNITS / "rsyslog.service"
    spec = parse_unit_text(path.read_text(), path.name, str(path)).spec
    assert spec is not None and spec.service is not None
    assert spec.requires == () and spec.service.type.value == "notify"


needs_sshd = pytest.mark.skipif(
    not (shutil.which("sshd") and shutil.which("ssh") and shutil.which("ssh-keygen")),
    reason="openssh-server and openssh-client are needed",
)


def own_etc_ssh(sandbox: Sandbox) -> tuple[Path, int, Path]:
    """An /etc/ssh of our own without host keys (the unit makes them), a test
    port on loopback, and a client key allowed to log in as root."""
    port, client = ssh_sandbox(sandbox, host_key=False)
    return sandbox.path("etc-ssh"), port, client


@needs_sshd
def test_shipped_ssh_service_accepts_a_key_login(sandbox: Sandbox) -> None:
    etc, port, key = own_etc_ssh(sandbox)
    # Ours first, so it wins over Debian's ssh.service of the same name.
    paths = ["--unit-path", str(UNITS), "--unit-path", "/lib/systemd/system"]
    run = sandbox.start("-v", *paths, "--start", "ssh.service", unit_path=False)
    wait_for_port(port, timeout=60)
    shown = ctl(run, "show", "ssh.service", "-p", "FragmentPath", "-p", "Type").stdout.split()
    assert shown == [f"FragmentPath={UNITS / 'ssh.service'}", "Type=exec"]
    assert (etc / "ssh_host_ed25519_key").exists(), "ExecStartPre=ssh-keygen -A made host keys"
    options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "BatchMode=yes"]
    options = [f"-o{option}" for option in [*options, "LogLevel=ERROR"]]
    login = subprocess.run(
        [
            "ssh",
            "-i",
            str(key),
            "-p",
            str(port),
            *options,
            "root@127.0.0.1",
            "id -un; ls -d /run/sshd",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.split() == ["root", "/run/sshd"], "RuntimeDirectory= was made"
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert "ssh.service: ExecStartPre process" in err and "ssh.service: started" in err, err
