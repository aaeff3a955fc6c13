"""Service-manager bench: guestinit beside supervisord, in one run.

    .venv/bin/python bench/units.py [--quick] [--record]

Rows: PID-1 RSS with sshd, cron and rsyslog running (Debian's units under
guestinit; equivalent [program:] entries under supervisord), idle CPU of PID 1
with them, time to ready for 200 trivial Type=notify units against the same
200 programs started by a bare launcher, `guestinit ctl status` with 200
units, and signal-forward latency while a service floods 100 MB of output.
Every init runs as PID 1 of its own PID + mount namespace with a private /run
and configuration bound over /etc paths there; nothing on the machine changes.
"""

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = str(REPO / ".venv" / "bin" / "python")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

NOTIFIER_C = r"""
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, path, sizeof a.sun_path - 1);
        if (a.sun_path[0] == '@') a.sun_path[0] = 0;
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        sendto(s, "READY=1", 7, 0, (struct sockaddr *)&a, sizeof a);
        close(s);
    }
    for (;;) pause();
}
"""
STAMP_C = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    printf("%ld.%09ld\n", (long)t.tv_sec, t.tv_nsec); return 0;
}
"""


def compile_c(folder: Path, name: str, source: str) -> Path:
    (folder / f"{name}.c").write_text(source)
    subprocess.run(["gcc", "-O2", "-o", str(folder / name), str(folder / f"{name}.c")], check=True)
    return folder / name


class Namespace:
    """One init as PID 1 of a PID + mount namespace with a private /run."""

    def __init__(self, setup: list[str], command: list[str], env: dict[str, str] | None = None):
        script = "\n".join(
            ["mount --make-rprivate /", "mount -t tmpfs tmpfs /run", *setup, 'exec "$@"']
        )
        self.process = subprocess.Popen(
            [
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                "--mount",
                "--kill-child",
                "sh",
                "-ec",
                script,
                "sh",
                *command,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # The machine's own root: never its tmpfiles.d (systemd's "D /tmp").
            env={"PATH": SYSTEM_PATH, "GUESTINIT_TMPFILES": "off", **(env or {})},
        )
        self.pid = self._init_pid()

    def _init_pid(self) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        stat = Path(f"/proc/{entry}/stat").read_text()
                    except OSError:
                        continue
                    if int(stat[stat.rfind(")") + 2 :].split()[1]) == self.process.pid:
                        exe = os.readlink(f"/proc/{entry}/exe")
                        if not exe.endswith("unshare"):
                            return int(entry)
            time.sleep(0.005)
        raise TimeoutError("the init did not start")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_ticks(self) -> int:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # PID 1 gone: the namespace goes with it
        self.process.wait(timeout=30)


def guestinit(units: Path, *args: str) -> list[str]:
    """guestinit as the benches run it: units from ``units``, no syslog."""
    # No unit cgroups: every run ends with SIGKILL to PID 1, which could not remove them.
    return [
        PY,
        "-m",
        "guestinit",
        "--syslog-socket",
        "none",
        "--no-unit-cgroups",
        "--no-procshim",
        "--unit-path",
        str(units),
        *args,
    ]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing on port {port}")


def daemon_configs(folder: Path) -> tuple[int, list[str]]:
    """sshd, cron and rsyslog configurations of our own, and the binds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ssh = folder / "etc-ssh"
    ssh.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "ssh_host_ed25519_key")],
        check=True,
    )
    (ssh / "sshd_config").write_text(f"Port {port}\nListenAddress 127.0.0.1\nUsePAM no\n")
    (folder / "crontab").write_text("SHELL=/bin/sh\n")
    (folder / "cron.d").mkdir()
    (folder / "rsyslog.conf").write_text(
        f'module(load="imuxsock" SysSock.Name="{folder}/log.sock")\n*.* {folder}/all.log\n'
    )
    binds = [
        f"mount --bind {ssh} /etc/ssh",
        f"mount --bind {folder}/crontab /etc/crontab",
        f"mount --bind {folder}/cron.d /etc/cron.d",
        f"mount --bind {folder}/rsyslog.conf /etc/rsyslog.conf",
    ]
    return port, binds


def three_daemons(folder: Path, which: str, idle: float) -> tuple[float, int]:
    port, binds = daemon_configs(folder / which)
    if which == "guestinit":
        command = [
            PY,
            "-m",
            "guestinit",
            "--syslog-socket",
            "none",
            "--no-unit-cgroups",
            "--no-procshim",  # supervisord has none; the shim's RSS is measured on its own
            "--start",
            "ssh.service",
            "--start",
            "cron.service",
            "--start",
            "rsyslog.service",
        ]
        setup = binds
    else:
        conf = folder / which / "supervisord.conf"
        conf.write_text(
            f"[supervisord]\nnodaemon=true\nlogfile={folder}/{which}/sd.log\npidfile=/run/sd.pid\n"
            "[program:sshd]\ncommand=/usr/sbin/sshd -D -e\n"
            "[program:cron]\ncommand=/usr/sbin/cron -f\n"
            "[program:rsyslog]\ncommand=/usr/sbin/rsyslogd -n -iNONE\n"
        )
        command = ["supervisord", "-n", "-c", str(conf)]
        setup = [*binds, "mkdir -p /run/sshd"]
    ns = Namespace(setup, command)
    try:
        wait_port(port)
        time.sleep(2.0)
        rss = ns.rss_mib()
        before = ns.cpu_ticks()
        time.sleep(idle)
        return rss, ns.cpu_ticks() - before
    finally:
        ns.close()


def ready_200(folder: Path, notifier: Path, stamp: Path, count: int) -> tuple[float, float]:
    """(guestinit's time to start its main process after 200 notify units are
    ready, the same 200 programs' own time from a bare launcher), seconds."""
    units = folder / "units200"
    units.mkdir()
    for index in range(count):
        (units / f"n{index}.service").write_text(
            f"[Unit]\nDefaultDependencies=no\n[Service]\nType=notify\nExecStart={notifier}\n"
        )
    starts = [f"--start=n{i}.service" for i in range(count)]
    begin = time.monotonic()
    ns = Namespace(
        [],
        guestinit(
            units,
            *starts,
            "--",
            str(stamp),
        ),
    )
    try:
        assert ns.process.stdout is not None
        line = ns.process.stdout.readline().decode().strip()
        managed = float(line) - begin
    finally:
        ns.close()
    return managed, bare_launch(notifier, count)


def bare_launch(notifier: Path, count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/notify.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sink:
            sink.bind(path)
            begin = time.monotonic()
            children = [
                subprocess.Popen([str(notifier)], env={"NOTIFY_SOCKET": path}) for _ in range(count)
            ]
            for _ in range(count):
                sink.recv(64)
            elapsed = time.monotonic() - begin
            for child in children:
                child.kill()
                child.wait()
    return elapsed


def ctl_status_ms(folder: Path, notifier: Path, count: int, runs: int) -> float:
    units = folder / "units-status"
    units.mkdir()
    for index in range(count):
        (units / f"s{index}.service").write_text(
            f"[Unit]\nDefaultDependencies=no\n[Service]\nType=notify\nExecStart={notifier}\n"
        )
    starts = [f"--start=s{i}.service" for i in range(count)]
    ns = Namespace([], guestinit(units, *starts))
    client = [
        "nsenter",
        "-t",
        str(ns.pid),
        "-m",
        "--",
        "/usr/bin/python3",
        "-I",
        "-S",
        "-c",
        f"import sys; sys.path.insert(0, {str(REPO)!r}); from guestinit.cli import main; "
        "sys.exit(main(['guestinit', 'ctl', 'status']))",
    ]
    try:
        time.sleep(3)
        samples = []
        for _ in range(runs):
            begin = time.perf_counter()
            subprocess.run(
                client, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
            samples.append((time.perf_counter() - begin) * 1000)
        return statistics.median(samples)
    finally:
        ns.close()


def flood_latency_ms(folder: Path, samples: int) -> tuple[float, float]:
    """Median and p99 of kill -> main's SIGUSR1 handler, in ms, while a unit
    writes 100 MB of lines as fast as it can and nobody reads our stdout."""
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-o",
            str(folder / "signal_clock"),
            str(REPO / "bench" / "programs" / "signal_clock.c"),
        ],
        check=True,
    )
    units = folder / "units-flood"
    units.mkdir()
    (units / "flood.service").write_text(
        "[Service]\nExecStart=/bin/sh -c "
        "'head -c 100000000 /dev/zero | tr \"\\\\0\" x | fold -w 100'\n"
    )
    record = folder / "clock.out"
    main = f"exec {folder / 'signal_clock'} > {record}"
    ns = Namespace(
        [],
        guestinit(
            units,
            "--start=flood.service",
            "--no-wait",
            "--",
            "sh",
            "-c",
            main,
        ),
    )
    latencies = []
    try:
        deadline = time.monotonic() + 20
        while "ready" not in (record.read_text() if record.exists() else ""):
            if time.monotonic() > deadline:
                raise TimeoutError("signal_clock did not start")
            time.sleep(0.01)
        time.sleep(0.5)  # the flood is on and our stdout pipe is full
        for count in range(1, samples + 1):
            sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            os.kill(ns.pid, signal.SIGUSR1)
            while True:
                lines = record.read_text().split()
                if len(lines) > count:
                    break
                time.sleep(0.0005)
            latencies.append((int(lines[count]) - sent) / 1e6)
            time.sleep(0.01)
    finally:
        ns.close()
    latencies.sort()
    return statistics.median(latencies), latencies[int(0.99 * (len(latencies) - 1))]


def main(args: list[str]) -> int:
    quick, record = "--quick" in args, "--record" in args
    idle = 10.0 if quick else 30.0
    with tempfile.TemporaryDirectory(prefix="guestinit-bench-") as tmp:
        folder = Path(tmp)
        for name in ("guestinit", "supervisord"):
            (folder / name).mkdir()
        notifier = compile_c(folder, "notifier", NOTIFIER_C)
        stamp = compile_c(folder, "stamp", STAMP_C)
        print("measuring: three daemons", file=sys.stderr)
        g_rss, g_ticks = three_daemons(folder, "guestinit", idle)
        s_rss, s_ticks = three_daemons(folder, "supervisord", idle)
        print("measuring: 200 notify units", file=sys.stderr)
        managed, own = ready_200(folder, notifier, stamp, 200)
        print("measuring: ctl status", file=sys.stderr)
        status = ctl_status_ms(folder, notifier, 200, 20)
        print("measuring: signal forwarding during a 100 MB flood", file=sys.stderr)
        flood_median, flood_p99 = flood_latency_ms(folder, 100 if quick else 300)
    rows = [
        (
            "PID-1 RSS with sshd+cron+rsyslog, MiB",
            f"{g_rss:.1f}",
            f"{s_rss:.1f}",
            f"{g_rss / s_rss:.2f}x",
            "≤ 10 MiB and ≤ 0.4x",
            g_rss <= 10 and g_rss / s_rss <= 0.4,
        ),
        (
            f"idle CPU ticks of PID 1 over {idle:g} s",
            str(g_ticks),
            str(s_ticks),
            "—",
            "0",
            g_ticks == 0,
        ),
        (
            "200 notify units: start → main runs, s",
            f"{managed:.2f}",
            "—",
            f"own time {own:.2f}",
            "≤ own + 1 s",
            managed <= own + 1.0,
        ),
        (
            "`guestinit ctl status`, 200 units, median ms",
            f"{status:.1f}",
            "—",
            "—",
            "≤ 50 ms",
            status <= 50,
        ),
        (
            "signal forward during a 100 MB log flood, median ms",
            f"{flood_median:.3f}",
            "—",
            f"p99 {flood_p99:.3f}",
            "≤ 10 ms",
            flood_median <= 10,
        ),
    ]
    lines = [
        "| row | guestinit | supervisord | ratio / note | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for label, ours, theirs, ratio, target, met in rows:
        verdict = "met" if met else "**missed**"
        lines.append(f"| {label} | {ours} | {theirs} | {ratio} | {target} | {verdict} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if record:
        stamp_text = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with open(REPO / "bench" / "RESULTS.md", "a") as results:
            results.write(
                f"\n## {stamp_text} — bench/units.py{' (quick)' if quick else ''}\n\n"
                f"kernel `{os.uname().release}`; nproc {os.cpu_count()}.\n\n{table}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
