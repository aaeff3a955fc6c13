"""Debian's own unit files (captured under tests/fixtures/units/debian) parse cleanly."""

import signal
from pathlib import Path

import pytest

from guestinit.unitfile import (
    EnvironmentFile,
    KillMode,
    NotifyAccess,
    ParseResult,
    Restart,
    RLimit,
    ServiceSpec,
    ServiceType,
    Severity,
    StdKind,
    StdStream,
    UnitKind,
    UnitSpec,
    parse_unit_text,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "units" / "debian"
NAMES = [
    "ssh.service",
    "ssh@.service",
    "ssh.socket",
    "cron.service",
    "rsyslog.service",
    "logrotate.service",
    "logrotate.timer",
    "syslog.socket",
]


def parse(name: str, unit_name: str | None = None) -> ParseResult:
    path = FIXTURES / name
    return parse_unit_text(path.read_text(), unit_name or name, str(path))


def spec(name: str, unit_name: str | None = None) -> UnitSpec:
    result = parse(name, unit_name)
    assert result.spec is not None, result.diagnostics
    return result.spec


def service(name: str, unit_name: str | None = None) -> ServiceSpec:
    svc = spec(name, unit_name).service
    assert svc is not None
    return svc


@pytest.mark.parametrize("name", NAMES)
def test_no_errors(name: str) -> None:
    result = parse(name)
    assert result.spec is not None
    assert [d for d in result.diagnostics if d.severity is Severity.ERROR] == []


@pytest.mark.parametrize("name", [n for n in NAMES if n != "logrotate.service"])
def test_no_warnings_either(name: str) -> None:
    assert parse(name).diagnostics == ()


def test_ssh_service() -> None:
    unit = spec("ssh.service")
    assert unit.description == "OpenBSD Secure Shell server"
    assert unit.documentation == ("man:sshd(8)", "man:sshd_config(5)")
    assert unit.after == ("network.target", "auditd.service")
    (condition,) = unit.conditions
    assert (condition.kind, condition.negate, condition.value) == (
        "PathExists",
        True,
        "/etc/ssh/sshd_not_to_be_run",
    )
    assert unit.install.wanted_by == ("multi-user.target",)
    assert unit.install.alias == ("sshd.service",)
    svc = unit.service
    assert svc is not None
    assert svc.type is ServiceType.NOTIFY
    assert svc.notify_access is NotifyAccess.MAIN  # implied by Type=notify
    assert svc.environment_files == (EnvironmentFile("/etc/default/ssh", optional=True),)
    (pre,) = svc.exec_start_pre
    assert (pre.path, pre.argv) == ("/usr/sbin/sshd", ("/usr/sbin/sshd", "-t"))
    (start,) = svc.exec_start
    assert start.argv == ("/usr/sbin/sshd", "-D", "$SSHD_OPTS")
    assert [c.argv for c in svc.exec_reload] == [
        ("/usr/sbin/sshd", "-t"),
        ("/bin/kill", "-HUP", "$MAINPID"),
    ]
    assert svc.kill_mode is KillMode.PROCESS
    assert svc.restart is Restart.ON_FAILURE
    assert svc.restart_prevent_exit_status.codes == {255}
    assert svc.runtime_directory == ("sshd",)
    assert svc.runtime_directory_mode == 0o755


def test_ssh_per_connection_template() -> None:
    svc = service("ssh@.service", "ssh@1-10.0.0.1:22-10.0.0.2:5000.service")
    (start,) = svc.exec_start
    assert start.ignore_failure
    assert start.argv == ("/usr/sbin/sshd", "-i", "$SSHD_OPTS")
    assert svc.standard_input == StdStream(StdKind.SOCKET)
    assert svc.type is ServiceType.SIMPLE


def test_cron_service() -> None:
    svc = service("cron.service")
    assert svc.environment_files == (EnvironmentFile("/etc/default/cron", optional=True),)
    assert svc.exec_start[0].argv == ("/usr/sbin/cron", "-f", "$EXTRA_OPTS")
    assert not svc.ignore_sigpipe
    assert svc.kill_mode is KillMode.PROCESS
    assert svc.restart is Restart.ON_FAILURE


def test_rsyslog_service() -> None:
    unit = spec("rsyslog.service")
    assert unit.requires == ("syslog.socket",)
    assert len(unit.documentation) == 3
    assert unit.install.alias == ("syslog.service",)
    svc = unit.service
    assert svc is not None
    assert svc.type is ServiceType.NOTIFY
    assert svc.exec_start[0].argv == ("/usr/sbin/rsyslogd", "-n", "-iNONE")
    assert svc.standard_output == StdStream(StdKind.NULL)
    assert svc.limits == {"RLIMIT_NOFILE": RLimit(16384, 16384)}


def test_logrotate_service() -> None:
    result = parse("logrotate.service")
    unit = result.spec
    assert unit is not None and unit.service is not None
    assert unit.requires_mounts_for == ("/var/log",)
    assert [(c.kind, c.value) for c in unit.conditions] == [("ACPower", "true")]
    assert unit.service.type is ServiceType.ONESHOT
    assert unit.service.exec_start[0].argv == ("/usr/sbin/logrotate", "/etc/logrotate.conf")
    assert unit.service.nice == 19
    (warning,) = result.diagnostics
    assert warning.severity is Severity.WARNING
    assert warning.line == 13  # the first hardening line
    for key in ("IOSchedulingClass", "PrivateTmp", "ProtectSystem", "RestrictRealtime"):
        assert f"{key}=" in warning.message


def test_logrotate_timer() -> None:
    unit = spec("logrotate.timer")
    assert unit.kind is UnitKind.TIMER
    timer = unit.raw["Timer"]
    assert [v.value for v in timer["OnCalendar"]] == ["daily"]
    assert timer["AccuracySec"][0].value == "1h"
    assert timer["Persistent"][0].value == "true"
    assert unit.install.wanted_by == ("timers.target",)


def test_syslog_socket() -> None:
    unit = spec("syslog.socket")
    assert not unit.default_dependencies
    assert unit.before == ("sockets.target", "shutdown.target", "emergency.service")
    assert unit.conflicts == ("shutdown.target", "emergency.service")
    assert unit.raw["Socket"]["ListenDatagram"][0].value == "/run/systemd/journal/syslog"
    assert unit.raw["Socket"]["ReceiveBuffer"][0].value == "8M"


def test_ssh_socket() -> None:
    unit = spec("ssh.socket")
    assert unit.raw["Socket"]["Accept"][0].value == "no"
    assert unit.conditions[0].negate


def test_sshd_options_expand() -> None:
    from guestinit.unitfile import expand_exec

    (start,) = service("ssh.service").exec_start
    assert expand_exec(start, {"SSHD_OPTS": "-o 'Banner none' -4"}) == [
        "/usr/sbin/sshd",
        "-D",
        "-o",
        "Banner none",
        "-4",
    ]
    assert expand_exec(start, {}) == ["/usr/sbin/sshd", "-D"]
    assert service("ssh.service").kill_signal == signal.SIGTERM
