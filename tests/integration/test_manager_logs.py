"""Service output and syslog on guestinit's stdout, for real: name prefixes,
JSON lines, per-unit files, the built-in syslog, and a flood that must not
delay signal forwarding."""

import fcntl
import json
import logging
import logging.handlers
import signal
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.integration.initrun import InitRun
from tests.sandbox import Sandbox, wait_for

PROGRAMS = Path(__file__).with_name("programs")


def test_service_lines_are_prefixed_with_name_and_pid(sandbox: Sandbox) -> None:
    sandbox.unit(
        "talker.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        "ExecStart=/bin/sh -c 'echo out; echo err >&2; printf partial'\n",
    )
    sandbox.unit(
        "named.service",
        "[Service]\nType=oneshot\nSyslogIdentifier=custom\nExecStart=/bin/echo hi\n",
    )
    run = sandbox.start("--start=talker.service", "--start=named.service", "--", "true")
    assert run.wait(timeout=30) == 0
    lines = run.stdout.decode().splitlines()
    pids = {line.split("[")[1].split("]")[0] for line in lines if line.startswith("talker[")}
    assert len(pids) == 1
    pid = pids.pop()
    for text in ("out", "err", "partial"):
        assert f"talker[{pid}]: {text}" in lines
    assert any(line.startswith("custom[") and line.endswith(": hi") for line in lines)


def test_json_lines_and_log_files(sandbox: Sandbox) -> None:
    logs = sandbox.path("logs")
    sandbox.unit(
        "talker.service",
        "[Service]\nType=oneshot\n"
        "ExecStart=/bin/sh -c 'for i in 1 2 3 4 5 6; do echo line-$i; done'\n",
    )
    run = sandbox.start(
        "--log-format=json",
        f"--log-dir={logs}",
        "--log-max-size=20",
        "--log-files=2",
        "--start=talker.service",
        "--",
        "true",
    )
    assert run.wait(timeout=30) == 0
    records = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert [r["message"] for r in records] == [f"line-{i}" for i in range(1, 7)]
    assert {r["unit"] for r in records} == {"talker"}
    files = sorted(p.name for p in logs.iterdir())
    assert files == ["talker.log", "talker.log.1", "talker.log.2"], "rotated past 20 bytes"


def test_builtin_syslog_takes_logger_and_python_logging(sandbox: Sandbox) -> None:
    socket_path = sandbox.path("log.sock")
    run = sandbox.start(
        "--syslog-min-severity=info",
        "--start=none.target",
        "--",
        "sleep",
        "30",
        syslog=str(socket_path),
    )
    wait_for(socket_path.exists)
    subprocess.run(
        ["logger", "-u", str(socket_path), "-t", "app", "-i", "hello from logger"], check=True
    )
    subprocess.run(
        ["logger", "-u", str(socket_path), "-t", "app", "-p", "user.debug", "too verbose"],
        check=True,
    )
    handler = logging.handlers.SysLogHandler(address=str(socket_path))
    handler.ident = "pyapp: "
    logger = logging.getLogger("guestinit-test")
    logger.addHandler(handler)
    logger.warning("hello from python")
    handler.close()
    # Every message was sent before the last one: once that is out, all are.
    seen: list[str] = []
    while "pyapp: hello from python" not in (seen or [""])[-1]:
        seen.append(run.read_line())
    run.signal(signal.SIGTERM)
    run.wait(timeout=30)
    out = "\n".join(seen) + run.stdout.decode()
    assert "]: hello from logger" in out and "app[" in out
    assert "pyapp: hello from python" in out
    assert "too verbose" not in out, "below --syslog-min-severity"


def test_a_flood_of_output_does_not_delay_signal_forwarding(sandbox: Sandbox) -> None:
    sandbox.unit(
        "flood.service",
        "[Service]\nExecStart=/bin/sh -c "
        "'head -c 100000000 /dev/zero | tr \"\\\\0\" x | fold -w 100'\n",
    )
    record = sandbox.path("signals")
    trap = f"{sys.executable} {PROGRAMS / 'trap_all.py'}"
    run = sandbox.start(
        "--no-wait", "--start=flood.service", "--", "sh", "-c", f"exec {trap} > {record}"
    )
    wait_for(lambda: record.exists() and "ready" in record.read_text())
    # The flood is on: half of guestinit's 64 KiB stdout pipe is already full, and
    # nobody reads it (it tops out a little under 64 KiB: partly filled pages).
    wait_for(lambda: unread_bytes(run) >= 32768)
    worst = 0.0
    for count in range(1, 21):
        sent = time.monotonic()
        run.signal(signal.SIGUSR1)
        wait_for(
            lambda n=count: record.read_text().count("got 10") >= n, timeout=10, interval=0.001
        )
        worst = max(worst, time.monotonic() - sent)
    run.signal(signal.SIGTERM)
    run.wait(timeout=30)
    assert worst < 1.0, f"a forwarded signal took {worst:.3f}s during the flood"
    # The flood waited in its own pipe while ours was full: nothing dropped.
    assert b"log lines dropped" not in run.stdout


def test_journal_output_goes_to_journald_when_one_listens(sandbox: Sandbox) -> None:
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(str(sandbox.path("journal.sock")))
    journal.settimeout(10)
    try:
        sandbox.unit(
            "to-journal.service", "[Service]\nType=oneshot\nExecStart=/bin/echo via journald\n"
        )
        sandbox.unit(
            "to-stdout.service",
            "[Service]\nType=oneshot\nStandardOutput=inherit\nExecStart=/bin/echo via stdout\n",
        )
        run = sandbox.start("--start=to-journal.service", "--start=to-stdout.service", "--", "true")
        assert run.wait(timeout=30) == 0
        fields = dict(line.split("=", 1) for line in journal.recv(4096).decode().splitlines())
        assert fields["MESSAGE"] == "via journald"
        assert fields["SYSLOG_IDENTIFIER"] == "to-journal" and fields["PRIORITY"] == "6"
        out = run.stdout.decode()
        assert "via stdout" in out and "via journald" not in out
    finally:
        journal.close()


def test_stdout_appended_with_shell_redirection_keeps_every_byte(sandbox: Sandbox) -> None:
    """``guestinit ... >> app.log``: the file's earlier content stays, and the
    service's and the main process's lines are all appended, each whole."""
    sandbox.unit(
        "talker.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        "ExecStart=/bin/sh -c 'i=0; while [ $i -lt 500 ]; do echo svc-$i; i=$((i+1)); done'\n",
    )
    log_file = sandbox.path("app.log")
    log_file.write_text("line from before\n" * 3)
    main = "i=0; while [ $i -lt 500 ]; do echo main-$i; i=$((i+1)); done"
    args = ["--unit-path", str(sandbox.units), *sandbox.safe_args()]
    args += ["--start=talker", "--", "sh", "-c", main]
    with open(log_file, "ab") as appending:  # what the shell's >> does: O_APPEND
        run = InitRun(args, setup=sandbox.setup_script(), stdout=appending)
        sandbox.runs.append(run)
        run.start()
        assert run.wait(timeout=60) == 0
    lines = log_file.read_text().splitlines()
    assert lines[:3] == ["line from before"] * 3
    svc = [line.split(": ", 1)[1] for line in lines if line.startswith("talker[")]
    assert svc == [f"svc-{i}" for i in range(500)]
    assert [line for line in lines if line.startswith("main-")] == [f"main-{i}" for i in range(500)]


def unread_bytes(run: InitRun) -> int:
    """How much guestinit wrote to its stdout pipe that the test has not read."""
    assert run.process is not None and run.process.stdout is not None
    answer = fcntl.ioctl(run.process.stdout.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return int.from_bytes(answer, sys.byteorder)
