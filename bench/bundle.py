"""The self-contained bundle (images/bundle) beside the pip-installed launcher.

    .venv/bin/python bench/bundle.py [--runs N] [--record]

Needs root, unshare, hyperfine and what build.sh needs. Rows:

- start as PID 1: `unshare --pid --fork --mount-proc INIT --no-procshim --
  /bin/true`, hyperfine -N (no shell), median wall ms of N runs split into 4
  interleaved calls, and mean CPU ms (user+sys: steadier than wall time on a
  shared machine). INIT is the bundle's /opt/guestinit/bin/guestinit, or the
  launcher install.sh writes (`#!/usr/bin/python3 -IS`, Debian's interpreter)
  importing this checkout. Info rows: each one's bare interpreter
  (`-I -S -c pass`) as PID 1, and the namespace alone (`/bin/true` as PID 1).
- PID 1's RSS over `sleep` (1 s after start).
- size: du of the tree (on disk, 4 KiB blocks) and its apparent size; tar
  of it compressed by xz -9 and zstd -19.
- build: build.sh from scratch with the downloads already cached (a private
  cache folder seeded with them), i.e. everything but the network.

The bundle runs at /opt/guestinit, so the bench runs inside a private mount
namespace with a tmpfs on /opt and the bundle bound there (the host's /opt is
left alone).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a file: the repo root goes on the path first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._contenders import SYSTEM_PYTHON, launcher
from bench._ns import pid1, rss_kib
from bench._table import machine_section

REPO = Path(__file__).resolve().parents[1]
BUILD_SH = REPO / "images/bundle/build.sh"
PREFIX = "/opt/guestinit"
CACHE = Path(os.environ.get("GUESTINIT_TEST_CACHE", "/var/cache/guestinit-test"))
INSIDE = "GUESTINIT_BENCH_BUNDLE_INSIDE"
RESULTS = REPO / "bench/RESULTS.md"
UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/bundle.py", description=__doc__)
    parser.add_argument("--runs", type=int, default=40, help="start-up samples (default 40)")
    parser.add_argument("--record", action="store_true", help=f"append the table to {RESULTS}")
    options = parser.parse_args(args)
    if os.geteuid() != 0:
        print("bench/bundle.py: needs root (namespaces, mounts)", file=sys.stderr)
        return 1
    if os.environ.get(INSIDE) is None:
        # Again, inside a private mount namespace (unshare execs it).
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, *sys.argv]
        os.execvpe("unshare", argv, {**os.environ, INSIDE: "1"})
    with tempfile.TemporaryDirectory(prefix="guestinit-bench-bundle-") as folder:
        work = Path(folder)
        build_seconds = _timed_build(work)
        tree = work / "guestinit"
        _run(["bash", str(BUILD_SH), str(tree)])
        _mount_at_prefix(tree)
        table = _table(options.runs, work, tree, build_seconds)
        key = _key(tree)
    print(table, end="")
    if options.record:
        notes = [f"{options.runs} start-up samples", f"bundle {key}"]
        with RESULTS.open("a") as results:
            results.write(machine_section("bench/bundle.py", table, notes))
    return 0


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, env=env)


def _key(tree: Path) -> str:
    return (tree / "lib/guestinit/bundle.txt").read_text().split()[1]


def _timed_build(work: Path) -> float:
    """build.sh into a private cache that holds only the downloads."""
    cache = work / "cache"
    cache.mkdir()
    _run(["bash", str(BUILD_SH), str(work / "seed")])  # the downloads, in the shared cache
    shutil.rmtree(work / "seed")
    for download in [CACHE / "bundle-debs", *CACHE.glob("bundle-wheels-*")]:
        shutil.copytree(download, cache / download.name)
    started = time.monotonic()
    _run(
        ["bash", str(BUILD_SH), str(work / "cold")],
        env={**os.environ, "GUESTINIT_TEST_CACHE": str(cache)},
    )
    took = time.monotonic() - started
    shutil.rmtree(work / "cold")
    return took


def _mount_at_prefix(tree: Path) -> None:
    _run(["mount", "-t", "tmpfs", "bench-opt", "/opt"])
    os.makedirs(PREFIX)
    _run(["mount", "--bind", str(tree), PREFIX])


def _start(runs: int, pip_launcher: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall ms and mean CPU ms of each command as PID 1."""
    commands = {
        "bundle": (*UNSHARE, f"{PREFIX}/bin/guestinit", "--no-procshim", "--", "/bin/true"),
        "pip": (*UNSHARE, str(pip_launcher), "--no-procshim", "--", "/bin/true"),
        "bundle python": (*UNSHARE, f"{PREFIX}/bin/python3", "-I", "-S", "-c", "pass"),
        "pip python": (*UNSHARE, SYSTEM_PYTHON, "-I", "-S", "-c", "pass"),
        "namespace": (*UNSHARE, "/bin/true"),
    }
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(4):
        with tempfile.NamedTemporaryFile(suffix=".json") as export:
            argv = ["hyperfine", "-N", "--style", "none", "--warmup", "3"]
            argv += ["--runs", str(max(1, runs // 4)), "--export-json", export.name]
            for name, command in commands.items():
                argv += ["-n", name, " ".join(command)]
            _run(argv)
            for result in json.loads(Path(export.name).read_text())["results"]:
                wall[result["command"]] += result["times"]
                cpu[result["command"]].append(result["user"] + result["system"])
    return (
        {name: statistics.median(times) * 1000 for name, times in wall.items()},
        {name: statistics.mean(times) * 1000 for name, times in cpu.items()},
    )


def _rss(pip_launcher: Path) -> dict[str, int]:
    found = {}
    for name, init in (("bundle", f"{PREFIX}/bin/guestinit"), ("pip", str(pip_launcher))):
        with pid1([init, "--no-procshim", "--", "sleep", "3600"]) as run:
            pid = run.init_pid()
            time.sleep(1.0)
            found[name] = rss_kib(pid)
    return found


def _sizes(tree: Path, work: Path) -> dict[str, float]:
    mib = 1024 * 1024
    on_disk = int(_run(["du", "-s", "-B1", str(tree)]).stdout.split()[0])
    apparent = int(_run(["du", "-s", "-B1", "--apparent-size", str(tree)]).stdout.split()[0])
    tar = work / "bundle.tar"
    _run(["tar", "-C", str(tree), "--sort=name", "--numeric-owner", "-cf", str(tar), "."])
    xz = len(_run_bytes(["xz", "-9", "-T2", "-c", str(tar)]))
    zstd = len(_run_bytes(["zstd", "-19", "-T2", "-c", str(tar)]))
    return {"disk": on_disk / mib, "apparent": apparent / mib, "xz": xz / mib, "zstd": zstd / mib}


def _run_bytes(argv: list[str]) -> bytes:
    return subprocess.run(argv, check=True, capture_output=True).stdout


def _table(runs: int, work: Path, tree: Path, build_seconds: float) -> str:
    (work / "pip").mkdir()
    pip_launcher = launcher(work / "pip")
    wall, cpu = _start(runs, pip_launcher)
    rss = _rss(pip_launcher)
    size = _sizes(tree, work)
    ratio = wall["bundle"] / wall["pip"]
    cpu_ratio = cpu["bundle"] / cpu["pip"]
    rows = [
        "| row | bundle | pip launcher | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
        f"| start as PID 1, `-- /bin/true`, median wall ms | {wall['bundle']:.1f} "
        f"| {wall['pip']:.1f} | {ratio:.2f}x | ≤ 1.0x | {_verdict(ratio <= 1.0)} |",
        f"| the same, mean CPU ms (user+sys) | {cpu['bundle']:.1f} | {cpu['pip']:.1f} "
        f"| {cpu_ratio:.2f}x | — | |",
        f"| bare interpreter `-I -S -c pass` as PID 1, median wall ms "
        f"| {wall['bundle python']:.1f} | {wall['pip python']:.1f} "
        f"| {wall['bundle python'] / wall['pip python']:.2f}x | — | |",
        f"| the PID namespace alone (`/bin/true` as PID 1), median wall ms "
        f"| {wall['namespace']:.1f} | {wall['namespace']:.1f} | — | — | |",
        f"| PID 1's RSS over `sleep`, KiB | {rss['bundle']} | {rss['pip']} "
        f"| {rss['bundle'] / rss['pip']:.2f}x | — | |",
        f"| size on disk (du), MiB | {size['disk']:.1f} | — | — | ≤ 40 | "
        f"{_verdict(size['disk'] <= 40)} |",
        f"| apparent size, MiB | {size['apparent']:.1f} | — | — | — | |",
        f"| tar.xz (-9), MiB | {size['xz']:.1f} | — | — | ≤ 15 | {_verdict(size['xz'] <= 15)} |",
        f"| tar.zst (-19), MiB | {size['zstd']:.1f} | — | — | ≤ 15 | "
        f"{_verdict(size['zstd'] <= 15)} |",
        f"| build, downloads cached, s | {build_seconds:.0f} | — | — | ≤ 300 | "
        f"{_verdict(build_seconds <= 300)} |",
    ]
    return "\n".join(rows) + "\n"


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
