"""The measurements. Each returns plain numbers per contender name; pid1.py
turns them into rows.

Contenders are interleaved (round-robin) wherever a scenario repeats, so slow
drift of the machine spreads over all of them instead of landing on one.
"""

import contextlib
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench._contenders import FLOOR_RESIDENT, Init
from bench._ns import cpu_ns, cpu_ticks, pid1, rss_kib

# Every line the workloads print arrives well within this; more means stuck.
LINE_TIMEOUT = 120.0


def startup_ms(commands: dict[str, Sequence[str]], runs: int, rounds: int = 4) -> dict[str, float]:
    """Median wall time of each command, by hyperfine without a shell (-N):
    fork + exec + wait, timed by hyperfine itself. hyperfine runs one command's
    samples back to back, so they are split over ``rounds`` calls: drift of a
    shared VM then spreads over every command instead of skewing a ratio."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, seconds in _hyperfine(commands, max(1, runs // rounds)).items():
            times[name] += seconds
    return {name: statistics.median(samples) * 1000 for name, samples in times.items()}


def _hyperfine(commands: dict[str, Sequence[str]], runs: int) -> dict[str, list[float]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        argv = ["hyperfine", "-N", "--style", "none", "--warmup", "3", "--runs", str(runs)]
        argv += ["--export-json", export.name]
        for name, command in commands.items():
            argv += ["-n", name, shlex.join(command)]
        # Its "statistical outliers" advice would only clutter the table's output;
        # kept for the error message if it fails.
        done = subprocess.run(argv, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"hyperfine failed:\n{done.stderr}")
        results = json.loads(Path(export.name).read_text())["results"]
    return {result["command"]: result["times"] for result in results}


@dataclass(frozen=True)
class Resident:
    rss_kib: dict[str, int]
    idle_ticks: dict[str, int]
    idle_cpu_us: dict[str, float]


def resident(inits: Sequence[Init], seconds: float, settle: float = 1.0) -> Resident:
    """Every init as PID 1 over ``sleep``, all at once (they do not interact):
    VmRSS once settled, then CPU used while the main process just sleeps."""
    argvs = {init.name: [*init.argv, "sleep", "3600"] for init in inits}
    argvs["floor"] = list(FLOOR_RESIDENT)
    with ExitStack() as stack:
        runs = {name: stack.enter_context(pid1(argv)) for name, argv in argvs.items()}
        pids = {name: run.init_pid() for name, run in runs.items()}
        time.sleep(settle)
        rss = {name: rss_kib(pid) for name, pid in pids.items()}
        ticks = {name: cpu_ticks(pid) for name, pid in pids.items()}
        used = {name: cpu_ns(pid) for name, pid in pids.items()}
        time.sleep(seconds)
        return Resident(
            rss,
            {name: cpu_ticks(pid) - ticks[name] for name, pid in pids.items()},
            {name: (cpu_ns(pid) - used[name]) / 1000 for name, pid in pids.items()},
        )


@dataclass(frozen=True)
class Burst:
    total_ms: float  # first fork -> nothing left but PID 1 and the workload
    tail_ms: float  # last fork -> nothing left
    init_cpu_ms: float  # CPU the init used over the burst


def reap_burst(inits: Sequence[Init], workload: Path, count: int, repeats: int) -> dict[str, Burst]:
    samples: dict[str, list[Burst]] = {init.name: [] for init in inits}
    for _ in range(repeats):
        for init in inits:
            samples[init.name].append(_one_burst(init, workload, count))
    return {name: _median(bursts) for name, bursts in samples.items()}


def _median(bursts: list[Burst]) -> Burst:
    """Each field's own median (they may come from different runs)."""
    return Burst(
        statistics.median(b.total_ms for b in bursts),
        statistics.median(b.tail_ms for b in bursts),
        statistics.median(b.init_cpu_ms for b in bursts),
    )


def _one_burst(init: Init, workload: Path, count: int) -> Burst:
    argv = [*init.argv, str(workload), str(count)]
    with pid1(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as run:
        assert run.stdout is not None
        _expect(run.stdout.line(LINE_TIMEOUT), "ready", init)
        pid = run.init_pid()
        before = cpu_ns(pid)
        run.send_line("go")
        forks_done, all_reaped = (int(n) for n in run.stdout.line(LINE_TIMEOUT).split())
        used = cpu_ns(pid) - before
        code = run.wait(LINE_TIMEOUT)
        if code != 0:
            raise RuntimeError(f"{init.name}: reap burst exited {code}")
    return Burst(all_reaped / 1e6, (all_reaped - forks_done) / 1e6, used / 1e6)


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p99_ms: float


def signal_latency(
    inits: Sequence[Init], workload: Path, samples: int, warmup: int = 20
) -> dict[str, Latency]:
    """kill(init's host pid, SIGUSR1) -> the main process's handler, both
    stamped with CLOCK_MONOTONIC (one clock for host and namespace). One signal
    in flight at a time, so none are coalesced."""
    results = {}
    for init in inits:
        with pid1([*init.argv, str(workload)], stdout=subprocess.PIPE) as run:
            assert run.stdout is not None
            _expect(run.stdout.line(LINE_TIMEOUT), "ready", init)
            pid = run.init_pid()
            latencies = []
            for index in range(warmup + samples):
                sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                os.kill(pid, signal.SIGUSR1)
                handled = int(run.stdout.line(LINE_TIMEOUT))
                if index >= warmup:
                    latencies.append((handled - sent) / 1e6)
        results[init.name] = Latency(statistics.median(latencies), percentile(latencies, 99))
    return results


def percentile(values: Sequence[float], rank: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def _expect(line: str, wanted: str, init: Init) -> None:
    if line != wanted:
        raise RuntimeError(f"{init.name}: workload said {line!r}, expected {wanted!r}")


# The floor in the same frame as the inits below: the interpreter's exec to
# its first line of Python (no exit, which an init's main process never waits for).
_FLOOR_FIRST_LINE = (
    "import os, time; "
    "print('exec_clock', (time.monotonic_ns() - int(os.environ['EXEC_CLOCK_T0'])) // 1000)"
)


def defaults_launcher(directory: Path, repo: Path) -> Path:
    """Like images/install.sh's launcher, with procshim beside guestinit (both
    from this checkout), so PID 1 runs with its defaults: the shim on."""
    path = directory / "guestinit-defaults"
    path.write_text(
        "#!/usr/bin/python3 -IS\n"
        "import sys\n"
        f"sys.path[:0] = [{str(repo)!r}, {str(repo / 'fuse')!r}]\n"
        "from guestinit.cli import main\n"
        "sys.exit(main())\n"
    )
    path.chmod(0o755)
    return path


_V1 = Path("/sys/fs/cgroup")
_V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids")


@contextlib.contextmanager
def container_cgroup(memory: int = 512 * 2**20) -> Iterator[str]:
    """Shell lines that move a shell into a fresh v1 cgroup (a memory limit,
    no CPU quota: the start is timed, not throttled), as a container's init
    starts in its own; removed afterwards. Without v1 hierarchies: ""."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            own[name] = path
    name = f"guestinit-bench-{os.getpid()}"
    dirs = {c: _V1 / c / own.get(c, "/").lstrip("/") / name for c in _V1_CONTROLLERS}
    if not all(d.parent.is_dir() for d in dirs.values()):
        yield ""
        return
    try:
        for directory in dirs.values():
            directory.mkdir()
        for file in ("cpuset.mems", "cpuset.cpus"):
            (dirs["cpuset"] / file).write_text((dirs["cpuset"].parent / file).read_text())
        (dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory))
        yield "\n".join(f"echo 0 > {d}/cgroup.procs" for d in dirs.values())
    finally:
        for directory in dirs.values():
            for _ in range(100):  # the last run's processes may take a moment to go
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def first_exec_ms(
    inits: Mapping[str, Sequence[str]], clock: Path, runs: int, env: dict[str, str]
) -> dict[str, float]:
    """Median ms from each init's exec as PID 1 (of a fresh PID and mount
    namespace with its own /run and its own cgroup, as a container's) to its
    main process's exec, timed by ``exec_clock`` on both sides; "floor" is the
    system interpreter's exec to its first line of Python. Round-robin over
    the contenders, each run a namespace of its own."""
    with container_cgroup() as enter:
        return _first_exec_ms(inits, clock, runs, env, enter)


def _first_exec_ms(
    inits: Mapping[str, Sequence[str]],
    clock: Path,
    runs: int,
    env: dict[str, str],
    enter_cgroup: str,
) -> dict[str, float]:
    commands = {
        name: [str(clock), "stamp", *argv, str(clock), "report"] for name, argv in inits.items()
    }
    commands["floor"] = [
        str(clock),
        "stamp",
        "/usr/bin/python3",
        "-I",
        "-S",
        "-c",
        _FLOOR_FIRST_LINE,
    ]
    shell = f'{enter_cgroup}\nmount -t tmpfs tmpfs /run; exec "$@"'
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            argv = ["unshare", "--pid", "--fork", "--mount-proc", "--mount", "--kill-child"]
            argv += ["sh", "-ec", shell, "sh", *command]
            done = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=LINE_TIMEOUT, check=False
            )
            words = [line.split() for line in done.stdout.splitlines()]
            micros = [int(w[1]) for w in words if len(w) == 2 and w[0] == "exec_clock"]
            if not micros:
                raise RuntimeError(f"{name}: no exec_clock line\n{done.stdout}\n{done.stderr}")
            samples[name].append(micros[0] / 1000)
    return {name: statistics.median(values) for name, values in samples.items()}
