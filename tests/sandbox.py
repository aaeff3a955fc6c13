"""A sandbox for running the service manager for real: guestinit as PID 1 of a
PID + mount + UTS namespace, configuration bind-mounted over /etc paths inside
that mount namespace only, /run a private tmpfs there (the notify and control
sockets live in it). Nothing on the machine is edited."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.integration.initrun import InitRun

REPO = Path(__file__).resolve().parents[1]


class Sandbox:
    """Bind mounts and unit files for one guestinit run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.units = root / "units"
        self.units.mkdir()
        self.binds: list[tuple[Path, str]] = []
        self.commands: list[str] = []  # shell run in the namespace after the binds
        self.private_dev = False  # a /dev of its own, so /dev/log can be ours
        # A network namespace of its own (only lo, up): any port is free there.
        self.own_network = False
        self.runs: list[InitRun] = []

    def path(self, name: str) -> Path:
        return self.root / name

    def bind(self, source: Path, target: str) -> None:
        """``source`` appears at ``target`` inside the namespace."""
        self.binds.append((source, target))

    def unit(self, name: str, text: str) -> Path:
        path = self.units / name
        path.write_text(text)
        return path

    def setup_script(self) -> str:
        lines = ["mount --make-rprivate /", "mount -t tmpfs -o mode=755 tmpfs /run"]
        if self.private_dev:
            # What a container runtime gives: a tmpfs /dev with the usual nodes
            # bound from the machine's, and room for a /dev/log of our own.
            host_dev = self.root / "host-dev"
            host_dev.mkdir(exist_ok=True)
            lines += [f"mount --rbind /dev '{host_dev}'", "mount -t tmpfs -o mode=755 tmpfs /dev"]
            for node in ("null", "zero", "full", "random", "urandom", "tty", "ptmx"):
                lines += [f"touch /dev/{node}", f"mount --bind '{host_dev}/{node}' /dev/{node}"]
            lines += ["mkdir /dev/pts /dev/shm", f"mount --rbind '{host_dev}/pts' /dev/pts"]
        lines += [f"mount --bind '{source}' '{target}'" for source, target in self.binds]
        if self.own_network:
            # Last: PID 1 (this shell) enters a new network namespace and
            # stays PID 1 (unshare without --fork execs), then guestinit.
            inner = 'ip link set lo up; exec "$@"'
            lines_after = [f"exec unshare --net sh -ec '{inner}' sh \"$@\""]
        else:
            lines_after = []
        return "\n".join([*lines, *self.commands, *lines_after])

    def safe_args(self, syslog: str | None = None, cgroups: bool = False) -> list[str]:
        """Options that keep a run off the machine's own /dev/log, journal,
        /var/lib and cgroup hierarchy."""
        args = ["--syslog-socket", syslog or str(self.root / "dev-log")]
        args += ["--state-dir", str(self.root / "state")]
        args += ["--journal-socket", str(self.root / "journal.sock")]
        if not cgroups:
            # A run SIGKILLed at cleanup cannot remove unit cgroups on the
            # machine's hierarchy; only tests that check them (and clean up) make them.
            args.append("--no-unit-cgroups")
        return args

    def start(
        self,
        *args: str,
        unit_path: bool = True,
        env: dict[str, str] | None = None,
        syslog: str | None = None,
        cgroups: bool = False,
    ) -> InitRun:
        """guestinit with ``args``. Its built-in syslog listens at ``syslog``,
        by default a socket in the sandbox: never the machine's /dev/log."""
        paths = ["--unit-path", str(self.units)] if unit_path else []
        paths += self.safe_args(syslog, cgroups)
        run = InitRun([*paths, *args], env=env, setup=self.setup_script())
        self.runs.append(run)
        run.start()
        return run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(predicate: "object", timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout)


def ctl(run: InitRun, *args: str, user: str | None = None) -> "subprocess.CompletedProcess[str]":
    """``guestinit ctl ARGS`` inside the run's mount namespace (where its
    /run/guestinit/control.sock is), optionally as an unprivileged ``user``."""
    python = sys.executable
    if user is not None:
        # The client needs only the stdlib: Debian's python, which any user may run.
        python = "/usr/bin/python3"
    command = [python, "-m", "guestinit", "ctl", *args]
    if user is not None:
        group = "nogroup" if user == "nobody" else user
        command = ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", *command]
    return subprocess.run(
        ["nsenter", "-t", str(run.init_pid()), "-m", "--", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )


def children_named(pid: int, name: str, recursive: bool = False) -> list[psutil.Process]:
    """Processes below ``pid`` called ``name``; ones that exit while we look
    (a unit's short-lived helpers) are skipped, not errors."""
    found = []
    try:
        children = psutil.Process(pid).children(recursive=recursive)
    except psutil.NoSuchProcess:
        return []
    for child in children:
        try:
            if child.name() == name:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
