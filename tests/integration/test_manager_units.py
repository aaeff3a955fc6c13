"""The service manager for real, with units written here: backoff and start
limits, essential units, stop order, users, environment, notify access."""

import subprocess
import sys
import time
from pathlib import Path

from tests.sandbox import Sandbox, children_named, ctl, wait_for

PROGRAMS = Path(__file__).with_name("programs")
PY = sys.executable


def test_crash_loop_backs_off_then_hits_the_start_limit(sandbox: Sandbox) -> None:
    sandbox.unit(
        "crash.service",
        """
[Unit]
StartLimitIntervalSec=30
StartLimitBurst=4
[Service]
ExecStart=/bin/sh -c 'echo crash; exit 1'
Restart=always
""",
    )
    run = sandbox.start("-v", "--start", "crash.service", "--no-wait", "--", "sleep", "3")
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert run.stdout.decode().count("crash: crash") == 0  # prefixed with the pid
    assert len([line for line in run.stdout.decode().splitlines() if line.endswith(": crash")]) == 4
    for delay in ("0.1s", "0.2s", "0.4s"):
        assert f"scheduling restart in {delay}" in err
    assert "start request repeated too quickly" in err
    assert "crash.service: failed (start-limit-hit)" in err


def test_failure_action_exit_propagates_the_units_exit_code(sandbox: Sandbox) -> None:
    sandbox.unit(
        "essential.service",
        """
[Unit]
FailureAction=exit
[Service]
ExecStart=/bin/sh -c 'sleep 0.3; exit 7'
""",
    )
    started = time.monotonic()
    run = sandbox.start("--start", "essential.service", "--no-wait", "--", "sleep", "30")
    assert run.wait(timeout=30) == 7
    assert time.monotonic() - started < 10


def test_exit_on_and_success_action(sandbox: Sandbox) -> None:
    sandbox.unit("job.service", "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 0'\n")
    sandbox.unit("worker.service", "[Service]\nExecStart=/bin/sh -c 'sleep 0.2; exit 5'\n")
    assert sandbox.start("--exit-on", "worker.service").wait(timeout=30) == 5
    sandbox.unit(
        "done.service", "[Unit]\nSuccessAction=exit\n[Service]\nType=oneshot\nExecStart=/bin/true\n"
    )
    assert sandbox.start("--start", "done.service").wait(timeout=30) == 0


def test_units_stop_in_reverse_start_order(sandbox: Sandbox) -> None:
    journal = sandbox.path("journal")
    for name, extra in (("a", "Before=b.service"), ("b", "After=a.service")):
        sandbox.unit(
            f"{name}.service",
            f"""
[Unit]
{extra}
[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'trap "sleep 0.2; echo stop {name} >> {journal}; exit 0" TERM; \\
    echo start {name} >> {journal}; {PY} {PROGRAMS}/notify_send.py 0 READY=1; \\
    while :; do sleep 0.05; done'
""",
        )
    run = sandbox.start("--start", "b.service", "--start", "a.service", "--", "true")
    assert run.wait(timeout=30) == 0
    assert journal.read_text().split("\n")[:4] == ["start a", "start b", "stop b", "stop a"]


def test_user_and_group_are_switched(sandbox: Sandbox) -> None:
    sandbox.unit(
        "nobody.service", "[Service]\nUser=nobody\nGroup=nogroup\nExecStart=/bin/sleep 30\n"
    )
    run = sandbox.start("--start", "nobody.service")
    init = run.init_pid()
    wait_for(lambda: bool(children_named(init, "sleep")))
    sleeper = children_named(init, "sleep")[0]
    status = Path(f"/proc/{sleeper.pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    gid_line = next(line for line in status.splitlines() if line.startswith("Gid:"))
    assert uid_line.split()[1:] == ["65534"] * 4
    assert gid_line.split()[1:] == ["65534"] * 4
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_environment_files_and_specifiers(sandbox: Sandbox) -> None:
    env_file = sandbox.path("env")
    env_file.write_text('# comment\nFOO="from file"\nexport BAR=2\n')
    out = sandbox.path("out")
    sandbox.unit(
        "echo@.service",
        f"""
[Service]
Type=oneshot
EnvironmentFile={env_file}
EnvironmentFile=-/nonexistent/env
Environment="NAME=%n" INST=%i
ExecStart=/bin/sh -c 'echo "$FOO|$BAR|$NAME|$INST|%p" > {out}'
""",
    )
    started = time.monotonic()
    run = sandbox.start("--start", "echo@world.service", "--", "true")
    assert run.wait(timeout=30) == 0
    assert out.read_text() == "from file|2|echo@world.service|world|echo\n"
    # Nothing was left to stop or drain: no waiting for the grace period (5 s).
    assert time.monotonic() - started < 4


def test_notify_access_main_refuses_another_sender(sandbox: Sandbox) -> None:
    sender = f"{PY} {PROGRAMS}/notify_send.py"
    sandbox.unit(
        "strict.service",
        f"""
[Service]
Type=notify
NotifyAccess=main
TimeoutStartSec=2
ExecStart=/bin/sh -c '{sender} 30 READY=1 & wait'
""",
    )
    sandbox.unit(
        "fine.service",
        f"""
[Service]
Type=notify
NotifyAccess=main
ExecStart={sender} 30 READY=1 STATUS=serving
""",
    )
    run = sandbox.start("-v", "--start", "strict.service", "--start", "fine.service", "--", "true")
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert "strict.service: notification from" in err and "refused (NotifyAccess=main)" in err
    assert "strict.service: failed (timeout)" in err
    assert "fine.service: started" in err


def test_bad_units_are_reported_and_the_rest_boots(sandbox: Sandbox) -> None:
    sandbox.unit("broken.service", "[Service]\nType=sideways\nExecStart=\n[Oops\n")
    sandbox.unit("nostart.service", "[Unit]\nDescription=no command\n[Service]\nType=simple\n")
    good = "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/echo good ran\n"
    sandbox.unit("good.service", good + "ProtectSystem=strict\nPrivateTmp=yes\n")
    sandbox.unit("a.service", "[Unit]\nAfter=b.service\n[Service]\nExecStart=/bin/sleep 5\n")
    sandbox.unit("b.service", "[Unit]\nAfter=a.service\n[Service]\nExecStart=/bin/sleep 5\n")
    run = sandbox.start(
        *(f"--start={n}.service" for n in ("broken", "nostart", "good", "a", "b")), "--", "true"
    )
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    units = sandbox.units
    assert f"{units}/broken.service:" in err
    assert f"{units}/nostart.service:" in err
    assert "good ran" in run.stdout.decode()
    assert f"{units}/good.service:" in err and "ProtectSystem" in err, "one warning, with file:line"
    assert "ordering cycle" in err and "a.service" in err and "b.service" in err


def test_a_runtime_directory_stays_while_another_running_unit_names_it(sandbox: Sandbox) -> None:
    # Debian's per-connection ssh@.service instances all say RuntimeDirectory=sshd:
    # one ending must not take /run/sshd from the next.
    for name in ("first", "second"):
        sandbox.unit(
            f"{name}.service",
            "[Service]\nRuntimeDirectory=shared\nExecStart=/bin/sleep 60\n",
        )
    run = sandbox.start("--start=first.service", "--start=second.service")
    wait_for(lambda: ctl(run, "is-active", "first", "second").returncode == 0)

    def exists() -> bool:
        probe = ["nsenter", "-t", str(run.init_pid()), "-m", "--", "test", "-d", "/run/shared"]
        return subprocess.run(probe, check=False).returncode == 0

    assert exists()
    assert ctl(run, "stop", "first").returncode == 0
    assert exists(), "second.service still runs with it"
    assert ctl(run, "stop", "second").returncode == 0
    assert not exists(), "the last unit naming it took it along"
    run.signal(15)
    assert run.wait(timeout=30) == 0
