"""A unit running as ``nobody`` attacks: it names another unit's root process,
the container's main process or a stray root process as its main pid (by
MAINPID= and by PIDFile=), makes its PID file a FIFO, floods the notify
socket. Nothing it names may be adopted or signalled, PID 1 never blocks, and
guestinit still exits normally. Plus: queries for unknown units leave nothing
behind. Every run is guestinit as PID 1 of a namespace sandbox."""

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.integration.initrun import InitRun
from tests.integration.test_manager_cgroups import cgroup_parent  # noqa: F401 (fixture)
from tests.sandbox import Sandbox, ctl, wait_for

PROGRAMS = Path(__file__).with_name("programs")
# The main process: `sleep 1003`, and below it a stray root process outside any unit.
MAIN = ["--", "sh", "-c", "sleep 1005 & exec sleep 1003"]
VICTIM = "[Service]\nExecStart=/bin/sleep 1002\n"


@pytest.fixture
def public() -> Iterator[Path]:
    """The helper programs where `nobody` can run them (not under pytest's 0700 tmp_path)."""
    folder = Path(tempfile.mkdtemp(prefix="guestinit-security-"))
    folder.chmod(0o755)
    for name in ("notify_send.py", "notify_flood.py"):
        shutil.copy(PROGRAMS / name, folder / name)
        (folder / name).chmod(0o644)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def shown_main_pid(run: InitRun, unit: str) -> int:
    return int(ctl(run, "show", unit, "-p", "MainPID").stdout.strip().partition("=")[2] or 0)


def process(run: InitRun, *argv: str) -> psutil.Process:
    """The process below guestinit running ``argv`` (waited for)."""
    found: list[psutil.Process] = []

    def present() -> bool:
        for child in psutil.Process(run.init_pid()).children(recursive=True):
            try:
                if child.cmdline() == list(argv):
                    found.append(child)
                    return True
            except psutil.NoSuchProcess:
                continue
        return False

    wait_for(present)
    return found[0]


def ns_pid(host: psutil.Process) -> int:
    """The pid as guestinit (PID 1 of the namespace) sees it."""
    status = Path(f"/proc/{host.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("NSpid:")).split()[-1])


def alive(host: psutil.Process) -> bool:
    try:
        return host.is_running() and host.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def attacker(source: str, name: str, pid: int, public: Path, kill_mode: str) -> str:
    if source == "notify":
        return f"""[Service]
Type=notify
User=nobody
NotifyAccess=main
KillMode={kill_mode}
TimeoutStopSec=3
ExecStart=/usr/bin/python3 {public}/notify_send.py 1000 MAINPID={pid} READY=1
"""
    return f"""[Service]
Type=forking
User=nobody
RuntimeDirectory={name}
PIDFile=/run/{name}/pid
KillMode={kill_mode}
TimeoutStopSec=3
ExecStart=/bin/sh -c 'echo {pid} > /run/{name}/pid; exec sleep 1000 &'
"""


@pytest.mark.parametrize("kill_mode", ["control-group", "mixed", "process", "none"])
@pytest.mark.parametrize("source", ["notify", "pidfile"])
def test_nobody_cannot_claim_or_kill_a_process_outside_its_unit(
    sandbox: Sandbox, public: Path, source: str, kill_mode: str
) -> None:
    sandbox.unit("victim.service", VICTIM)
    run = sandbox.start("--start=victim.service", *MAIN)
    main = process(run, "sleep", "1003")
    stray = process(run, "sleep", "1005")
    wait_for(lambda: ctl(run, "is-active", "victim").returncode == 0)
    victim_pid = shown_main_pid(run, "victim.service")
    victim = process(run, "/bin/sleep", "1002")
    targets = {
        "unit": (victim_pid, "belongs to victim.service"),
        "main": (ns_pid(main), "is the container's main process"),
        "stray": (ns_pid(stray), "does not belong to the service"),
    }
    for target, (pid, _) in targets.items():
        sandbox.unit(f"{target}.service", attacker(source, target, pid, public, kill_mode))
    for target, (pid, _) in targets.items():
        started = ctl(run, "start", f"{target}.service")
        assert started.returncode == 0, started.stdout + started.stderr
        assert shown_main_pid(run, f"{target}.service") != pid
        ctl(run, "kill", "--kill-whom=main", "-s", "TERM", f"{target}.service")
        ctl(run, "kill", "--kill-whom=all", "-s", "STOP", f"{target}.service")
        ctl(run, "stop", f"{target}.service")
    assert all(alive(p) for p in (main, stray, victim))
    assert all(p.status() != psutil.STATUS_STOPPED for p in (main, stray, victim))
    assert shown_main_pid(run, "victim.service") == victim_pid
    run.signal(15)
    assert run.wait(timeout=60) == 143  # the main process's SIGTERM, as always
    err = run.stderr.decode()
    what = "MAINPID=" if source == "notify" else "PIDFile="
    for target, (pid, reason) in targets.items():
        assert f"{target}.service: new main PID from {what} refused: {pid} {reason}" in err, err


def forking_daemon(setsid: bool) -> str:
    daemon = "setsid sleep 1006" if setsid else "sleep 1006"
    return f"""[Service]
Type=forking
User=nobody
RuntimeDirectory=own
PIDFile=/run/own/pid
ExecStart=/bin/sh -c '{daemon} & echo $$! > /run/own/pid'
"""


@pytest.mark.parametrize(
    ("setsid", "cgroups"), [(False, False), (True, False), (True, True)], ids=str
)
def test_a_nobody_daemons_own_pid_file_is_accepted(
    sandbox: Sandbox, setsid: bool, cgroups: bool, request: pytest.FixtureRequest
) -> None:
    """Its own daemon: in its session, or (setsid) in its cgroup or running as
    its own user (without cgroups a daemon that left the session is known
    only by that)."""
    if cgroups:  # unit cgroups on the machine's hierarchy: that fixture removes leftovers
        request.getfixturevalue("cgroup_parent")
    sandbox.unit("own.service", forking_daemon(setsid))
    run = sandbox.start("--start=own.service", cgroups=cgroups)
    wait_for(lambda: ctl(run, "is-active", "own").returncode == 0)
    daemon = process(run, "sleep", "1006")
    assert shown_main_pid(run, "own.service") == ns_pid(daemon)
    assert ctl(run, "stop", "own").returncode == 0
    wait_for(lambda: not alive(daemon))
    run.signal(15)
    assert run.wait(timeout=30) == 0
    assert "refused" not in run.stderr.decode()


def test_a_fifo_as_pid_file_never_blocks_pid_1(sandbox: Sandbox) -> None:
    sandbox.unit(
        "fifo.service",
        """[Service]
Type=forking
User=nobody
RuntimeDirectory=ff
PIDFile=/run/ff/pid
ExecStart=/bin/sh -c 'mkfifo /run/ff/pid; sleep 1008 &'
""",
    )
    main = "trap 'echo main got USR1' USR1; echo main up; while :; do sleep 0.05; done"
    run = sandbox.start("--start=fifo.service", "--", "sh", "-c", main)
    while run.read_line() != "main up":
        pass
    status = ctl(run, "status", "fifo.service")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "active (running)" in status.stdout
    daemon = process(run, "sleep", "1008")
    run.signal(10)  # forwarded: the loop is alive
    while run.read_line() != "main got USR1":
        pass
    assert ctl(run, "stop", "fifo.service").returncode == 0
    assert not alive(daemon)
    run.signal(15)
    assert run.wait(timeout=30) == 143
    assert "fifo.service: PID file /run/ff/pid: not a regular file" in run.stderr.decode()


def test_unknown_names_are_answered_not_kept(sandbox: Sandbox) -> None:
    sandbox.unit("real.service", VICTIM)
    run = sandbox.start("--start=real.service")
    wait_for(lambda: ctl(run, "is-active", "real").returncode == 0)
    ghosts = [f"nosuch{n}.service" for n in range(200)]
    assert ctl(run, "status", *ghosts).returncode == 4
    assert ctl(run, "is-active", *ghosts[:50]).returncode == 3
    ctl(run, "show", *ghosts[:50])
    ctl(run, "cat", *ghosts[:50])
    assert ctl(run, "stop", "nosuch.target").returncode == 0
    # A target needs no file: answered as inactive, and not kept either.
    assert ctl(run, "status", "nosuch.target").returncode == 3
    everything = ctl(run, "status")
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert "real.service" in everything.stdout and "nosuch" not in everything.stdout
    listing = ctl(run, "list-units", "--all")
    assert "nosuch" not in listing.stdout
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_a_notify_flood_from_nobody_is_rate_limited(sandbox: Sandbox, public: Path) -> None:
    count = 20_000
    sandbox.unit(
        "flood.service",
        f"""[Service]
Type=oneshot
User=nobody
ExecStart=/usr/bin/python3 {public}/notify_flood.py {count} 5000
""",
    )
    # The main process runs once the oneshot is over: every datagram was read by then.
    run = sandbox.start("--start=flood.service", "--", "true")
    assert run.wait(timeout=120) == 0
    lines = run.stderr.decode().splitlines()
    dropped = [line for line in lines if "dropped a datagram (truncated)" in line]
    summary = re.compile(r"datagrams dropped \(truncated\): (\d+) similar messages suppressed")
    suppressed = [int(m.group(1)) for line in lines if (m := summary.search(line))]
    assert suppressed, "\n".join(lines[-20:])
    assert len(dropped) + sum(suppressed) == count
    # Five lines per 10 s window at most (a slow, busy machine may need a few windows).
    assert len(dropped) <= 5 * len(suppressed)
    assert len(lines) < 100


def test_root_may_name_a_process_outside_its_unit_but_never_these(
    sandbox: Sandbox, public: Path
) -> None:
    """systemd's rule for a root sender, with ours on top: never the main
    process, never another unit's process."""
    sandbox.unit("victim.service", VICTIM)
    run = sandbox.start("--start=victim.service", *MAIN)
    main = process(run, "sleep", "1003")
    stray = process(run, "sleep", "1005")
    wait_for(lambda: ctl(run, "is-active", "victim").returncode == 0)
    targets = {
        "stray": ns_pid(stray),
        "main": ns_pid(main),
        "unit": shown_main_pid(run, "victim.service"),
    }
    for name, pid in targets.items():
        unit = attacker("notify", name, pid, public, "control-group")
        sandbox.unit(f"{name}.service", unit.replace("User=nobody\n", ""))
        assert ctl(run, "start", f"{name}.service").returncode == 0
    assert shown_main_pid(run, "stray.service") == targets["stray"]
    assert shown_main_pid(run, "main.service") != targets["main"]
    assert shown_main_pid(run, "unit.service") != targets["unit"]
    for name in ("main", "unit"):
        assert ctl(run, "stop", f"{name}.service").returncode == 0
    assert alive(main) and ctl(run, "is-active", "victim").returncode == 0
    run.signal(15)
    assert run.wait(timeout=60) == 143
    err = run.stderr.decode()
    assert f"main.service: new main PID from MAINPID= refused: {targets['main']} is the" in err
    assert f"unit.service: new main PID from MAINPID= refused: {targets['unit']} belongs to" in err
    assert "stray.service: new main PID from MAINPID= refused" not in err
