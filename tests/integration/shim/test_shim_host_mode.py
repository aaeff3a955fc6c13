"""``procshim serve`` in host mode (like LXCFS): one mount, every reader gets
its own cgroup's view (issue #5).

Real: the server on a temporary mount point of this machine's mount
namespace, v1 cgroups with different limits, reader processes in each at the
same time, a child PID namespace for ``--view init``, and kill -9 of the
server with the recovery an operator (or a restarted server) performs.
"""

import contextlib
import errno
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cgroups import V1Group, v1_group
from tests.integration.shim.needs import SHIM_NEEDS

MEMINFO = "/proc/meminfo"
ONLINE = "/sys/devices/system/cpu/online"
HOST_KB = int(Path(MEMINFO).read_text().split()[1])
HOST_ONLINE = Path(ONLINE).read_text()
SAMPLING_SECONDS = 2.0

# Reads MNT's two files in a loop for SECONDS: [MemTotal kB, online text] per
# sample, and the reader's own cgroups, as JSON.
READER = """\
import json, sys, time
mnt, seconds = sys.argv[1], float(sys.argv[2])
samples = []
end = time.monotonic() + seconds
while True:
    now = time.monotonic()
    with open(mnt + "/proc/meminfo", "rb") as file:
        total = int(file.readline().split()[1])
    with open(mnt + "/sys/devices/system/cpu/online") as file:
        online = file.read()
    samples.append([now, total, online])
    if now > end:
        break
    time.sleep(0.002)
print(json.dumps({"samples": samples, "cgroup": open("/proc/self/cgroup").read()}))
"""

pytestmark = SHIM_NEEDS


def host_cpu_count() -> int:
    count = 0
    for part in HOST_ONLINE.strip().split(","):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


def online_text(cpus: int) -> str:
    return "0\n" if cpus == 1 else f"0-{cpus - 1}\n"


def mounted(path: Path) -> bool:
    points = (line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    return str(path) in points


def procshim_mounts_at(path: Path) -> int:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return sum(1 for line in lines if line.split()[4] == str(path) and "procshim" in line)


class HostServer:
    """One ``procshim serve MNT -f --pidfile F`` process, ended by its pid."""

    def __init__(self, mountpoint: Path, *options: str) -> None:
        self.mountpoint = mountpoint
        self.pidfile = mountpoint.with_name(mountpoint.name + ".pid")
        self.log = mountpoint.with_name(f"{mountpoint.name}.{time.monotonic_ns()}.log")
        command = [sys.executable, "-m", "procshim", "serve", str(mountpoint), "-f"]
        command += ["--pidfile", str(self.pidfile), *options]
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        # The pid file is written once the mount serves (start() reads a file
        # back); not atomically, so wait for its whole line.
        deadline = time.monotonic() + 20
        while not self._pidfile_text().endswith("\n"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"procshim serve did not start: {self.log.read_text()}")
            time.sleep(0.02)
        assert int(self._pidfile_text()) == self.process.pid

    def _pidfile_text(self) -> str:
        try:
            return self.pidfile.read_text()
        except FileNotFoundError:
            return ""

    def kill_9(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def serving(mountpoint: Path, *options: str) -> Iterator[HostServer]:
    """The server, stopped afterwards; whatever is still mounted there is lazily unmounted."""
    servers: list[HostServer] = []
    try:
        servers.append(HostServer(mountpoint, *options))
        yield servers[0]
    finally:
        for server in servers:
            server.stop()
        lazy_unmount(mountpoint)


def lazy_unmount(mountpoint: Path) -> None:
    while mounted(mountpoint):
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def memory_cgroup(proc_cgroup: str) -> str:
    """The memory controller's path in a /proc/PID/cgroup text."""
    line = next(line for line in proc_cgroup.splitlines() if ":memory:" in line)
    return line.split(":", 2)[2]


def start_reader(
    mountpoint: Path, group: V1Group | None, seconds: float = SAMPLING_SECONDS
) -> subprocess.Popen[str]:
    """A reader process, in ``group`` when given (it moves itself in before exec)."""
    enter = group.enter_script() if group else ":"
    script = f'{enter}\nexec "$@"'
    reader = [sys.executable, "-I", "-S", "-c", READER, str(mountpoint), str(seconds)]
    return subprocess.Popen(["sh", "-ec", script, "sh", *reader], stdout=subprocess.PIPE, text=True)


def collect(*readers: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """Each reader's JSON; any still running on the way out is killed."""
    try:
        outputs = [reader.communicate(timeout=30)[0] for reader in readers]
    finally:
        for reader in readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
    assert [reader.returncode for reader in readers] == [0] * len(readers)
    return [json.loads(out) for out in outputs]


@dataclass(frozen=True)
class Limited:
    group: V1Group
    sees: list[Any]  # [MemTotal kB, online text] that its readers must get


@pytest.fixture(scope="module")
def groups() -> Iterator[dict[str, Limited]]:
    """A: 512M, 0.5 CPU on cpuset 0. B: 256M, 1.5 CPUs of quota on every CPU.
    C: no memory limit, 0.5 CPU of quota on every CPU (the quota alone cuts CPUs)."""
    with (
        v1_group(memory=512 * 2**20, quota_us=50_000, cpus="0") as a,
        v1_group(memory=256 * 2**20, quota_us=150_000, cpus=None) as b,
        v1_group(memory=None, quota_us=50_000, cpus=None) as c,
    ):
        yield {
            "A": Limited(a, [512 * 1024, "0\n"]),
            "B": Limited(b, [256 * 1024, online_text(min(math.ceil(1.5), host_cpu_count()))]),
            "C": Limited(c, [HOST_KB, "0\n"]),
        }


def test_concurrent_readers_each_see_only_their_own_cgroup(
    groups: dict[str, Limited], tmp_path: Path
) -> None:
    mountpoint = tmp_path / "mnt"
    with serving(mountpoint):
        readers = [start_reader(mountpoint, limited.group) for limited in groups.values()]
        readers.append(start_reader(mountpoint, None))
        found = dict(zip([*groups, "outside"], collect(*readers), strict=True))
    expected = {name: limited.sees for name, limited in groups.items()}
    expected["outside"] = [HOST_KB, HOST_ONLINE]
    for name, limited in groups.items():
        assert str(limited.group.dirs["memory"]).endswith(memory_cgroup(found[name]["cgroup"]))
    for name, readings in found.items():
        samples = readings["samples"]
        assert len(samples) > 20, name
        wrong = [s for s in samples if s[1:] != expected[name]]
        assert not wrong, f"{name} saw {wrong[:5]} ({len(wrong)} of {len(samples)})"
    # They really read at the same time.
    starts = [readings["samples"][0][0] for readings in found.values()]
    ends = [readings["samples"][-1][0] for readings in found.values()]
    assert max(starts) < min(ends)


def test_view_init_answers_for_the_namespace_init_and_caller_for_the_reader(
    groups: dict[str, Limited], tmp_path: Path
) -> None:
    a, b = groups["A"].group, groups["B"].group
    caller_mnt, init_mnt = tmp_path / "caller", tmp_path / "init"
    # The namespace's init (a shell) enters A and stays; its child enters B
    # and reads both mounts, then prints which cgroups the two are in.
    both = (
        "import json, subprocess, sys\n"
        "def total(p):\n"
        "    return int(open(p + '/proc/meminfo').readline().split()[1])\n"
        "print(json.dumps({'caller': total(sys.argv[1]), 'init': total(sys.argv[2]),\n"
        "    'init_cgroup': open('/proc/1/cgroup').read(),\n"
        "    'own_cgroup': open('/proc/self/cgroup').read()}))\n"
    )
    child = f'{b.enter_script()}\nexec {sys.executable} -I -S -c "$0" "$@"'
    init = f'{a.enter_script()}\nsh -ec "$0" "$@" &\nwait $!'
    with serving(caller_mnt), serving(init_mnt, "--view", "init"):
        shells = ["sh", "-ec", init, child, both, str(caller_mnt), str(init_mnt)]
        result = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", *shells],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert str(a.dirs["memory"]).endswith(memory_cgroup(found["init_cgroup"]))
    assert str(b.dirs["memory"]).endswith(memory_cgroup(found["own_cgroup"]))
    assert found["init"] == 512 * 1024  # A's: the namespace's init is there
    assert found["caller"] == 256 * 1024  # B's: the reader itself is there


def test_kill_9_leaves_enotconn_until_a_lazy_unmount_then_a_new_server_works(
    tmp_path: Path,
) -> None:
    mountpoint = tmp_path / "mnt"
    with serving(mountpoint) as first:
        assert int(Path(f"{mountpoint}{MEMINFO}").read_text().split()[1]) == HOST_KB
        first.kill_9()
        for path in (f"{mountpoint}{MEMINFO}", f"{mountpoint}{ONLINE}"):
            with pytest.raises(OSError) as failed:
                Path(path).read_bytes()
            assert failed.value.errno == errno.ENOTCONN
        with pytest.raises(OSError) as failed:
            os.stat(mountpoint)
        assert failed.value.errno == errno.ENOTCONN
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)
        assert os.listdir(mountpoint) == []  # the plain directory again
    with serving(mountpoint):
        assert Path(f"{mountpoint}{ONLINE}").read_text() == HOST_ONLINE
        assert procshim_mounts_at(mountpoint) == 1


def test_a_new_server_on_a_dead_ones_mount_clears_it_first(
    groups: dict[str, Limited], tmp_path: Path
) -> None:
    mountpoint = tmp_path / "mnt"
    with serving(mountpoint) as dead:
        dead.kill_9()
        with pytest.raises(OSError) as failed:
            Path(f"{mountpoint}{MEMINFO}").read_bytes()
        assert failed.value.errno == errno.ENOTCONN
        assert procshim_mounts_at(mountpoint) == 1
        # No umount by hand: the new server detaches the dead mount at start.
        with serving(mountpoint) as second:
            assert procshim_mounts_at(mountpoint) == 1  # replaced, not stacked
            (reader,) = collect(start_reader(mountpoint, groups["A"].group, 0.3))
            assert {tuple(s[1:]) for s in reader["samples"]} == {tuple(groups["A"].sees)}
        assert b"Traceback" not in second.log.read_bytes()


BUSYBOX = shutil.which("busybox")


@pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")
def test_busybox_cat_copies_with_sendfile_and_gets_the_whole_view(
    groups: dict[str, Limited], tmp_path: Path
) -> None:
    """busybox's cat copies with sendfile(), which reads through the page
    cache up to st_size (procfs's 0 would give it nothing); coreutils' cat
    uses read(). Both must print the same whole view."""
    mountpoint = tmp_path / "mnt"
    files = [str(mountpoint / name) for name in ("proc/meminfo", "proc/cpuinfo", "proc/swaps")]
    enter = groups["A"].group.enter_script()
    outputs = {}
    with serving(mountpoint):
        for cat in (f"{BUSYBOX} cat", "cat"):
            script = f'{enter}\nfor f; do {cat} "$f"; echo "--end--"; done'
            done = subprocess.run(
                ["sh", "-ec", script, "sh", *files],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            outputs[cat] = done.stdout.split("--end--\n")
    meminfo, cpuinfo, swaps, _ = outputs[f"{BUSYBOX} cat"]
    assert meminfo.startswith("MemTotal:         524288 kB\n"), meminfo[:200]
    assert len(re.findall(r"^processor\s*:", cpuinfo, re.M)) == 1
    for busybox_text, read_text in zip(outputs[f"{BUSYBOX} cat"], outputs["cat"], strict=True):
        # Numbers move between the two reads; the lines and their names do not.
        assert [line.split(":")[0] for line in busybox_text.splitlines()] == [
            line.split(":")[0] for line in read_text.splitlines()
        ]
    assert swaps.startswith("Filename")
