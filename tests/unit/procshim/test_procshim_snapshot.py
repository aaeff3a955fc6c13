import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from procshim.cgroup import (
    CpuReadings,
    IoReadings,
    MemoryReadings,
    NoCgroup,
    PressureReadings,
    TaskReadings,
    read_all,
)
from procshim.files import Files
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.render.loadavg import SAMPLE_INTERVAL
from procshim.snapshot import NEEDS, RecentTasks, Snapshots
from procshim.targets import Target, Targets
from procshim.views import VIEWS, Context, render

from tests.unit.procshim.procshim_trees import cpuinfo_with, host, stat_with, tree, write

HOST_UPTIME = 20000.0
INIT_START_TICKS = 500000  # the container's init started 5000 s after boot (at 100 Hz)


def host_texts() -> dict[str, str]:
    """An 8-CPU host's files, as captured on the CI machine."""
    return {
        "/proc/meminfo": host("meminfo"),
        "/proc/cpuinfo": cpuinfo_with(8),
        "/proc/stat": stat_with(8),
        "/proc/uptime": host("uptime"),
        "/proc/loadavg": host("loadavg"),
        "/proc/swaps": host("swaps"),
        "/proc/diskstats": host("diskstats"),
        "/proc/pressure/cpu": host("pressure/cpu"),
        "/proc/pressure/memory": host("pressure/memory"),
        "/proc/pressure/io": host("pressure/io"),
        "/sys/devices/system/cpu/online": "0-7\n",
        "/sys/devices/system/cpu/possible": "0-7\n",
        "/sys/devices/system/cpu/present": "0-7\n",
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recording(NoCgroup):
    """A cgroup that knows nothing and remembers what was asked of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def memory(self) -> MemoryReadings:
        self.calls.append("memory")
        return super().memory()

    def cpu(self) -> CpuReadings:
        self.calls.append("cpu")
        return super().cpu()

    def cpu_limits(self) -> CpuReadings:
        self.calls.append("cpu_limits")
        return super().cpu_limits()

    def io(self) -> IoReadings:
        self.calls.append("io")
        return super().io()

    def tasks(self) -> TaskReadings:
        self.calls.append("tasks")
        return TaskReadings(total=3, running=1, blocked=0)

    def pressure(self) -> PressureReadings:
        self.calls.append("pressure")
        return super().pressure()


def host_files(root: Path, texts: dict[str, str]) -> HostFiles:
    write(root, texts)
    return HostFiles(list(texts), root=root)


@pytest.fixture
def v2_snapshots(tmp_path: Path) -> Iterator[Snapshots]:
    """The v2 fixture's container (pid 1 in /kubepods/pod1/ctr) on an 8-CPU host."""
    cgroups = tree("v2", tmp_path)
    start = f"1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {INIT_START_TICKS} 1 1 1\n"
    write(cgroups, {"/proc/1/cgroup": "0::/kubepods/pod1/ctr\n", "/proc/1/stat": start})
    host = host_files(tmp_path / "host", host_texts())
    loads = LoadTracker(clock=FakeClock())
    yield Snapshots(host, Targets(Files(cgroups)), loads, uptime_clock=lambda: HOST_UPTIME)
    host.close()


# What each file reads from the cgroup; nothing else may be read for it.
READS = {
    "/proc/meminfo": {"memory"},
    "/proc/cpuinfo": {"cpu_limits"},
    "/proc/stat": {"cpu", "tasks"},
    "/proc/uptime": {"cpu"},
    "/proc/loadavg": {"tasks"},
    "/proc/swaps": {"memory"},
    "/proc/diskstats": {"io"},
    "/proc/pressure/cpu": {"pressure"},
    "/proc/pressure/memory": {"pressure"},
    "/proc/pressure/io": {"pressure"},
    "/sys/devices/system/cpu/online": {"cpu_limits"},
    "/sys/devices/system/cpu/possible": {"cpu_limits"},
    "/sys/devices/system/cpu/present": {"cpu_limits"},
}


def test_every_view_says_what_it_needs() -> None:
    assert set(NEEDS) == set(VIEWS) == set(READS)


def test_each_view_reads_only_what_it_needs(v2_snapshots: Snapshots) -> None:
    for path, expected in READS.items():
        reader = Recording()
        v2_snapshots.context(path, Target(f"cgroup of {path}", reader, 1))
        assert set(reader.calls) == expected, path


def test_what_a_view_does_not_need_stays_unknown(v2_snapshots: Snapshots) -> None:
    unknown = read_all(NoCgroup())
    meminfo = v2_snapshots.context("/proc/meminfo", v2_snapshots.targets.for_caller(1))
    assert meminfo.readings.memory.limit is not None
    assert (meminfo.readings.cpu, meminfo.readings.io) == (unknown.cpu, unknown.io)
    assert (meminfo.readings.tasks, meminfo.readings.pressure) == (unknown.tasks, unknown.pressure)
    assert (meminfo.started, meminfo.host_uptime, meminfo.load, meminfo.host_cpus) == (
        None,
        None,
        None,
        (),
    )
    assert len(v2_snapshots.loads) == 0  # no load tracked for a cgroup nobody asked about


def test_what_each_view_needs_is_enough(v2_snapshots: Snapshots) -> None:
    # Rendering from the needed readings alone gives what all readings give.
    target = v2_snapshots.targets.for_caller(1)
    for path, text in host_texts().items():
        needed = v2_snapshots.context(path, target)
        everything = Context(
            read_all(target.reader),
            host_cpus=tuple(range(8)),
            started=INIT_START_TICKS / os.sysconf("SC_CLK_TCK"),
            host_uptime=HOST_UPTIME,
            load=v2_snapshots.loads.current(target.key, target.reader),
        )
        assert render(path, text, needed) == render(path, text, everything), path


def test_bytes_for_the_callers_cgroup(v2_snapshots: Snapshots) -> None:
    meminfo = v2_snapshots.bytes_for("/proc/meminfo", 1)
    assert meminfo is not None
    assert b"MemTotal:        1048576 kB\n" in meminfo  # pod1's memory.max, 1G
    assert v2_snapshots.bytes_for("/sys/devices/system/cpu/online", 1) == b"0-1\n"
    uptime = v2_snapshots.bytes_for("/proc/uptime", 1)
    assert uptime is not None
    host_uptime = float(host("uptime").split()[0])
    since_start = host_uptime - INIT_START_TICKS / os.sysconf("SC_CLK_TCK")
    assert float(uptime.split()[0]) == pytest.approx(since_start, abs=0.01)


def test_uptime_load_and_host_cpus_come_from_their_sources(v2_snapshots: Snapshots) -> None:
    target = v2_snapshots.targets.for_caller(1)
    uptime = v2_snapshots.context("/proc/uptime", target)
    assert uptime.started == INIT_START_TICKS / os.sysconf("SC_CLK_TCK")
    assert uptime.host_uptime == HOST_UPTIME
    assert uptime.host_cpus == tuple(range(8))  # the host's online file, not ours
    loadavg = v2_snapshots.context("/proc/loadavg", target)
    assert loadavg.load is not None
    assert loadavg.load == v2_snapshots.loads.current(target.key, target.reader)


def test_host_cpus_without_an_online_file_are_os_cpu_count(tmp_path: Path) -> None:
    texts = {"/proc/uptime": "100.00 150.00\n"}
    host = host_files(tmp_path, texts)
    try:
        snapshots = Snapshots(host, Targets(Files(tmp_path / "empty")), LoadTracker())
        context = snapshots.context("/proc/uptime", Target("", NoCgroup(), 1))
        assert context.host_cpus == tuple(range(os.cpu_count() or 1))
    finally:
        host.close()


def test_missing_cgroup_data_gives_the_host_files(tmp_path: Path) -> None:
    texts = host_texts()
    host = host_files(tmp_path / "host", texts)
    try:
        # No /proc/PID/cgroup for the caller nor the default pid: nothing known.
        nothing = Snapshots(host, Targets(Files(tmp_path / "empty")), LoadTracker())
        for path, text in texts.items():
            assert nothing.bytes_for(path, 4242) == text.encode(), path
        # A cgroup removed since: its own files are gone (its parents keep
        # their limits), so what only it could tell comes from the host.
        cgroups = tree("v2", tmp_path)
        write(cgroups, {"/proc/1/cgroup": "0::/kubepods/pod1/gone\n"})
        removed = Snapshots(host, Targets(Files(cgroups)), LoadTracker())
        for path in ("/proc/swaps", "/proc/diskstats", "/proc/pressure/io", "/proc/loadavg"):
            assert removed.bytes_for(path, 1) == texts[path].encode(), path
    finally:
        host.close()


def test_only_views_whose_host_file_exists_are_served(tmp_path: Path) -> None:
    texts = {"/proc/meminfo": "MemTotal: 1 kB\n", "/proc/version": "Linux\n"}
    host = host_files(tmp_path, texts)
    try:
        snapshots = Snapshots(host, Targets(Files(tmp_path)), LoadTracker())
        assert snapshots.paths() == ["/proc/meminfo"]  # /proc/version is no view
        assert snapshots.bytes_for("/proc/stat", 1) is None  # no host file here
    finally:
        host.close()


def test_task_counts_are_reused_for_a_second() -> None:
    clock = FakeClock()
    tasks = RecentTasks(fresh_for=1.0, clock=clock)
    reader, other = Recording(), Recording()
    first = tasks.get("a", reader)
    clock.now += 0.9
    assert tasks.get("a", reader) is first
    assert reader.calls == ["tasks"]
    tasks.get("b", other)  # each cgroup counts its own
    assert other.calls == ["tasks"]
    clock.now += 0.1
    tasks.get("a", reader)
    assert reader.calls == ["tasks", "tasks"]
    clock.now += 0.5
    tasks.get("a", reader)
    assert reader.calls == ["tasks", "tasks"]


def test_the_load_average_moves_with_the_sampler(tmp_path: Path) -> None:
    clock = FakeClock()
    texts = {"/proc/loadavg": "9.00 9.00 9.00 1/100 4242\n"}
    host = host_files(tmp_path, texts)
    try:
        snapshots = Snapshots(host, Targets(Files(tmp_path)), LoadTracker(clock=clock))
        reader = Recording()  # one running task
        target = Target("busy", reader, 1)
        first = render(
            "/proc/loadavg", texts["/proc/loadavg"], snapshots.context("/proc/loadavg", target)
        )
        assert first == b"0.00 0.00 0.00 1/3 4242\n"
        clock.now += SAMPLE_INTERVAL
        later = snapshots.context("/proc/loadavg", target)
        assert later.load is not None and later.load.one > 0.0
    finally:
        host.close()
