"""guestinit as PID 1 keeps the resource shim mounted: the main process sees
the cgroup's memory from its first read, and a crashed or stopped shim costs
readers at most a moment of real values, never a hang.

Real: a v1 cgroup with 512M / 0.5 CPU / cpuset 0, /dev/fuse, the procshim
server as guestinit's child in a private mount namespace.
"""

import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from guestinit.shim.keeper import HUNG_AFTER
from tests.cgroups import V1Group, v1_available, v1_group
from tests.integration.initrun import InitRun

LIMIT_KB = 512 * 1024
HOST_KB = int(Path("/proc/meminfo").read_text().split()[1])

READER = """\
import sys, time
out = open(sys.argv[1], "w", buffering=1)
while True:
    now = time.monotonic()
    try:
        with open("/proc/meminfo", "rb") as file:
            total = int(file.readline().split()[1])
        out.write(f"{now:.4f} {total}\\n")
    except OSError as error:
        out.write(f"{now:.4f} E{error.errno}\\n")
    time.sleep(0.005)
"""

pytestmark = pytest.mark.skipif(
    not (os.path.exists("/dev/fuse") and v1_available()), reason="needs /dev/fuse and cgroup v1"
)


@pytest.fixture
def group() -> Iterator[V1Group]:
    with v1_group() as made:
        yield made


def start(group: V1Group, tmp_path: Path, *args: str) -> tuple[InitRun, Path]:
    samples = tmp_path / "samples"
    script = tmp_path / "reader.py"
    script.write_text(READER)
    run = InitRun(
        ["-v", "--procshim", "required", *args, "--", sys.executable, str(script), str(samples)],
        setup=f"{group.enter_script()}\nmount -t tmpfs tmpfs /run",
    )
    run.start()
    return run, samples


def read_samples(path: Path) -> list[tuple[float, str]]:
    rows = []
    for line in path.read_text().splitlines():
        when, _, value = line.partition(" ")
        if value:
            rows.append((float(when), value))
    return rows


def wait_for_value(path: Path, value: str, after: float, timeout: float) -> float:
    """When the reader first saw ``value`` after ``after`` (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for when, seen in read_samples(path):
                if when > after and seen == value:
                    return when
        time.sleep(0.05)
    raise TimeoutError(f"reader never saw {value} after {after}")


def shim_pid(run: InitRun) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for child in psutil.Process(run.init_pid()).children():
            if "procshim" in " ".join(child.cmdline()):
                return child.pid
        time.sleep(0.05)
    raise TimeoutError("no procshim child")


def test_main_process_sees_the_limit_from_its_first_read(group: V1Group, tmp_path: Path) -> None:
    run, samples = start(group, tmp_path)
    try:
        wait_for_value(samples, str(LIMIT_KB), 0, 20)
        first = read_samples(samples)[0]
        assert first[1] == str(LIMIT_KB)  # the main process started after the binds
    finally:
        run.cleanup()


def test_kill_9_of_the_shim_gives_real_values_at_once_then_the_shim_again(
    group: V1Group, tmp_path: Path
) -> None:
    run, samples = start(group, tmp_path)
    try:
        wait_for_value(samples, str(LIMIT_KB), 0, 20)
        killed_at = time.monotonic()
        os.kill(shim_pid(run), signal.SIGKILL)
        real_at = wait_for_value(samples, str(HOST_KB), killed_at, 10)
        back_at = wait_for_value(samples, str(LIMIT_KB), real_at, 10)
        print(f"real values {1000 * (real_at - killed_at):.0f} ms after kill -9,")
        print(f"shim values again {1000 * (back_at - killed_at):.0f} ms after")
        # Generous bounds (the targets are 100 ms and 1 s; see bench/RESULTS.md).
        assert real_at - killed_at < 2.0
        assert back_at - killed_at < 5.0
        errors = [v for t, v in read_samples(samples) if killed_at < t < back_at and v[0] == "E"]
        print(f"{len(errors)} failed reads in between: {sorted(set(errors))}")
    finally:
        run.cleanup()


def test_a_stopped_shim_never_hangs_readers_for_long(group: V1Group, tmp_path: Path) -> None:
    run, samples = start(group, tmp_path)
    try:
        wait_for_value(samples, str(LIMIT_KB), 0, 20)
        stopped_at = time.monotonic()
        os.kill(shim_pid(run), signal.SIGSTOP)
        real_at = wait_for_value(samples, str(HOST_KB), stopped_at, HUNG_AFTER + 10)
        back_at = wait_for_value(samples, str(LIMIT_KB), real_at, 10)
        print(f"real values {real_at - stopped_at:.2f} s after SIGSTOP, shim again after ")
        print(f"{back_at - stopped_at:.2f} s")
        assert real_at - stopped_at < HUNG_AFTER + 5
        times = [t for t, _ in read_samples(samples) if t > stopped_at]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) < HUNG_AFTER + 5  # the reader was blocked, and then freed
    finally:
        run.cleanup()


def test_sigterm_stops_everything_with_the_main_process_code(
    group: V1Group, tmp_path: Path
) -> None:
    run, samples = start(group, tmp_path)
    try:
        wait_for_value(samples, str(LIMIT_KB), 0, 20)
        run.signal(signal.SIGTERM)
        assert run.wait(timeout=30) == 128 + signal.SIGTERM
        assert b"Traceback" not in run.stderr
    finally:
        run.cleanup()


def test_without_dev_fuse_it_says_so_once_and_runs(group: V1Group, tmp_path: Path) -> None:
    run = InitRun(
        ["--procshim", "auto", "--", "sh", "-c", "head -1 /proc/meminfo"],
        setup="mount -t tmpfs tmpfs /run\nmount --bind /dev/null /dev/fuse",
    )
    run.start()
    try:
        assert run.wait(timeout=30) == 0
        assert run.stderr.count(b"resource shim off") == 1
        assert f"{HOST_KB} kB".encode() in run.stdout
    finally:
        run.cleanup()
