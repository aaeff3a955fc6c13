"""Load bench: guestinit as PID 1 with thousands of units (issue 12, item 5).

    .venv/bin/python bench/load.py [--units N] [--record]

One PID + mount namespace, guestinit as its PID 1 with a private /run, the
main process `programs/signal_clock.c` (stamps CLOCK_MONOTONIC in its
SIGUSR1 handler). Rows:

- one `start` request naming N units (default 2,000) chained by After=, half
  targets, half `Type=oneshot` + `RemainAfterExit=yes` services with only an
  ExecStop= ("no spawn": what is measured is the manager, not fork+exec),
  answered when every unit is active: request -> answer wall time;
- the loop's longest stall meanwhile: a SIGUSR1 is sent to PID 1 every ~2 ms
  (one in flight at a time) and the main process stamps its arrival; the
  largest kill -> handler delay is how long PID 1's loop was kept from
  forwarding it;
- PID 1's VmRSS before, after the start and after a daemon-reload, and VmHWM;
- `status` of every unit over the socket (request -> whole answer, median of
  5) and the `guestinit ctl status` command (process start to exit, median of
  5); daemon-reload over the socket, with the loop's longest stall;
- a ring of 200 units ordered in a cycle: how many "ordering cycle" lines;
- a unit with a 16 MB Description= (refused with file:line) and the status
  of every other unit afterwards.

The socket is reached from outside at /proc/PID/root/run/guestinit/control.sock.
"""

import contextlib
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--mount", "--kill-child")
sys.path.insert(0, str(REPO))

from bench.units import PY, SYSTEM_PATH, guestinit  # noqa: E402


def compile_clock(folder: Path) -> Path:
    binary = folder / "signal_clock"
    source = REPO / "bench" / "programs" / "signal_clock.c"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def write_units(units: Path, count: int) -> list[str]:
    names: list[str] = []
    for index in range(count):
        kind = "target" if index % 2 == 0 else "service"
        name = f"chain{index}.{kind}"
        text = f"[Unit]\nDescription=chain unit {index}\nDefaultDependencies=no\n"
        if names:
            text += f"After={names[-1]}\n"
        if kind == "service":
            text += "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStop=/bin/true\n"
        (units / name).write_text(text)
        names.append(name)
    for index in range(200):
        (units / f"ring{index}.target").write_text(
            f"[Unit]\nDefaultDependencies=no\nAfter=ring{(index + 1) % 200}.target\n"
        )
    return names


class Pid1:
    """guestinit as PID 1 of a PID + mount namespace, its log in a file."""

    def __init__(self, folder: Path, units: Path, clock: Path) -> None:
        self.fifo = folder / "clock.fifo"
        os.mkfifo(self.fifo)
        self.log_path = folder / "guestinit.log"
        script = 'mount --make-rprivate /\nmount -t tmpfs tmpfs /run\nexec "$@"'
        main = f"exec {clock} > {self.fifo}"
        # One boot unit, or the service manager is not loaded at all.
        (units / "idle.target").write_text("[Unit]\nDefaultDependencies=no\n")
        command = guestinit(units, "--start=idle.target", "--no-wait", "--", "sh", "-c", main)
        self._read_fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [*UNSHARE, "sh", "-ec", script, "sh", *command],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={"PATH": SYSTEM_PATH},
            )
        self._buffer = b""
        if self.line(30) != "ready":
            raise RuntimeError("signal_clock did not start")
        self.pid = self._init_pid()
        self.socket_path = f"/proc/{self.pid}/root/run/guestinit/control.sock"
        deadline = time.monotonic() + 30
        while not os.path.exists(self.socket_path):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no control socket; log: {self.log_path.read_text()}")
            time.sleep(0.01)

    def _init_pid(self) -> int:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent = int(stat[stat.rfind(")") + 2 :].split()[1])
                unshare = os.readlink(f"/proc/{entry}/exe").endswith("unshare")
                if parent == self.process.pid and not unshare:
                    return int(entry)
        raise RuntimeError("no init found")

    def line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read_fd], [], [], left)[0]:
                raise TimeoutError("no line from signal_clock")
            chunk = os.read(self._read_fd, 4096)
            if not chunk:
                time.sleep(0.001)  # before the writer opened it
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\n")
        return text.decode()

    def status_kib(self, key: str) -> int:
        for row in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if row.startswith(key + ":"):
                return int(row.split()[1])
        raise KeyError(key)

    def request(self, verb: str, **args: object) -> tuple[dict[str, object], float]:
        """One request on a fresh connection: (response, seconds to the whole answer)."""
        message = json.dumps({"id": 1, "verb": verb, "args": args}).encode() + b"\n"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.socket_path)
            sock.settimeout(300)
            begin = time.perf_counter()
            sock.sendall(message)
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            elapsed = time.perf_counter() - begin
        return json.loads(data), elapsed

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)
        os.close(self._read_fd)


class StallProbe(threading.Thread):
    """SIGUSR1 to PID 1 over and over, one in flight: the kill -> handler delays."""

    def __init__(self, run: Pid1) -> None:
        super().__init__(daemon=True)
        self.run_ = run
        self.delays: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            os.kill(self.run_.pid, signal.SIGUSR1)
            stamp = int(self.run_.line(60))
            self.delays.append((stamp - sent) / 1e6)
            time.sleep(0.002)

    def __enter__(self) -> "StallProbe":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(60)


def ctl_status_command(run: Pid1) -> float:
    begin = time.perf_counter()
    subprocess.run(
        [PY, "-m", "guestinit", "ctl", "--socket", run.socket_path, "status"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - begin


def measure(count: int) -> list[tuple[str, str, str, bool | None]]:
    with tempfile.TemporaryDirectory(prefix="guestinit-load-") as tmp:
        folder = Path(tmp)
        units = folder / "units"
        units.mkdir()
        names = write_units(units, count)
        clock = compile_clock(folder)
        run = Pid1(folder, units, clock)
        try:
            rss_before = run.status_kib("VmRSS")
            print("measuring: the stall probe against an idle PID 1", file=sys.stderr)
            with StallProbe(run) as probe:
                time.sleep(2)
            idle_stall, idle_median = max(probe.delays), statistics.median(probe.delays)
            print(f"measuring: start of {count} units", file=sys.stderr)
            with StallProbe(run) as probe:
                answer, start_s = run.request("start", units=names)
                time.sleep(0.2)
            if not answer.get("ok"):
                raise RuntimeError(f"start: {answer}")
            jobs = answer["result"]["jobs"]  # type: ignore[index]
            done = sum(1 for job in jobs if job["result"] == "done")
            start_stall = max(probe.delays)
            rss_started = run.status_kib("VmRSS")
            print("measuring: status", file=sys.stderr)
            status_times = [run.request("status")[1] for _ in range(5)]
            status, _ = run.request("status")
            listed = len(status["result"]["units"])  # type: ignore[index]
            command_times = [ctl_status_command(run) for _ in range(5)]
            print("measuring: daemon-reload", file=sys.stderr)
            with StallProbe(run) as probe:
                _, reload_s = run.request("daemon-reload")
                time.sleep(0.2)
            reload_stall = max(probe.delays)
            rss_reload = run.status_kib("VmRSS")
            print("measuring: a ring of 200", file=sys.stderr)
            run.request("start", units=[f"ring{i}.target" for i in range(200)], no_block=False)
            (units / "huge.service").write_text(
                "[Unit]\nDescription=" + "d" * 16_000_000 + "\n[Service]\nExecStart=/bin/true\n"
            )
            huge, _ = run.request("status", units=["huge.service", names[0]])
            after_huge, _ = run.request("status")
            rss_end = run.status_kib("VmRSS")
            hwm = run.status_kib("VmHWM")
        finally:
            run.close()
        log = run.log_path.read_text(errors="replace")
    cycles = sum(1 for row in log.splitlines() if "ordering cycle" in row)
    refused = [row for row in log.splitlines() if "huge.service" in row and "MiB" in row]
    huge_units = [u["name"] for u in huge["result"]["units"]]  # type: ignore[index]
    mib = 1024
    return [
        (
            "baseline: loop stall probe against an idle PID 1 (the machine's noise)",
            f"longest {idle_stall:.1f} ms (median {idle_median:.2f})",
            "info",
            None,
        ),
        (
            f"start of {count} chained units, request → answer",
            f"{start_s:.2f} s ({done} done)",
            "≤ 2 s",
            start_s <= 2 and done == count,
        ),
        (
            "longest loop stall during that start (kill → main's handler)",
            f"{start_stall:.1f} ms (median {statistics.median(probe.delays):.2f})",
            "≤ 50 ms",
            start_stall <= 50,
        ),
        (
            "PID-1 VmRSS: before → after start → after daemon-reload → end (VmHWM)",
            f"{rss_before / mib:.1f} → {rss_started / mib:.1f} → {rss_reload / mib:.1f} → "
            f"{rss_end / mib:.1f} MiB ({hwm / mib:.1f})",
            "≤ 40 MiB",
            max(rss_started, rss_reload, rss_end, hwm) <= 40 * mib,
        ),
        (
            f"`status` of all {listed} units over the socket, median",
            f"{statistics.median(status_times) * 1000:.0f} ms",
            "≤ 200 ms",
            statistics.median(status_times) <= 0.2,
        ),
        (
            "`guestinit ctl status` command (process start → exit), median",
            f"{statistics.median(command_times) * 1000:.0f} ms",
            "info",
            None,
        ),
        (
            f"daemon-reload with {listed} units, request → answer",
            f"{reload_s:.2f} s, longest stall {reload_stall:.1f} ms",
            "stall ≤ 50 ms",
            reload_stall <= 50,
        ),
        ("ordering-cycle lines for a ring of 200 (+ the reload)", str(cycles), "1", cycles == 1),
        (
            "16 MB Description=: refusal lines; status of it and another unit",
            f"{len(refused)}; answered, units {huge_units}, missing {huge['result']['missing']}",  # type: ignore[index]
            "refused with file:line, others fine",
            len(refused) >= 1 and names[0] in huge_units and bool(after_huge.get("ok")),
        ),
    ]


def main(args: list[str]) -> int:
    count = int(args[args.index("--units") + 1]) if "--units" in args else 2000
    rows = measure(count)
    lines = ["| row | guestinit | target | verdict |", "|---|---|---|---|"]
    for label, value, target, met in rows:
        verdict = "info" if met is None else ("met" if met else "**missed**")
        lines.append(f"| {label} | {value} | {target} | {verdict} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if "--record" in args:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = os.getloadavg()[0]
        with open(REPO / "bench" / "RESULTS.md", "a") as results:
            results.write(
                f"\n## {stamp} — bench/load.py ({count} units)\n\n"
                f"kernel `{os.uname().release}`; nproc {os.cpu_count()}; "
                f"1-min load average at the end {load:.1f} (a shared machine).\n\n{table}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
