"""ExecContext decisions that need no system: environment, working directory,
limits, exec candidates, exit codes."""

import pytest

from guestinit.service.exec_env import (
    DEFAULT_PATH,
    ExecContext,
    ExitCode,
    UserInfo,
    add_pid_variables,
    build_environment,
    check_context,
    check_rlimits,
    describe_exit_code,
    exec_candidates,
    listen_fdnames,
    resolve_working_directory,
)

NOBODY = UserInfo(
    name="nobody",
    uid=65534,
    gid=65534,
    home="/nonexistent",
    shell="/usr/sbin/nologin",
    groups=(65534,),
)
ROOTLESS = UserInfo(name=None, uid=None, gid=None, home="/root", shell=None, groups=None)


def ctx(**fields: object) -> ExecContext:
    return ExecContext(("/bin/true",), **fields)  # type: ignore[arg-type]


# ---- environment ----------------------------------------------------------------
def test_base_passes_through_with_a_default_path() -> None:
    env = build_environment({"TERM": "xterm", "LANG": "C.UTF-8"}, ctx(), ROOTLESS)
    assert env == {"TERM": "xterm", "LANG": "C.UTF-8", "PATH": DEFAULT_PATH}


def test_existing_path_is_kept() -> None:
    assert build_environment({"PATH": "/opt/bin"}, ctx(), ROOTLESS)["PATH"] == "/opt/bin"


def test_manager_private_variables_never_reach_a_service() -> None:
    base = {
        "NOTIFY_SOCKET": "/run/parent.sock",
        "LISTEN_FDS": "2",
        "LISTEN_PID": "1",
        "LISTEN_FDNAMES": "a:b",
        "WATCHDOG_USEC": "1",
        "WATCHDOG_PID": "1",
        "INVOCATION_ID": "parent",
        "MAINPID": "1",
        "KEEP": "yes",
    }
    assert build_environment(base, ctx(), ROOTLESS) == {"KEEP": "yes", "PATH": DEFAULT_PATH}


def test_user_variables_only_with_user() -> None:
    env = build_environment({}, ctx(user="nobody"), NOBODY)
    assert env["HOME"] == "/nonexistent"
    assert env["USER"] == env["LOGNAME"] == "nobody"
    assert env["SHELL"] == "/usr/sbin/nologin"
    plain = build_environment({"HOME": "/root"}, ctx(), ROOTLESS)
    assert plain == {"HOME": "/root", "PATH": DEFAULT_PATH}


def test_user_variables_override_the_base() -> None:
    env = build_environment({"HOME": "/root", "USER": "root"}, ctx(user="nobody"), NOBODY)
    assert (env["HOME"], env["USER"]) == ("/nonexistent", "nobody")


def test_notify_invocation_and_listen_variables() -> None:
    context = ctx(
        notify_socket="/run/guestinit/notify.sock",
        invocation_id="0123abcd",
        listen_fds=(7, 9),
        listen_fdnames=("http",),
    )
    env = build_environment({}, context, ROOTLESS)
    assert env["NOTIFY_SOCKET"] == "/run/guestinit/notify.sock"
    assert env["INVOCATION_ID"] == "0123abcd"
    assert env["LISTEN_FDS"] == "2"
    assert env["LISTEN_FDNAMES"] == "http:unknown"
    assert "LISTEN_PID" not in env  # only the child knows its pid


def test_no_listen_variables_without_fds() -> None:
    env = build_environment({}, ctx(), ROOTLESS)
    assert not any(key.startswith("LISTEN_") for key in env)


def test_unit_environment_wins() -> None:
    context = ctx(
        user="nobody",
        notify_socket="/n",
        environment={"PATH": "/only", "HOME": "/srv", "NOTIFY_SOCKET": "/mine"},
    )
    env = build_environment({"PATH": "/base"}, context, NOBODY)
    assert (env["PATH"], env["HOME"], env["NOTIFY_SOCKET"]) == ("/only", "/srv", "/mine")


def test_pid_variables() -> None:
    assert add_pid_variables({}, 42, listen=True) == {"SYSTEMD_EXEC_PID": "42", "LISTEN_PID": "42"}
    assert add_pid_variables({"A": "1"}, 42, listen=False) == {"A": "1", "SYSTEMD_EXEC_PID": "42"}


def test_fdnames_extra_names_are_cut() -> None:
    assert listen_fdnames(ctx(listen_fds=(5,), listen_fdnames=("a", "b"))) == ["a"]
    assert listen_fdnames(ctx(listen_fds=(5, 6))) == ["unknown", "unknown"]


# ---- working directory ------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ("/", False)),
        ("", ("/", False)),
        ("/srv/app", ("/srv/app", False)),
        ("-/srv/app", ("/srv/app", True)),
        ("~", ("/home/u", False)),
        ("-~", ("/home/u", True)),
    ],
)
def test_working_directory(raw: str | None, expected: tuple[str, bool]) -> None:
    assert resolve_working_directory(raw, "/home/u") == expected


@pytest.mark.parametrize("raw", ["srv", "-srv", "~/x", "-"])
def test_relative_working_directory_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        resolve_working_directory(raw, "/home/u")


# ---- limits and other checks ------------------------------------------------------------
def test_rlimits_checks() -> None:
    assert check_rlimits({"NOFILE": (1024, 4096), "CORE": (None, None), "AS": (5, None)}) == []
    assert check_rlimits({"FILES": (1, 1)}) == ["unknown resource limit FILES"]
    assert check_rlimits({"NOFILE": (10, 5)}) == ["LimitNOFILE= soft limit above hard limit"]
    assert check_rlimits({"NOFILE": (None, 5)}) == ["LimitNOFILE= soft limit above hard limit"]
    assert check_rlimits({"CPU": (-1, 5)}) == ["LimitCPU= must not be negative"]


def test_context_checks() -> None:
    assert check_context(ctx()) == []
    assert check_context(ExecContext(())) == [(ExitCode.EXEC, "empty command line")]
    assert check_context(ExecContext(("x",), path="")) == [(ExitCode.EXEC, "empty command line")]
    assert check_context(ctx(nice=20)) == [(ExitCode.NICE, "Nice= out of range -20..19: 20")]
    assert check_context(ctx(umask=0o10000))[0][0] is ExitCode.FAILURE
    assert check_context(ctx(rlimits={"X": (1, 1)})) == [
        (ExitCode.LIMITS, "unknown resource limit X")
    ]
    assert check_context(ctx(listen_fds=(-1,)))[0][0] is ExitCode.FDS


def test_executable_defaults_to_argv0() -> None:
    assert ExecContext(("/bin/sh", "-c", "x")).executable == "/bin/sh"
    assert ExecContext(("sh-name", "-c", "x"), path="/bin/sh").executable == "/bin/sh"


def test_exec_candidates() -> None:
    assert exec_candidates("/usr/bin/env", "/a:/b") == ["/usr/bin/env"]
    assert exec_candidates("./run", "/a") == ["./run"]
    assert exec_candidates("env", "/a::/b") == ["/a/env", "./env", "/b/env"]
    assert exec_candidates("env", None) == [f"{d}/env" for d in DEFAULT_PATH.split(":")]


def test_exit_codes_match_systemd_exec_5() -> None:
    expected = {
        "CHDIR": 200,
        "NICE": 201,
        "FDS": 202,
        "EXEC": 203,
        "MEMORY": 204,
        "LIMITS": 205,
        "SIGNAL_MASK": 207,
        "STDIN": 208,
        "STDOUT": 209,
        "GROUP": 216,
        "USER": 217,
        "CGROUP": 219,
        "SETSID": 220,
        "STDERR": 222,
    }
    assert {code.name: int(code) for code in ExitCode if code is not ExitCode.FAILURE} == expected
    assert describe_exit_code(203) == "203/EXEC"
    assert describe_exit_code(3) == "3"


def test_context_defaults_follow_systemd() -> None:
    context = ctx()
    assert context.umask == 0o022
    assert context.ignore_sigpipe
    assert context.setsid
