"""What ``bench/pid1.py`` does: check the machine, run every scenario once,
turn the numbers into rows with their targets, print (and maybe record)."""

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import _contenders, _programs, _scenarios
from bench._table import Row, machine_section, markdown

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ORPHANS = 10_000


@dataclass(frozen=True)
class Sizes:
    startup_runs: int
    burst_repeats: int
    signal_samples: int
    idle_seconds: float
    first_exec_runs: int


FULL = Sizes(40, burst_repeats=5, signal_samples=300, idle_seconds=30, first_exec_runs=30)
QUICK = Sizes(20, burst_repeats=3, signal_samples=200, idle_seconds=10, first_exec_runs=12)


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/pid1.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples, 10 s idle")
    parser.add_argument("--record", action="store_true", help=f"append the table to {RESULTS}")
    options = parser.parse_args(args)
    problem = _missing_prerequisite()
    if problem:
        print(f"bench/pid1.py: {problem}", file=sys.stderr)
        return 1
    sizes = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="guestinit-bench-") as directory:
        rows = measure(Path(directory), sizes)
    table = markdown(rows)
    print(table, end="")
    if options.record:
        mode = "--quick" if options.quick else "full run"
        new = not RESULTS.exists()
        with RESULTS.open("a") as results:
            if new:
                results.write("# Benchmark results\n\nAppended by `bench/pid1.py --record`.\n")
            results.write(machine_section("bench/pid1.py", table, [mode]))
    return 0


def _missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root (every init runs in its own PID namespace)"
    for tool in ("unshare", "gcc", "hyperfine", "/usr/bin/tini", "/usr/bin/dumb-init"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


def _progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def measure(directory: Path, sizes: Sizes) -> list[Row]:
    programs = _programs.build(directory)
    inits = _contenders.inits(directory)
    guestinit = inits[0].argv[0]
    _progress(f"startup: {sizes.startup_runs} runs each (hyperfine -N)")
    startup_commands: dict[str, list[str]] = {"floor": list(_contenders.FLOOR)}
    startup_commands.update({init.name: [*init.argv, "true"] for init in inits})
    info = {
        "console script": [_contenders.venv_console_script() or "", "--", "true"],
        "python -m": [_contenders.venv_python(), "-m", "guestinit", "--", "true"],
        "no subreaper": [guestinit, "--no-subreaper", "--", "true"],
    }
    if not info["console script"][0]:
        del info["console script"]
    startup = _scenarios.startup_ms({**startup_commands, **info}, sizes.startup_runs)
    _progress(f"as PID 1 with defaults: init exec -> main exec, {sizes.first_exec_runs} runs each")
    first_exec = _first_exec(directory, programs.exec_clock, inits, sizes.first_exec_runs)
    _progress(f"RSS and idle CPU over {sizes.idle_seconds:g} s (all inits at once)")
    resident = _scenarios.resident(inits, sizes.idle_seconds)
    _progress(f"reap burst of {ORPHANS} orphans, {sizes.burst_repeats} runs each")
    burst = _scenarios.reap_burst(inits, programs.orphan_burst, ORPHANS, sizes.burst_repeats)
    _progress(f"signal forwarding, {sizes.signal_samples} samples each")
    latency = _scenarios.signal_latency(inits, programs.signal_clock, sizes.signal_samples)
    return [
        *_startup_rows(startup, sizes),
        *_first_exec_rows(first_exec, sizes),
        Row(
            "PID-1 RSS, MiB (VmRSS over `sleep`)",
            {name: kib / 1024 for name, kib in resident.rss_kib.items()},
            anchor="floor",
        ),
        *_burst_rows(burst, sizes),
        Row(
            "signal forward kill → handler, median ms",
            {name: value.median_ms for name, value in latency.items()},
            anchor="tini",
            digits=3,
            target="≤ 2 ms",
            met=latency["guestinit"].median_ms <= 2.0,
        ),
        Row(
            "  · p99 ms (info)",
            {name: value.p99_ms for name, value in latency.items()},
            anchor="tini",
            digits=3,
        ),
        Row(
            f"idle CPU ticks over {sizes.idle_seconds:g} s (utime+stime)",
            {name: float(ticks) for name, ticks in resident.idle_ticks.items()},
            anchor=None,
            digits=0,
            target="0",
            met=resident.idle_ticks["guestinit"] == 0,
        ),
        Row(
            "  · idle CPU µs (sched runtime, info)",
            dict(resident.idle_cpu_us),
            anchor=None,
        ),
    ]


def _first_exec(
    directory: Path, clock: Path, inits: list[_contenders.Init], runs: int
) -> dict[str, float]:
    """guestinit with its defaults (procshim on: /dev/fuse is here) beside
    itself without the shim, tini and dumb-init. The FUSE server runs on the
    system interpreter with this venv's packages (mfusepy) on its path."""
    launcher = _scenarios.defaults_launcher(directory, _contenders.REPO)
    contenders: dict[str, list[str]] = {
        "guestinit": [str(launcher), "--"],
        "no procshim": [str(launcher), "--no-procshim", "--"],
    }
    contenders.update({i.name: list(i.argv) for i in inits if i.name != "guestinit"})
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site)}
    env.pop("GUESTINIT_PROCSHIM", None)
    return _scenarios.first_exec_ms(contenders, clock, runs, env)


def _first_exec_rows(first_exec: dict[str, float], sizes: Sizes) -> list[Row]:
    floor = first_exec["floor"]
    main = {name: first_exec[name] for name in ("guestinit", "tini", "dumb-init", "floor")}
    return [
        Row(
            f"as PID 1 with defaults: init exec → main exec, median ms of {sizes.first_exec_runs}",
            main,
            anchor="floor",
            digits=2,
            target="≤ 1.3x floor",
            met=main["guestinit"] <= 1.3 * floor,
        ),
        Row(
            "  · the same with `--no-procshim` (info)",
            {"guestinit": first_exec["no procshim"], "floor": floor},
            anchor="floor",
            digits=2,
        ),
    ]


def _startup_rows(startup: dict[str, float], sizes: Sizes) -> list[Row]:
    floor = startup["floor"]
    main = {name: startup[name] for name in ("guestinit", "tini", "dumb-init", "floor")}
    rows = [
        Row(
            f"startup `X -- true`, median ms of {sizes.startup_runs}",
            main,
            anchor="floor",
            digits=2,
            target="≤ 1.3x floor",
            met=main["guestinit"] <= 1.3 * floor,
        )
    ]
    labels = {
        "console script": "  · venv console script (info)",
        "python -m": "  · venv `python -m guestinit` (info)",
        "no subreaper": "  · launcher `--no-subreaper` (info)",
    }
    for key, label in labels.items():
        if key in startup:
            rows.append(Row(label, {"guestinit": startup[key], "floor": floor}, "floor", 2))
    return rows


def _burst_rows(burst: dict[str, _scenarios.Burst], sizes: Sizes) -> list[Row]:
    total = {name: value.total_ms for name, value in burst.items()}
    return [
        Row(
            f"reap burst {ORPHANS:,} orphans, ms first fork → none left (median of "
            f"{sizes.burst_repeats})",
            total,
            anchor="tini",
            digits=0,
            target="≤ 1.1x tini",
            met=total["guestinit"] <= 1.1 * total["tini"],
        ),
        Row(
            "  · tail ms: last fork → none left (info)",
            {name: value.tail_ms for name, value in burst.items()},
            anchor="tini",
            digits=2,
        ),
        Row(
            "  · init CPU ms during the burst (info)",
            {name: value.init_cpu_ms for name, value in burst.items()},
            anchor="tini",
            digits=0,
        ),
    ]
