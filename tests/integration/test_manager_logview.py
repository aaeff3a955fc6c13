"""The per-unit log view for real: guestinit as PID 1, a unit that talks,
`journalctl -u` (our shim first on PATH: this machine has a real journalctl)
and `guestinit ctl logs -f` following new lines as they come."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.initrun import launcher
from tests.sandbox import REPO, Sandbox, ctl, wait_for


def talker(sandbox: Sandbox) -> Path:
    fifo = sandbox.path("say")
    os.mkfifo(fifo)
    sandbox.unit(
        "talker.service",
        "[Service]\nExecStart=/bin/sh -c 'echo hello from talker; echo to stderr >&2;"
        f' while :; do read line < {fifo} && echo "said: $line"; done\'\n',
    )
    sandbox.unit(
        "quiet.service", "[Service]\nExecStart=/bin/sh -c 'echo quiet line; exec sleep 600'\n"
    )
    return fifo


def enter(init: int) -> list[str]:
    return ["nsenter", "-t", str(init), "-m", "--"]


def journalctl(sandbox: Sandbox, init: int, *args: str) -> "subprocess.CompletedProcess[str]":
    bin_dir = sandbox.path("bin")
    shim = launcher(bin_dir, "journalctl")
    return subprocess.run(
        ["nsenter", "-t", str(init), "-m", "--", str(shim), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )


def test_journalctl_u_shows_one_units_lines(sandbox: Sandbox) -> None:
    talker(sandbox)
    run = sandbox.start("--start", "talker.service", "--start", "quiet.service")
    init = run.init_pid()
    wait_for(lambda: "to stderr" in journalctl(sandbox, init, "-u", "talker", "-o", "cat").stdout)
    cat = journalctl(sandbox, init, "-u", "talker", "-o", "cat", "--no-pager").stdout.splitlines()
    assert cat == ["hello from talker", "to stderr"]
    short = journalctl(sandbox, init, "-u", "talker.service", "-n", "1").stdout
    assert short.rstrip().endswith("to stderr") and "talker[" in short
    records = [
        json.loads(x) for x in journalctl(sandbox, init, "-b", "-o", "json").stdout.splitlines()
    ]
    units = {r["_SYSTEMD_UNIT"] for r in records if "_SYSTEMD_UNIT" in r}
    assert {"talker.service", "quiet.service"} <= units
    assert journalctl(sandbox, init, "-u", "nothing").stdout == "-- No entries --\n"
    status = ctl(run, "status", "talker").stdout
    assert status.rstrip().endswith("to stderr"), status


def test_ctl_logs_follows_new_lines(sandbox: Sandbox) -> None:
    fifo = talker(sandbox)
    run = sandbox.start("--start", "talker.service")
    init = run.init_pid()
    wait_for(lambda: "hello" in ctl(run, "logs", "talker").stdout)
    follower = subprocess.Popen(
        [
            *enter(init),
            sys.executable,
            "-m",
            "guestinit",
            "ctl",
            "logs",
            "talker",
            "-f",
            "-n1",
            "-ocat",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "to stderr\n"
        for word in ("one", "two"):
            with open(fifo, "w") as say:  # opens once the unit reads: its loop is up
                say.write(word + "\n")
            assert follower.stdout.readline() == f"said: {word}\n"
        assert follower.poll() is None  # still following
    finally:
        follower.kill()
        follower.wait()


def test_syslog_lines_belong_to_the_unit_of_their_sender(sandbox: Sandbox) -> None:
    """logger, a child of the unit's main process, through the built-in syslog.
    A sender is found by its /proc entry when its line is read: logger runs in
    the background, so that once it exits it stays a zombie of the main process
    (sleep never reaps it) instead of being reaped by sh before PID 1 reads
    the line (a race the test lost now and then on a busy machine)."""
    socket_path = sandbox.path("dev-log")
    sandbox.unit(
        "syslogger.service",
        f"[Service]\nExecStart=/bin/sh -c 'logger -u {socket_path} -t mytag via syslog &"
        " exec sleep 600'\n",
    )
    run = sandbox.start("--start", "syslogger.service")
    init = run.init_pid()
    wait_for(lambda: "via syslog" in journalctl(sandbox, init, "-u", "syslogger").stdout)
    (record,) = [
        json.loads(line)
        for line in journalctl(sandbox, init, "-u", "syslogger", "-o", "json").stdout.splitlines()
    ]
    assert (record["SYSLOG_IDENTIFIER"], record["_TRANSPORT"]) == ("mytag", "syslog")
    assert record["MESSAGE"] == "via syslog"


def test_log_dir_lines_carry_their_time(sandbox: Sandbox) -> None:
    import re

    logs = sandbox.path("logs")
    sandbox.unit("once.service", "[Service]\nType=oneshot\nExecStart=/bin/echo written down\n")
    run = sandbox.start(f"--log-dir={logs}", "--start=once.service", "--", "true")
    assert run.wait(timeout=30) == 0
    (line,) = (logs / "once.log").read_text().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
    assert re.fullmatch(stamp + r" once\[\d+\]: written down", line), line
