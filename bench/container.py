"""Container bench: `podman run` to ready, and `podman stop` with the four
units against the slowest unit's own stop.

    .venv/bin/python bench/container.py [--runs N]

Same image and runtime as the tests (built on first use). Rows, medians of N:

- run -> ready: `podman run -d` started -> the log file holds the start lines
  of cron, rsyslog and ssh and sshd's "Server listening" (the file is
  podman's k8s-file log, polled every 5 ms; podman stamps each line).
- stop: `podman stop` started -> returned, the container running all units;
  and started -> the container exited (podman's State.FinishedAt).
- stop inside guestinit: the stamps of guestinit's "stopping units" line and
  of the container's last line.
- each daemon's own stop: SIGTERM to its main process -> gone, timed inside
  the container; and `guestinit ctl stop UNIT`, less the client's own cost.
- stop, no units: `podman stop` of a container whose units are hidden
  (--tmpfs /etc/guestinit/units) and whose main process exits on SIGTERM:
  podman's and runc's own share of the stop.
"""

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a file: the repo root (for the tests' image builder) goes on the path first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.system.container import image
from tests.system.container.podman import Podman

UNITS = ("ssh.service", "cron.service", "rsyslog.service")
READY_LINES = ("cron.service: started", "rsyslog.service: started", "Server listening on")
RUN_OPTIONS = (
    "--memory", "512m", "--cpus", "1", "--device", "/dev/fuse", "--cap-add", "SYS_ADMIN",
    "--network", "none", "--env", "GUESTINIT_LOG_LEVEL=info",
)  # fmt: skip
POLL = 0.005


def _stamped(log: Path) -> list[tuple[datetime.datetime, str]]:
    """k8s-file lines: "TIME STREAM P|F MESSAGE"."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            lines.append((datetime.datetime.fromisoformat(parts[0]), parts[3]))
    return lines


def run_to_ready(podman: Podman, name: str, tag: str, log: Path, *extra: str) -> float:
    started = time.monotonic()
    podman.run(
        "run", "--detach", "--name", name, "--log-driver", "k8s-file",
        "--log-opt", f"path={log}", *RUN_OPTIONS, *extra, tag,
    )  # fmt: skip
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        if all(line in text for line in READY_LINES):
            return time.monotonic() - started
        if time.monotonic() - started > 60:
            raise RuntimeError(f"{name} not ready after 60 s:\n{text}")
        time.sleep(POLL)


def timed_stop(podman: Podman, name: str) -> tuple[float, float]:
    """(`podman stop` started -> returned, started -> the container's
    processes gone: podman's State.FinishedAt, on the same wall clock)."""
    issued, started = time.time(), time.monotonic()
    podman.run("stop", "--time", "10", name)
    took = time.monotonic() - started
    state = json.loads(podman.run("inspect", name).stdout)[0]["State"]
    finished = datetime.datetime.fromisoformat(state["FinishedAt"]).timestamp()
    return took, finished - issued


def inner_stop(log: Path) -> float:
    """From guestinit's "stopping units" to the container's last line."""
    lines = _stamped(log)
    begin = next(when for when, text in lines if "stopping units" in text)
    return (lines[-1][0] - begin).total_seconds()


def own_stops(podman: Podman, name: str) -> dict[str, tuple[float, float]]:
    """Per unit: (the daemon's own stop: SIGTERM to its main process -> that
    process gone or a zombie, busy-polled in the container; `guestinit ctl
    stop UNIT` -> returned, less a `guestinit ctl is-active` for the client's
    cost). The first is done on one container's units, the second after each
    was started again."""
    script = (
        'ns() { date +%s%N; }; for u in "$@"; do '
        "pid=$(guestinit ctl show -p MainPID $u | cut -d= -f2); a=$(ns); kill -TERM $pid; "
        'while [ -d /proc/$pid ] && ! grep -q "^State:.*Z" /proc/$pid/status 2>/dev/null; '
        "do :; done; b=$(ns); echo own $u $((b - a)); done; sleep 0.5; "
        'for u in "$@"; do guestinit ctl start $u; done; '
        'for u in "$@"; do a=$(ns); guestinit ctl is-active $u >/dev/null; b=$(ns); '
        "guestinit ctl stop $u; c=$(ns); echo ctl $u $((c - b - (b - a))); done"
    )
    done = podman.run("exec", name, "sh", "-c", script, "sh", *UNITS, timeout=60)
    own: dict[str, float] = {}
    ctl: dict[str, float] = {}
    for line in done.stdout.splitlines():
        kind, unit, nanoseconds = line.split()
        (own if kind == "own" else ctl)[unit] = max(0, int(nanoseconds)) / 1e9
    return {unit: (own[unit], ctl[unit]) for unit in UNITS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    podman = Podman.create()
    tag = image.guestinit_image(podman)
    ready: list[float] = []
    stops: list[float] = []
    inner: list[float] = []
    bare: list[float] = []
    stops_exited: list[float] = []
    bare_exited: list[float] = []
    slowest: list[float] = []
    per_unit: dict[str, list[float]] = {unit: [] for unit in UNITS}
    per_unit_ctl: dict[str, list[float]] = {unit: [] for unit in UNITS}
    with tempfile.TemporaryDirectory(prefix="guestinit-measure.") as folder:
        for run in range(runs):
            name, log = f"guestinit-measure-{run}", Path(folder) / f"{run}.log"
            try:
                ready.append(run_to_ready(podman, name, tag, log))
                took, exited = timed_stop(podman, name)
                stops.append(took)
                stops_exited.append(exited)
                inner.append(inner_stop(log))
            finally:
                podman.run("rm", "--force", "--time", "0", name, check=False)
            name = f"guestinit-measure-own-{run}"
            try:
                run_to_ready(podman, name, tag, Path(folder) / f"own-{run}.log")
                own = own_stops(podman, name)
                for unit, (alone, through_ctl) in own.items():
                    per_unit[unit].append(alone)
                    per_unit_ctl[unit].append(through_ctl)
                slowest.append(max(alone for alone, _ in own.values()))
            finally:
                podman.run("rm", "--force", "--time", "0", name, check=False)
            name = f"guestinit-measure-bare-{run}"
            try:
                podman.run(
                    "run", "--detach", "--name", name, *RUN_OPTIONS,
                    "--tmpfs", "/etc/guestinit/units", tag,
                    "sh", "-c", 'trap "exit 0" TERM; while :; do sleep 0.05; done',
                )  # fmt: skip
                time.sleep(0.5)
                took, exited = timed_stop(podman, name)
                bare.append(took)
                bare_exited.append(exited)
            finally:
                podman.run("rm", "--force", "--time", "0", name, check=False)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:7.0f} ms"

    version = podman.run("--version").stdout.split()[-1]
    print(f"container bench, median of {runs} (podman {version}, runc)")
    print(f"  podman run -> ready (3 units + sshd listening) {ms(ready)}")
    print(f"  podman stop, four units                        {ms(stops)}")
    print(f"    of which guestinit's stop (log stamps)       {ms(inner)}")
    print(f"    stop issued -> container exited              {ms(stops_exited)}")
    print(f"  podman stop, no units                          {ms(bare)}")
    print(f"    stop issued -> container exited              {ms(bare_exited)}")
    for unit, values in per_unit.items():
        print(f"  {unit + ': SIGTERM -> gone':46} {ms(values)}")
        print(f"  {unit + ': guestinit ctl stop':46} {ms(per_unit_ctl[unit])}")
    print(f"  slowest daemon's own stop                      {ms(slowest)}")
    overhead = statistics.median(stops_exited) - statistics.median(bare_exited)
    print(f"  exited(four units) - exited(no units)          {overhead * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
