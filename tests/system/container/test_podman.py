"""guestinit as a real container's ENTRYPOINT: podman with runc runs the image
built from images/docker/Dockerfile.bookworm, with ssh, cron, rsyslog and
logrotate enabled, as a user would run it (limits, /dev/fuse, SYS_ADMIN)."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.system.container.podman import INIT_PATH, Podman

# What the Dockerfile's comments tell users to pass, plus the limits procshim shows.
RUN_OPTIONS = (
    "--memory", "512m", "--cpus", "1",
    "--device", "/dev/fuse", "--cap-add", "SYS_ADMIN",
    "--env", "GUESTINIT_LOG_LEVEL=info",  # the unit start and stop lines checked below
)  # fmt: skip
READY = ("cron.service: started", "rsyslog.service: started", "ssh.service: started")
START_TIMEOUT = 60
DOCKER_STOP_TIMEOUT = 10  # podman stop's (and docker stop's) default before SIGKILL


def wait_ready(runtime: Podman, name: str) -> str:
    for line in READY:
        logs = runtime.wait_for_log(name, line, START_TIMEOUT)
    return logs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ssh(key: Path, port: int, command: str) -> subprocess.CompletedProcess[str]:
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    options += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
    return subprocess.run(
        ["ssh", *options, "-i", str(key), "-p", str(port), "root@127.0.0.1", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_services_ssh_login_procshim_and_a_clean_stop(
    runtime: Podman, guestinit_image: str, container_name: Callable[[], str], ssh_key: Path
) -> None:
    if shutil.which("slirp4netns") is None:
        pytest.skip("slirp4netns is not installed: no published port for the ssh login")
    name, port = container_name(), free_port()
    runtime.run(
        "run", "--detach", "--name", name, *RUN_OPTIONS,
        "--network", "slirp4netns", "--publish", f"127.0.0.1:{port}:22",
        "--volume", f"{ssh_key}.pub:/root/.ssh/authorized_keys:ro",
        guestinit_image,
    )  # fmt: skip
    logs = wait_ready(runtime, name)
    assert re.search(r"^ssh\[\d+\]: Server listening on ", logs, re.MULTILINE), logs

    # A login from the host through the published loopback port.
    login = ssh(ssh_key, port, "guestinit ctl is-active ssh cron rsyslog logrotate.timer; free -m")
    assert login.returncode == 0, login.stderr
    assert login.stdout.splitlines()[:4] == ["active"] * 4
    memory = re.search(r"^Mem:\s+(\d+)", login.stdout, re.MULTILINE)
    assert memory is not None and memory.group(1) == "512", login.stdout  # procshim, not the host
    assert runtime.logs(name).count("Accepted publickey for root") == 1
    assert runtime.run("healthcheck", "run", name, check=False).returncode == 0

    # A message to /dev/log reaches rsyslogd, which owns the socket.
    runtime.exec(name, "logger", "-t", "probe", "hello from the test")
    syslog = ""
    for _ in range(50):
        syslog = runtime.exec(name, "cat", "/var/log/syslog").stdout
        if "probe: hello from the test" in syslog:
            break
        time.sleep(0.1)
    assert "probe: hello from the test" in syslog

    started = time.monotonic()
    runtime.run("stop", "--time", str(DOCKER_STOP_TIMEOUT), name)
    took = time.monotonic() - started
    assert runtime.exit_code(name) == 0
    assert took < DOCKER_STOP_TIMEOUT, "podman had to SIGKILL guestinit"
    stopped = runtime.logs(name)
    # Every daemon got SIGTERM and acted on it: sshd and rsyslogd exit 0 by
    # their handlers (sshd says so), cron has none and dies of the signal.
    # (The order of stdout and stderr lines is conmon's, not the writers'.)
    assert re.search(r"^ssh\[\d+\]: Received signal 15; terminating\.", stopped, re.MULTILINE)
    after = stopped[stopped.index("stopping units") :]
    for unit in ("ssh", "rsyslog", "cron"):
        assert re.search(
            rf"{unit}\.service: main process \d+ (exited with status 0|killed by signal 15)", after
        ), after


def test_logrotate_runs_and_reaches_rsyslogd_through_the_systemctl_shim(
    runtime: Podman, guestinit_image: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    runtime.run(
        "run", "--detach", "--name", name, *RUN_OPTIONS, "--network", "none", guestinit_image
    )
    wait_ready(runtime, name)
    # What logrotate.timer starts daily: our unit, not Debian's sandboxed one.
    started = runtime.exec(name, "guestinit", "ctl", "start", "logrotate.service")
    assert started.returncode == 0, started.stderr
    logs = runtime.wait_for_log(name, "logrotate.service: main process", 10)
    assert re.search(r"logrotate\.service: main process \d+ exited with status 0", logs), logs
    assert "not implemented by guestinit" not in logs, logs
    # Debian's postrotate for rsyslog runs `systemctl kill -s HUP rsyslog.service`
    # (only where /run/systemd/system exists): our shim must carry it to rsyslogd.
    rotated = runtime.exec(name, "logrotate", "--force", "/etc/logrotate.d/rsyslog")
    assert rotated.returncode == 0, rotated.stderr
    syslog = ""
    for _ in range(50):
        syslog = runtime.exec(name, "cat", "/var/log/syslog").stdout
        if "rsyslogd was HUPed" in syslog:
            break
        time.sleep(0.1)
    assert "rsyslogd was HUPed" in syslog, syslog


def test_a_signal_to_the_container_reaches_the_main_process(
    runtime: Podman, guestinit_image: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    main = 'trap "echo main: got USR1" USR1; echo main: ready; while :; do sleep 0.1; done'
    runtime.run(
        "run", "--detach", "--name", name, *RUN_OPTIONS, "--network", "none",
        guestinit_image, "sh", "-c", main,
    )  # fmt: skip
    runtime.wait_for_log(name, "main: ready", START_TIMEOUT)
    runtime.run("kill", "--signal", "USR1", name)
    runtime.wait_for_log(name, "main: got USR1", 10)
    assert runtime.running(name)


def test_the_main_process_exit_code_is_the_container_s(
    runtime: Podman, guestinit_image: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    runtime.run(
        "run", "--detach", "--name", name, *RUN_OPTIONS, "--network", "none",
        guestinit_image, "sh", "-c", "echo main: running; exit 3",
    )  # fmt: skip
    waited = runtime.run("wait", name, timeout=START_TIMEOUT)
    assert waited.stdout.strip() == "3"
    logs = runtime.logs(name)
    # The units ran beside it and were stopped after it.
    assert "main: running" in logs and "ssh.service: started" in logs
    ended = re.search(r"main process \d+ exited with status 3", logs)
    assert ended is not None, logs
    assert re.search(r"ssh\.service: main process \d+ ", logs[ended.end() :]), logs


def test_under_podman_run_init_guestinit_is_the_subreaper(
    runtime: Podman, guestinit_image: str, container_name: Callable[[], str]
) -> None:
    if not os.path.exists(INIT_PATH):
        pytest.skip(f"no {INIT_PATH} for podman run --init (Debian package tini)")
    name = container_name()
    # The main process orphans a sleep: it must land on guestinit, not on PID 1.
    main = 'trap "exit 0" TERM; (sleep 300 &); echo main: ready; while :; do sleep 0.1; done'
    runtime.run(
        "run", "--detach", "--init", "--name", name, *RUN_OPTIONS, "--network", "none",
        # procshim starts by itself only as PID 1; asked for, it runs here too.
        "--env", "GUESTINIT_PROCSHIM=on",
        guestinit_image, "sh", "-c", main,
    )  # fmt: skip
    wait_ready(runtime, name)
    runtime.wait_for_log(name, "main: ready", START_TIMEOUT)
    table = runtime.exec(name, "ps", "-eo", "pid=,ppid=,stat=,args=").stdout
    rows = [line.split(None, 3) for line in table.splitlines()]
    by_pid = {int(pid): (int(ppid), stat, args) for pid, ppid, stat, args in rows}
    assert by_pid[1][2].startswith("/run/podman-init "), table  # tini, from --init
    guestinit = [pid for pid, (_, _, args) in by_pid.items() if "/usr/bin/guestinit" in args]
    assert len(guestinit) == 1 and by_pid[guestinit[0]][0] == 1, table
    orphans = [ppid for ppid, _, args in by_pid.values() if args == "sleep 300"]
    assert orphans == guestinit, table
    assert runtime.exec(name, "guestinit", "ctl", "is-active", "ssh").stdout == "active\n"
    free = runtime.exec(name, "free", "-m").stdout
    assert re.search(r"^Mem:\s+512\s", free, re.MULTILINE), free

    runtime.run("stop", "--time", str(DOCKER_STOP_TIMEOUT), name)
    assert runtime.exit_code(name) == 0
    assert "ssh.service: main process" in runtime.logs(name)


def test_the_image_declares_entrypoint_stop_signal_and_healthcheck(
    runtime: Podman, guestinit_image: str
) -> None:
    inspected = json.loads(runtime.run("image", "inspect", guestinit_image).stdout)[0]
    assert inspected["Config"]["Entrypoint"] == ["guestinit", "--"]
    assert inspected["Config"]["StopSignal"] == "SIGTERM"
    # podman lists the Docker-format healthcheck beside the OCI config.
    assert inspected["Healthcheck"]["Test"] == ["CMD", "guestinit", "ctl", "health"]
