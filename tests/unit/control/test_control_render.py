"""What ``guestinit ctl`` prints for fixed answers of the manager."""

import os
import time
from collections.abc import Iterator

import pytest

from guestinit.control.protocol import Response, Verb
from guestinit.control.render import Style, ago, cpu_time, render, size, table
from guestinit.control.results import ExitInfo, UnitStatus

SINCE = 1700000000.0  # Tue 2023-11-14 22:13:20 UTC
NOW = SINCE + 5


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def sshd(**changes: object) -> UnitStatus:
    unit: UnitStatus = {
        "name": "sshd.service",
        "description": "OpenBSD Secure Shell server",
        "load_state": "loaded",
        "active_state": "active",
        "sub_state": "running",
        "result": "success",
        "main_pid": 123,
        "main_name": "sshd",
        "since": SINCE,
        "last_exit": None,
        "restarts": 0,
        "tasks": 3,
        "memory_bytes": 1572864,
        "cpu_seconds": 0.012,
        "status_text": "Ready",
        "path": "/lib/systemd/system/ssh.service",
        "enabled": "enabled",
    }
    unit.update(changes)  # type: ignore[typeddict-item]
    return unit


def shown(verb: Verb, result: object, exit: int = 0, **style: bool) -> tuple[str, str]:
    return render(verb, Response.success(1, result, exit), Style(NOW, **style))


def test_status_of_a_running_service() -> None:
    out, err = shown(Verb.STATUS, {"units": [sshd()], "missing": []})
    assert out == (
        "\u25cf sshd.service - OpenBSD Secure Shell server\n"
        "     Loaded: loaded (/lib/systemd/system/ssh.service; enabled)\n"
        "     Active: active (running) since Tue 2023-11-14 22:13:20 UTC; 5s ago\n"
        "   Main PID: 123 (sshd)\n"
        '     Status: "Ready"\n'
        "      Tasks: 3\n"
        "     Memory: 1.5M\n"
        "        CPU: 12ms\n"
    )
    assert err == ""


def test_status_of_a_failed_service_with_its_log() -> None:
    last: ExitInfo = {"pid": 99, "code": "exited", "status": 1, "status_name": None}
    unit = sshd(
        active_state="failed",
        sub_state="failed",
        result="exit-code",
        main_pid=None,
        last_exit=last,
        restarts=5,
        tasks=None,
        memory_bytes=None,
        cpu_seconds=None,
        status_text=None,
        log=["sshd[99]: fatal: no hostkeys"],
    )
    out, _ = shown(Verb.STATUS, {"units": [unit], "missing": []}, exit=3)
    assert out.splitlines() == [
        "\u00d7 sshd.service - OpenBSD Secure Shell server",
        "     Loaded: loaded (/lib/systemd/system/ssh.service; enabled)",
        "     Active: failed (Result: exit-code) since Tue 2023-11-14 22:13:20 UTC; 5s ago",
        "   Main PID: 99 (code=exited, status=1/FAILURE)",
        "   Restarts: 5",
        "",
        "sshd[99]: fatal: no hostkeys",
    ]


def test_status_of_a_service_waiting_to_restart_shows_when() -> None:
    last: ExitInfo = {"pid": 99, "code": "exited", "status": 1, "status_name": None}
    unit = sshd(
        active_state="activating",
        sub_state="auto-restart",
        result="exit-code",
        main_pid=None,
        last_exit=last,
        restarts=3,
        restart_at=NOW + 0.75,
    )
    lines, _ = shown(Verb.STATUS, {"units": [unit], "missing": []})
    assert (
        "     Active: activating (auto-restart) (Result: exit-code) since "
        "Tue 2023-11-14 22:13:20 UTC; 5s ago"
    ) in lines.splitlines()
    assert "    Restart: #3 at Tue 2023-11-14 22:13:25 UTC; in 750ms" in lines.splitlines()


@pytest.mark.parametrize(
    ("last", "text"),
    [
        ({"pid": 5, "code": "killed", "status": 15, "status_name": None}, "status=15/TERM"),
        ({"pid": 5, "code": "dumped", "status": 11, "status_name": None}, "status=11/SEGV"),
        ({"pid": 5, "code": "exited", "status": 203, "status_name": "EXEC"}, "status=203/EXEC"),
        ({"pid": 5, "code": "exited", "status": 42, "status_name": None}, "status=42)"),
    ],
)
def test_how_the_main_process_ended(last: ExitInfo, text: str) -> None:
    unit = sshd(active_state="inactive", sub_state="dead", main_pid=None, last_exit=last)
    out, _ = shown(Verb.STATUS, {"units": [unit], "missing": []})
    assert out.startswith("\u25cb sshd.service")
    assert f"Main PID: 5 (code={last['code']}, {text}" in out


def test_status_of_several_units_and_a_missing_one() -> None:
    minimal = sshd(name="a.service", description="", path=None, enabled="", since=None)
    out, err = shown(Verb.STATUS, {"units": [sshd(), minimal], "missing": ["nope.service"]})
    blocks = out.split("\n\n")
    assert len(blocks) == 2
    assert blocks[1].splitlines()[:3] == [
        "\u25cf a.service - a.service",
        "     Loaded: loaded",
        "     Active: active (running)",
    ]
    assert err == "Unit nope.service could not be found.\n"


def test_is_active_prints_one_state_per_unit_unless_quiet() -> None:
    result = {"units": [{"name": "a", "state": "active"}, {"name": "b", "state": "inactive"}]}
    assert shown(Verb.IS_ACTIVE, result) == ("active\ninactive\n", "")
    assert shown(Verb.IS_ACTIVE, result, quiet=True) == ("", "")


def test_is_enabled_of_a_missing_unit_goes_to_stderr() -> None:
    result = {"units": [{"name": "x.service", "state": "not-found"}]}
    out, err = shown(Verb.IS_ENABLED, result, exit=1)
    assert out == ""
    assert "x.service" in err


def test_job_failures() -> None:
    result = {
        "jobs": [
            {"unit": "a.service", "result": "done", "message": None},
            {"unit": "b.service", "result": "failed", "message": "exit code 1"},
            {"unit": "c.service", "result": "not-found", "message": None},
        ]
    }
    out, err = shown(Verb.START, result, exit=5)
    assert out == ""
    assert err == (
        "Job for b.service failed: exit code 1.\n"
        'See "guestinit ctl status b.service" for details.\n'
        "Failed to start c.service: Unit c.service not found.\n"
    )
    kill = {"jobs": [{"unit": "b.service", "result": "failed", "message": "not running"}]}
    assert shown(Verb.KILL, kill)[1] == "Failed to kill unit b.service: not running\n"


def test_list_units_table() -> None:
    rows = [
        {
            "name": "cron.service",
            "load_state": "loaded",
            "active_state": "active",
            "sub_state": "running",
            "description": "Regular background program processing daemon",
        },
        {
            "name": "foo.service",
            "load_state": "loaded",
            "active_state": "failed",
            "sub_state": "failed",
            "description": "Foo",
        },
    ]
    out, _ = shown(Verb.LIST_UNITS, {"units": rows})
    assert out == (
        "  UNIT         LOAD   ACTIVE SUB     DESCRIPTION\n"
        "  cron.service loaded active running Regular background program processing daemon\n"
        "\u25cf foo.service  loaded failed failed  Foo\n"
        "\n"
        "2 loaded units listed.\n"
    )
    bare, _ = shown(Verb.LIST_UNITS, {"units": rows}, legend=False)
    assert bare.splitlines()[0].startswith("  cron.service")
    assert len(bare.splitlines()) == 2


def test_list_timers_table() -> None:
    timer = {
        "name": "logrotate.timer",
        "activates": "logrotate.service",
        "next": NOW + 3600,
        "last": NOW - 7260,
    }
    idle = {"name": "x.timer", "activates": "x.service", "next": None, "last": None}
    out, _ = shown(Verb.LIST_TIMERS, {"timers": [timer, idle]})
    lines = out.splitlines()
    assert lines[0].split() == ["NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"]
    assert lines[1] == (
        "Tue 2023-11-14 23:13:25 UTC 1h left Tue 2023-11-14 20:12:25 UTC 2h 1min ago"
        " logrotate.timer logrotate.service"
    )
    assert lines[2].split() == ["-", "-", "-", "-", "x.timer", "x.service"]
    assert lines[-1] == "2 timers listed."


def test_empty_list() -> None:
    assert shown(Verb.LIST_UNITS, {"units": []})[0] == (
        "  UNIT LOAD ACTIVE SUB DESCRIPTION\n\n0 loaded units listed.\n"
    )
    assert shown(Verb.LIST_UNITS, {"units": []}, legend=False)[0] == ""


def test_cat_and_show() -> None:
    cat = {
        "units": [
            {
                "name": "a.service",
                "files": [
                    {"path": "/etc/systemd/system/a.service", "text": "[Service]\nExecStart=/a"},
                    {"path": "/etc/systemd/system/a.service.d/x.conf", "text": "[Unit]\n"},
                ],
            }
        ],
        "missing": ["b.service"],
    }
    out, err = shown(Verb.CAT, cat, exit=1)
    assert out == (
        "# /etc/systemd/system/a.service\n[Service]\nExecStart=/a\n"
        "\n# /etc/systemd/system/a.service.d/x.conf\n[Unit]\n"
    )
    assert err == "No files found for b.service.\n"
    show = {
        "units": [
            {"name": "a.service", "properties": {"MainPID": "12", "ActiveState": "active"}},
            {"name": "b.service", "properties": {"MainPID": "0"}},
        ]
    }
    assert shown(Verb.SHOW, show)[0] == "MainPID=12\nActiveState=active\n\nMainPID=0\n"


def test_enable_disable_and_daemon_reload() -> None:
    changes = {
        "changes": [
            {"type": "symlink", "path": "/etc/x/wants/a.service", "source": "/lib/a.service"},
            {"type": "unlink", "path": "/etc/x/wants/b.service", "source": None},
        ],
        "missing": ["c.service"],
    }
    out, err = shown(Verb.ENABLE, changes, exit=1)
    assert out == (
        "Created symlink /etc/x/wants/a.service \u2192 /lib/a.service.\n"
        'Removed "/etc/x/wants/b.service".\n'
    )
    assert "c.service" in err
    assert shown(Verb.ENABLE, changes, quiet=True)[0] == ""
    reload = {"units": 3, "warnings": ["x.service:3: unknown directive Foo="]}
    assert shown(Verb.DAEMON_RELOAD, reload) == (
        "",
        "guestinit: x.service:3: unknown directive Foo=\n",
    )


def test_health() -> None:
    health = {
        "state": "degraded",
        "units": 4,
        "failed": ["b.service"],
        "uptime_seconds": 7380.0,
        "version": "0.1.0",
        "pid": 1,
    }
    out, _ = shown(Verb.HEALTH, health, exit=1)
    assert out.splitlines() == [
        "degraded",
        "units: 4, failed: 1",
        "failed: b.service",
        "uptime: 2h 3min",
        "guestinit 0.1.0, pid 1",
    ]
    assert shown(Verb.HEALTH, health, quiet=True) == ("", "")


def test_verbs_without_output() -> None:
    for verb in (Verb.POWEROFF, Verb.REBOOT, Verb.HALT, Verb.EXIT):
        assert shown(verb, None) == ("", "")


def test_an_error_response_is_one_line_on_stderr() -> None:
    response = Response.failure(0, "permission denied: guestinit ctl needs root", exit=4)
    assert render(Verb.STATUS, response, Style(NOW)) == (
        "",
        "guestinit: permission denied: guestinit ctl needs root\n",
    )


def test_a_result_of_another_shape_is_shown_raw() -> None:
    out, err = shown(Verb.STATUS, {"unexpected": [1]})
    assert '"unexpected"' in out
    assert "unexpected answer" in err


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.052, "52ms ago"),
        (-3, "0ms ago"),
        (5, "5s ago"),
        (60, "1min ago"),
        (185, "3min 5s ago"),
        (7380, "2h 3min ago"),
        (86400 + 3600, "1 day 1h ago"),
        (3 * 86400, "3 days ago"),
    ],
)
def test_ago(seconds: float, text: str) -> None:
    assert ago(seconds) == text


def test_sizes_and_cpu_times() -> None:
    assert [size(n) for n in (512, 1536, 12 * 1024**2, 3 * 1024**3)] == [
        "512B",
        "1.5K",
        "12.0M",
        "3.0G",
    ]
    assert [cpu_time(s) for s in (0.85, 2.315, 64.02)] == ["850ms", "2.315s", "1min 4.020s"]


def test_table_pads_all_but_the_last_column() -> None:
    assert table(["A", "BB"], [["xxx", "y"]]) == "A   BB\nxxx y\n"
    assert table(None, []) == ""


def test_timestamps_follow_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    if time.tzname[0] == "UTC" or not os.path.exists("/usr/share/zoneinfo/Europe/Berlin"):
        pytest.skip("no time zone data")
    out, _ = shown(Verb.STATUS, {"units": [sshd()], "missing": []})
    assert "since Tue 2023-11-14 23:13:20 CET; 5s ago" in out
