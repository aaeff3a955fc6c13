"""Resource-shim bench: procshim beside lxcfs, in one run.

    .venv/bin/python bench/procshim.py [--quick] [--record]

Both servers run in host mode on their own mount point (``lxcfs -f
--enable-cfs`` and ``procshim serve -f``), outside any limit; the readers run
in one real v1 cgroup (memory 512M, cpu quota 1.5 CPUs, cpuset 0-1, the same
path in cpu, cpuacct and cpuset as lxcfs needs), so both answer the same
question for the same caller. The reader is ``programs/read_loop.c``: C, so
its own cost is small next to the server's.

A third server, ``programs/static_fuse.py``, is the floor of any Python FUSE
server: the same binding and mount options serving fixed bytes with no work
per open; what procshim costs beyond it is its own.

Rows: open+read+close latency of /proc/meminfo, cpuinfo and stat (median and
nearest-rank p99, servers interleaved in rounds), opens per second with 8
reader threads on meminfo, the server's CPU during that load (utime+stime of
all its threads per 1000 opens), and its RSS after the load.
"""

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"
PROCSHIM = REPO / ".venv" / "bin" / "procshim"
PYTHON = REPO / ".venv" / "bin" / "python"
FILES = ("proc/meminfo", "proc/cpuinfo", "proc/stat")
CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids")
CGROUP = Path("/sys/fs/cgroup")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sizes:
    rounds: int  # latency: rounds of (server, file), servers interleaved
    per_round: int  # samples per round
    seconds: int  # throughput run per server


FULL = Sizes(rounds=10, per_round=200, seconds=10)
QUICK = Sizes(rounds=4, per_round=100, seconds=4)


@dataclass
class Server:
    name: str
    mountpoint: Path
    process: subprocess.Popen[bytes]


class Group:
    """The readers' v1 cgroup, below our own in each controller, removed at the end."""

    def __init__(self) -> None:
        name = f"procshim-bench-{os.getpid()}"
        self.dirs = [CGROUP / c / _own_path(c).lstrip("/") / name for c in CONTROLLERS]
        for directory in self.dirs:
            directory.mkdir()
        memory, cpu, _, cpuset, _ = self.dirs
        (cpuset / "cpuset.mems").write_text((cpuset.parent / "cpuset.mems").read_text())
        (cpuset / "cpuset.cpus").write_text((cpuset.parent / "cpuset.cpus").read_text())
        (memory / "memory.limit_in_bytes").write_text(str(512 * 2**20))
        (cpu / "cpu.cfs_period_us").write_text("100000")
        (cpu / "cpu.cfs_quota_us").write_text("150000")

    def enter(self) -> None:
        """Move the calling process in (used as a preexec_fn)."""
        for directory in self.dirs:
            (directory / "cgroup.procs").write_text("0")

    def remove(self) -> None:
        for directory in self.dirs:
            for _ in range(100):
                try:
                    directory.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


def _own_path(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return "/"


def _compile(folder: Path) -> Path:
    binary = folder / "read_loop"
    source = REPO / "bench" / "programs" / "read_loop.c"
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(binary), str(source)], check=True)
    return binary


@contextlib.contextmanager
def servers(folder: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for name, command in (
            ("lxcfs", ["lxcfs", "-f", "--enable-cfs", "-p", str(folder / "lxcfs.pid")]),
            ("procshim", [str(PROCSHIM), "serve", "-f"]),
            ("floor", [str(PYTHON), str(REPO / "bench" / "programs" / "static_fuse.py")]),
        ):
            mountpoint = folder / name
            mountpoint.mkdir()
            process = subprocess.Popen(
                [*command, str(mountpoint)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            started.append(Server(name, mountpoint, process))
            _wait_mounted(mountpoint / "proc" / "meminfo", process)
        yield started
    finally:
        for server in started:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
                try:
                    server.process.wait(10)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait()
            subprocess.run(
                ["umount", "-l", str(server.mountpoint)], check=False, stderr=subprocess.DEVNULL
            )


def _wait_mounted(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            if path.read_bytes():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{path} did not appear")


def _reader(binary: Path, group: Group, *args: str) -> list[int]:
    done = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, check=True, preexec_fn=group.enter
    )
    return [int(word) for word in done.stdout.split()]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _p99(samples: list[int]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, -(-99 * len(ordered) // 100) - 1)]


def measure(sizes: Sizes) -> list[tuple[str, dict[str, float], str, str]]:
    """Rows of (label, values by server, target, lower-or-higher is better)."""
    with tempfile.TemporaryDirectory(prefix="procshim-bench-") as name:
        folder = Path(name)
        binary = _compile(folder)
        group = Group()
        try:
            with servers(folder) as running:
                return _measure(sizes, binary, group, running)
        finally:
            group.remove()


def _measure(
    sizes: Sizes, binary: Path, group: Group, running: list[Server]
) -> list[tuple[str, dict[str, float], str, str]]:
    rows: list[tuple[str, dict[str, float], str, str]] = []
    count = str(sizes.per_round)
    for file in FILES:
        samples: dict[str, list[int]] = {s.name: [] for s in running}
        samples["real"] = []
        for _ in range(sizes.rounds):
            for server in running:
                path = str(server.mountpoint / file)
                samples[server.name] += _reader(binary, group, "latency", path, count)
            samples["real"] += _reader(binary, group, "latency", f"/{file}", count)
        print(f"bench: latency of {file} done", file=sys.stderr)
        median = {k: statistics.median(v) / 1000 for k, v in samples.items()}
        p99 = {k: _p99(v) / 1000 for k, v in samples.items()}
        rows.append((f"/{file} open+read+close, median µs", median, "≤ 1.0x lxcfs", "lower"))
        rows.append((f"/{file} p99 µs", p99, "", "lower"))
    opens: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    for server in running:
        before = _cpu_ticks(server.process.pid)
        path = str(server.mountpoint / "proc/meminfo")
        total = _reader(binary, group, "throughput", path, "8", str(sizes.seconds))[0]
        used = (_cpu_ticks(server.process.pid) - before) / TICK
        opens[server.name] = total / sizes.seconds
        cpu[server.name] = used * 1000 / max(total, 1) * 1000  # ms of CPU per 1000 opens
        rss[server.name] = _rss_mib(server.process.pid)
        print(f"bench: throughput of {server.name} done", file=sys.stderr)
    rows.append(("meminfo opens/s, 8 readers", opens, "≥ 1.0x lxcfs", "higher"))
    rows.append(("server CPU ms per 1000 opens", cpu, "", "lower"))
    rows.append(("server RSS after the load, MiB", rss, "≤ 25 MiB", "lower"))
    return rows


def markdown(rows: list[tuple[str, dict[str, float], str, str]]) -> str:
    lines = [
        "| row | procshim | lxcfs | ratio | floor | real file | target | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, values, target, better in rows:
        ours, theirs = values["procshim"], values["lxcfs"]
        ratio = ours / theirs if theirs else float("nan")
        real = f"{values['real']:.1f}" if "real" in values else "—"
        floor = f"{values['floor']:.1f} ({values['floor'] / theirs:.2f}x)" if theirs else "—"
        lines.append(
            f"| {label} | {ours:.1f} | {theirs:.1f} | {ratio:.2f}x | {floor} | {real} "
            f"| {target or '—'} "
            f"| {_verdict(target, ours, ratio, better)} |"
        )
    return "\n".join(lines) + "\n"


def _verdict(target: str, ours: float, ratio: float, better: str) -> str:
    if not target:
        return ""
    if "MiB" in target:
        met = ours <= float(target.split()[1])
    elif better == "lower":
        met = ratio <= 1.0
    else:
        met = ratio >= 1.0
    return "met" if met else "**missed**"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (cgroups, FUSE mounts)"
    for tool in ("lxcfs", "gcc", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (bash tests/setup.sh installs it)"
    if not PROCSHIM.exists():
        return f"{PROCSHIM} is missing (bash tests/setup.sh builds the venv)"
    if not (CGROUP / "memory" / "cgroup.procs").exists():
        return "needs cgroup v1 memory/cpu/cpuset hierarchies"
    return None


def main(args: list[str]) -> int:
    quick, record = "--quick" in args, "--record" in args
    problem = _missing()
    if problem:
        print(f"bench/procshim.py: {problem}", file=sys.stderr)
        return 1
    table = markdown(measure(QUICK if quick else FULL))
    print(table, end="")
    if record:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        mode = "--quick" if quick else "full run"
        with RESULTS.open("a") as results:
            results.write(
                f"\n## {stamp} — bench/procshim.py ({mode})\n\n"
                f"kernel `{os.uname().release}`; nproc {len(os.sched_getaffinity(0))}; "
                "lxcfs 5.0.3 `-f --enable-cfs`; readers in a v1 cgroup 512M, 1.5 CPUs.\n\n" + table
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
