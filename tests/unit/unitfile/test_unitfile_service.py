"""[Service] keys -> ServiceSpec, and the rules that make a service unusable."""

import math
import signal

import pytest

from guestinit.unitfile import (
    RLIM_INFINITY,
    EnvironmentFile,
    ExitType,
    KillMode,
    NotifyAccess,
    ParseResult,
    Restart,
    RLimit,
    RuntimeDirectoryPreserve,
    ServiceSpec,
    ServiceType,
    Severity,
    StdKind,
    StdStream,
    WorkingDirectory,
    parse_unit_text,
)
from guestinit.unitfile._defaults import RESTART_MAX_DELAY_SEC, RESTART_STEPS, TIMEOUT_STOP_SEC


def result(body: str, name: str = "t.service", unit: str = "") -> ParseResult:
    return parse_unit_text(f"[Unit]\n{unit}\n[Service]\n{body}\n", name, "/x/t.service")


def service(body: str, name: str = "t.service") -> ServiceSpec:
    parsed = result(body, name)
    assert parsed.spec is not None, parsed.diagnostics
    assert parsed.spec.service is not None
    return parsed.spec.service


def messages(parsed: ParseResult, severity: Severity = Severity.WARNING) -> list[str]:
    return [d.message for d in parsed.diagnostics if d.severity is severity]


def test_defaults() -> None:
    svc = service("ExecStart=/bin/true")
    assert svc.type is ServiceType.SIMPLE
    assert svc.restart is Restart.NO
    assert svc.restart_sec == 0.1
    assert svc.restart_steps == RESTART_STEPS
    assert svc.restart_max_delay_sec == RESTART_MAX_DELAY_SEC
    assert svc.timeout_start_sec == 90.0
    assert svc.timeout_stop_sec == TIMEOUT_STOP_SEC == 5.0
    assert svc.kill_mode is KillMode.CONTROL_GROUP
    assert svc.kill_signal == signal.SIGTERM
    assert svc.final_kill_signal == signal.SIGKILL
    assert svc.notify_access is NotifyAccess.NONE
    assert svc.exit_type is ExitType.MAIN
    assert svc.umask == 0o022
    assert svc.ignore_sigpipe
    assert svc.send_sigkill and not svc.send_sighup
    assert svc.standard_input == StdStream(StdKind.NULL)
    assert svc.standard_output == StdStream(StdKind.JOURNAL)
    assert svc.standard_error == StdStream(StdKind.INHERIT)


@pytest.mark.parametrize("value", [t.value for t in ServiceType if t is not ServiceType.DBUS])
def test_every_type(value: str) -> None:
    assert service(f"Type={value}\nExecStart=/bin/true").type.value == value


def test_dbus_needs_bus_name_and_bus_name_implies_dbus() -> None:
    assert not result("Type=dbus\nExecStart=/bin/true").ok
    assert service("BusName=org.example\nExecStart=/bin/true").type is ServiceType.DBUS


def test_bad_type_warns_and_keeps_the_default() -> None:
    parsed = result("Type=fancy\nExecStart=/bin/true")
    assert parsed.spec is not None and parsed.spec.service is not None
    assert parsed.spec.service.type is ServiceType.SIMPLE
    (warning,) = messages(parsed)
    assert "Type='fancy'" in warning and "expected one of" in warning
    assert parsed.diagnostics[0].line == 4


def test_later_assignment_wins_and_empty_restores_default() -> None:
    assert service("Restart=always\nRestart=on-abort\nExecStart=/bin/x").restart is Restart.ON_ABORT
    assert service("Restart=always\nRestart=\nExecStart=/bin/x").restart is Restart.NO


@pytest.mark.parametrize("value", [r.value for r in Restart])
def test_every_restart(value: str) -> None:
    assert service(f"Restart={value}\nExecStart=/bin/x").restart.value == value


def test_missing_exec_start_makes_simple_unusable() -> None:
    parsed = result("Type=simple")
    assert parsed.spec is None
    assert any("ExecStart=" in m for m in messages(parsed, Severity.ERROR))


def test_no_exec_start_and_no_type_is_oneshot_but_needs_remain_or_stop() -> None:
    assert not result("").ok
    assert not result("RemainAfterExit=yes").ok  # neither ExecStart= nor ExecStop=
    svc = service("RemainAfterExit=yes\nExecStop=/bin/true")
    assert svc.type is ServiceType.ONESHOT
    assert not result("ExecStop=/bin/true").ok  # needs RemainAfterExit=


def test_success_action_allows_a_service_without_commands() -> None:
    parsed = result("", unit="SuccessAction=exit")
    assert parsed.ok


def test_oneshot_accumulates_exec_start_and_empty_resets() -> None:
    svc = service("Type=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\nExecStart=\nExecStart=/bin/c")
    assert [c.path for c in svc.exec_start] == ["/bin/c"]
    svc = service("Type=oneshot\nExecStart=/bin/a\nExecStart=/bin/b")
    assert [c.path for c in svc.exec_start] == ["/bin/a", "/bin/b"]


def test_two_exec_start_for_simple_is_unusable() -> None:
    assert not result("ExecStart=/bin/a\nExecStart=/bin/b").ok


def test_oneshot_with_restart_always_is_unusable() -> None:
    assert not result("Type=oneshot\nExecStart=/bin/a\nRestart=always").ok
    assert result("Type=oneshot\nExecStart=/bin/a\nRestart=on-failure").ok


def test_bad_exec_line_is_an_error_and_ignored() -> None:
    parsed = result("ExecStart=/bin/a 'unterminated\nExecStart=/bin/b")
    assert parsed.spec is not None and parsed.spec.service is not None
    assert [c.path for c in parsed.spec.service.exec_start] == ["/bin/b"]
    assert [d.line for d in parsed.diagnostics if d.severity is Severity.ERROR] == [4]


def test_all_exec_keys() -> None:
    keys = {
        "ExecCondition": "exec_condition",
        "ExecStartPre": "exec_start_pre",
        "ExecStartPost": "exec_start_post",
        "ExecReload": "exec_reload",
        "ExecStop": "exec_stop",
        "ExecStopPost": "exec_stop_post",
    }
    body = "\n".join(f"{key}=-/bin/{field}" for key, field in keys.items())
    svc = service(body + "\nExecStart=/bin/main")
    for field in keys.values():
        (cmd,) = getattr(svc, field)
        assert cmd.path == f"/bin/{field}" and cmd.ignore_failure


def test_notify_implies_notify_access_main() -> None:
    assert service("Type=notify\nExecStart=/bin/x").notify_access is NotifyAccess.MAIN
    assert service("WatchdogSec=5\nExecStart=/bin/x").notify_access is NotifyAccess.MAIN
    svc = service("Type=notify\nNotifyAccess=all\nExecStart=/bin/x")
    assert svc.notify_access is NotifyAccess.ALL


def test_exit_statuses_accumulate_with_names_and_signals() -> None:
    svc = service(
        "ExecStart=/bin/x\nSuccessExitStatus=TEMPFAIL 250 SIGKILL\nSuccessExitStatus=HUP 3\n"
        "RestartPreventExitStatus=1\nRestartPreventExitStatus=\n"
        "RestartPreventExitStatus=6 SIGABRT\nRestartForceExitStatus=255"
    )
    assert svc.success_exit_status.codes == {75, 250, 3}
    assert svc.success_exit_status.signals == {signal.SIGKILL, signal.SIGHUP}
    assert svc.restart_prevent_exit_status.codes == {6}
    assert svc.restart_prevent_exit_status.signals == {signal.SIGABRT}
    assert svc.restart_force_exit_status.codes == {255}


def test_bad_exit_status_is_ignored() -> None:
    parsed = result("ExecStart=/bin/x\nSuccessExitStatus=256\nSuccessExitStatus=BOGUS")
    assert parsed.spec is not None and parsed.spec.service is not None
    assert not parsed.spec.service.success_exit_status
    assert len(messages(parsed)) == 2


def test_timeouts() -> None:
    svc = service("ExecStart=/bin/x\nTimeoutSec=20\nTimeoutStopSec=3s")
    assert (svc.timeout_start_sec, svc.timeout_stop_sec) == (20.0, 3.0)
    svc = service("ExecStart=/bin/x\nTimeoutStartSec=0\nTimeoutStopSec=infinity\nTimeoutAbortSec=2")
    assert svc.timeout_start_sec == math.inf  # 0 disables, as in systemd
    assert svc.timeout_stop_sec == math.inf
    assert svc.timeout_abort_sec == 2.0


def test_restart_timing() -> None:
    svc = service("ExecStart=/bin/x\nRestartSec=2\nRestartSteps=3\nRestartMaxDelaySec=1min")
    assert (svc.restart_sec, svc.restart_steps, svc.restart_max_delay_sec) == (2.0, 3, 60.0)


def test_unparsable_time_warns_and_keeps_default() -> None:
    parsed = result("ExecStart=/bin/x\nRestartSec=soon")
    assert parsed.spec is not None and parsed.spec.service is not None
    assert parsed.spec.service.restart_sec == 0.1
    assert messages(parsed)


def test_signals() -> None:
    svc = service(
        "ExecStart=/bin/x\nKillSignal=SIGINT\nFinalKillSignal=9\nWatchdogSignal=QUIT\n"
        "SendSIGHUP=yes\nSendSIGKILL=off"
    )
    assert svc.kill_signal == signal.SIGINT
    assert svc.restart_kill_signal == signal.SIGINT  # follows KillSignal= unless set
    assert svc.final_kill_signal == 9
    assert svc.watchdog_signal == signal.SIGQUIT
    assert svc.send_sighup and not svc.send_sigkill
    svc = service("ExecStart=/bin/x\nKillSignal=INT\nRestartKillSignal=SIGHUP")
    assert svc.restart_kill_signal == signal.SIGHUP


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("on", True),
        ("0", False),
        ("no", False),
        ("false", False),
        ("off", False),
    ],
)
def test_booleans(word: str, value: bool) -> None:
    assert service(f"ExecStart=/bin/x\nRemainAfterExit={word}").remain_after_exit is value


def test_credentials_and_directories() -> None:
    svc = service(
        "ExecStart=/bin/x\nUser=www\nGroup=www\nSupplementaryGroups=a b\nSupplementaryGroups=c\n"
        "DynamicUser=yes\nUMask=0077\nWorkingDirectory=-~\nPIDFile=foo.pid\n"
        "RuntimeDirectory=a b/c\nRuntimeDirectoryMode=0700\nRuntimeDirectoryPreserve=restart\n"
        "StateDirectory=s\nCacheDirectory=c\nLogsDirectory=l\nConfigurationDirectory=e\n"
        "LogsDirectoryMode=0750\nSyslogIdentifier=web\nIgnoreSIGPIPE=no\nNice=-5\nOOMScoreAdjust=100"
    )
    assert (svc.user, svc.group, svc.supplementary_groups) == ("www", "www", ("a", "b", "c"))
    assert svc.dynamic_user
    assert svc.umask == 0o077
    assert svc.working_directory == WorkingDirectory("~", optional=True)
    assert svc.working_directory.is_home
    assert svc.pid_file == "/run/foo.pid"
    assert svc.runtime_directory == ("a", "b/c")
    assert svc.runtime_directory_mode == 0o700
    assert svc.runtime_directory_preserve is RuntimeDirectoryPreserve.RESTART
    assert (svc.state_directory, svc.cache_directory) == (("s",), ("c",))
    assert (svc.logs_directory, svc.configuration_directory) == (("l",), ("e",))
    assert svc.logs_directory_mode == 0o750
    assert svc.syslog_identifier == "web"
    assert not svc.ignore_sigpipe
    assert (svc.nice, svc.oom_score_adjust) == (-5, 100)


def test_bad_directory_and_working_directory_values() -> None:
    parsed = result(
        "ExecStart=/bin/x\nRuntimeDirectory=/abs ok ../up\nWorkingDirectory=rel\nUMask=999\nNice=40"
    )
    assert parsed.spec is not None and parsed.spec.service is not None
    svc = parsed.spec.service
    assert svc.runtime_directory == ("ok",)
    assert svc.working_directory is None
    assert svc.umask == 0o022 and svc.nice is None
    assert len(messages(parsed)) == 5


def test_environment() -> None:
    svc = service(
        "ExecStart=/bin/x\n"
        "Environment=\"ONE=one\" 'TWO=two two' THREE=\n"
        "Environment=ONE='one' \"TWO='two two' too\" ESC=a\\tb\n"
        "Environment=bad-name=1 =x noequals"
    )
    assert dict(svc.environment) == {
        "THREE": "",
        "ONE": "one",
        "TWO": "'two two' too",
        "ESC": "a\tb",
    }
    parsed = result("ExecStart=/bin/x\nEnvironment=A=1\nEnvironment=\nEnvironment=B=2")
    assert parsed.spec is not None and parsed.spec.service is not None
    assert dict(parsed.spec.service.environment) == {"B": "2"}


def test_environment_file_pass_and_unset() -> None:
    svc = service(
        "ExecStart=/bin/x\nEnvironmentFile=-/etc/default/x\nEnvironmentFile=/etc/x.env\n"
        "PassEnvironment=TERM LANG\nUnsetEnvironment=FOO BAR=1"
    )
    assert svc.environment_files == (
        EnvironmentFile("/etc/default/x", optional=True),
        EnvironmentFile("/etc/x.env"),
    )
    assert svc.pass_environment == ("TERM", "LANG")
    assert svc.unset_environment == ("FOO", "BAR=1")


def test_limits() -> None:
    svc = service(
        "ExecStart=/bin/x\nLimitNOFILE=1024:4096\nLimitCORE=infinity\nLimitAS=4G:16G\n"
        "LimitCPU=1min\nLimitRTTIME=500\nLimitNICE=-5\nLimitNPROC=100\nLimitMEMLOCK=64K\n"
        "LimitSTACK=8M:infinity"
    )
    assert svc.limits == {
        "RLIMIT_NOFILE": RLimit(1024, 4096),
        "RLIMIT_CORE": RLimit(RLIM_INFINITY, RLIM_INFINITY),
        "RLIMIT_AS": RLimit(4 << 30, 16 << 30),
        "RLIMIT_CPU": RLimit(60, 60),
        "RLIMIT_RTTIME": RLimit(500, 500),
        "RLIMIT_NICE": RLimit(25, 25),
        "RLIMIT_NPROC": RLimit(100, 100),
        "RLIMIT_MEMLOCK": RLimit(64 << 10, 64 << 10),
        "RLIMIT_STACK": RLimit(8 << 20, RLIM_INFINITY),
    }


def test_bad_limits_are_ignored_and_empty_resets() -> None:
    parsed = result(
        "ExecStart=/bin/x\nLimitNOFILE=4096:1024\nLimitNOFILE=lots\nLimitCORE=0\nLimitCORE="
    )
    assert parsed.spec is not None and parsed.spec.service is not None
    assert dict(parsed.spec.service.limits) == {}
    assert len(messages(parsed)) == 2


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("StandardInput", "socket", StdStream(StdKind.SOCKET)),
        ("StandardInput", "file:/dev/zero", StdStream(StdKind.FILE, "/dev/zero")),
        ("StandardInput", "tty-force", StdStream(StdKind.TTY_FORCE)),
        ("StandardOutput", "null", StdStream(StdKind.NULL)),
        ("StandardOutput", "kmsg+console", StdStream(StdKind.KMSG_CONSOLE)),
        ("StandardOutput", "syslog", StdStream(StdKind.JOURNAL)),
        ("StandardOutput", "append:/var/log/x.log", StdStream(StdKind.APPEND, "/var/log/x.log")),
        ("StandardOutput", "truncate:%t/x", StdStream(StdKind.TRUNCATE, "/run/x")),
        ("StandardError", "fd:log", StdStream(StdKind.FD, "log")),
        ("StandardError", "inherit", StdStream(StdKind.INHERIT)),
    ],
)
def test_std_streams(key: str, value: str, expected: StdStream) -> None:
    svc = service(f"ExecStart=/bin/x\n{key}={value}")
    assert getattr(svc, key.replace("Standard", "standard_").lower()) == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [("StandardInput", "inherit"), ("StandardOutput", "file:rel"), ("StandardError", "bogus")],
)
def test_bad_std_streams(key: str, value: str) -> None:
    parsed = result(f"ExecStart=/bin/x\n{key}={value}")
    assert parsed.ok and messages(parsed)


def test_specifiers_in_service_values() -> None:
    svc = service("ExecStart=/bin/x %i\nRuntimeDirectory=app-%i\nUser=u-%i", "app@blue.service")
    assert svc.exec_start[0].argv == ("/bin/x", "blue")
    assert svc.runtime_directory == ("app-blue",)
    assert svc.user == "u-blue"


def test_unknown_specifier_is_an_error_with_line_and_ignores_assignment() -> None:
    parsed = result("ExecStart=/bin/x\nUser=%Z")
    assert parsed.spec is not None and parsed.spec.service is not None
    assert parsed.spec.service.user is None
    (error,) = [d for d in parsed.diagnostics if d.severity is Severity.ERROR]
    assert (error.file, error.line) == ("/x/t.service", 5)
    assert "%Z" in error.message


def test_not_implemented_directives_make_one_warning() -> None:
    parsed = result("ExecStart=/bin/x\nProtectSystem=full\nPrivateTmp=yes\nMemoryMax=1G")
    (warning,) = messages(parsed)
    assert "ProtectSystem= (line 5)" in warning
    assert "PrivateTmp= (line 6)" in warning
    assert "MemoryMax= (line 7)" in warning
    assert parsed.diagnostics[0].line == 5


def test_unknown_and_misplaced_keys_warn_each() -> None:
    parsed = result("ExecStart=/bin/x\nExecStrat=/bin/y\nAfter=a.service\nX-HealthCheck=/bin/hc")
    warnings = messages(parsed)
    assert len(warnings) == 2
    assert "ExecStrat=" in warnings[0] and "After= belongs in [Unit]" in warnings[1]
    assert parsed.spec is not None
    assert [v.value for v in parsed.spec.raw["Service"]["X-HealthCheck"]] == ["/bin/hc"]


def test_legacy_start_limit_keys_in_service() -> None:
    parsed = result("ExecStart=/bin/x\nStartLimitInterval=30\nStartLimitBurst=2")
    assert parsed.spec is not None
    assert (parsed.spec.start_limit_interval, parsed.spec.start_limit_burst) == (30.0, 2)
    assert not parsed.diagnostics


def test_explicit_keys_are_recorded() -> None:
    parsed = result("ExecStart=/bin/x\nRestart=always")
    assert parsed.spec is not None
    assert {"Service.ExecStart", "Service.Restart"} <= parsed.spec.explicit
    assert "Service.RestartSec" not in parsed.spec.explicit
