"""The unit files in units/: they parse cleanly, and ssh.service runs a real
sshd under guestinit that accepts a key login."""

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from guestinit.timer.calendar import parse_calendar
from guestinit.unitfile import parse_unit_text
from guestinit.unitfile.load import load_unit
from tests.sandbox import REPO, Sandbox, ctl, wait_for_port
from tests.system.test_debian_ssh import ssh_sandbox

UNITS = REPO / "units"
SHIPPED = sorted(
    path for path in UNITS.iterdir() if path.suffix in (".service", ".timer", ".target")
)


def test_the_expected_units_are_shipped() -> None:
    names = {path.name for path in SHIPPED}
    expected = {"ssh", "cron", "rsyslog", "logrotate", "guestinit-wait-online", "serial-getty@"}
    assert {f"{name}.service" for name in expected} <= names
    assert {"logrotate.timer", "network-online.target"} <= names


def test_network_online_target_waits_for_the_waiter_with_either_target_file() -> None:
    """Ours, or the distribution's (first on the path) plus our .wants/ link."""
    for path in ([str(UNITS)], ["/lib/systemd/system", str(UNITS)]):
        target = load_unit("network-online.target", search_path=path)
        assert target.spec is not None, target.diagnostics
        assert "guestinit-wait-online.service" in target.spec.wants
    waiter = load_unit("guestinit-wait-online.service", search_path=[str(UNITS)]).spec
    assert waiter is not None and waiter.service is not None
    assert "network-online.target" in waiter.before
    assert (waiter.service.type.value, waiter.service.remain_after_exit) == ("oneshot", True)
    # VM guest mode only: a container skips it, and the target is reached at once.
    conditions = [(c.kind, c.negate, c.value) for c in waiter.conditions]
    assert conditions == [("PathExists", False, "/run/guestinit/vm")], conditions


def test_serial_getty_instance_names_its_tty() -> None:
    result = load_unit("serial-getty@ttyS0.service", search_path=[str(UNITS)])
    assert result.spec is not None and result.diagnostics == ()
    service = result.spec.service
    assert service is not None
    (start,) = service.exec_start
    assert start.ignore_failure and start.path == "/sbin/agetty"
    assert start.argv[1:] == (
        "-o", "-p -- \\u", "--keep-baud", "115200,57600,38400,9600", "ttyS0", "$TERM",
    )  # fmt: skip
    assert service.type.value == "idle" and service.restart.value == "always"
    assert ("TERM", "vt220") in tuple(service.environment.items()), service.environment
    assert [(c.kind, c.negate, c.value) for c in result.spec.conditions] == [
        ("PathExists", False, "/dev/ttyS0")
    ]


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
