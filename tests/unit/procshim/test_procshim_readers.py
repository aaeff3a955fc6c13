from pathlib import Path

from procshim.cgroup import CpuQuota, CpuTimes, DeviceIo, detect, read_all
from procshim.cgroup.tasks import process_start_ticks
from procshim.files import Files

from tests.unit.procshim.procshim_trees import CGROUP, tree, write

MiB = 1 << 20
V1_INNER = "sys/fs/cgroup/{}/procshim-fixture/inner"


def test_v1_memory_is_the_tightest_ancestor() -> None:
    memory = detect(CGROUP / "v1-hybrid").memory()
    # inner says 768M, its parent 512M.
    assert memory.limit == 512 * MiB
    # memsw 640M on the parent, unlimited (the sentinel) on inner: swap = 640M - 512M.
    assert memory.swap_limit == 128 * MiB
    assert memory.swap_usage == 0
    assert memory.usage is not None
    assert 64 * MiB < memory.usage < 512 * MiB


def test_v1_memory_stat_by_exact_total_keys() -> None:
    stat_text = (CGROUP / "v1-hybrid" / V1_INNER.format("memory") / "memory.stat").read_text()
    raw = dict(line.split() for line in stat_text.splitlines())
    stat = detect(CGROUP / "v1-hybrid").memory().stat
    assert stat.anon == int(raw["total_rss"])
    assert stat.anon_thp == int(raw["total_rss_huge"])
    assert stat.file == int(raw["total_cache"])
    assert stat.file_mapped == int(raw["total_mapped_file"])
    assert stat.inactive_file == int(raw["total_inactive_file"])
    assert stat.anon >= 64 * MiB  # the workload's bytearray
    assert stat.file >= 16 * MiB  # its scratch file in the page cache
    assert stat.slab_reclaimable is None  # v1 memory.stat has no slab lines


def test_v1_cpu() -> None:
    cpu = detect(CGROUP / "v1-hybrid").cpu()
    # quota on the parent only; inner has -1.
    assert cpu.quota == CpuQuota(50000, 100000)
    assert cpu.cpuset == (0,)
    assert cpu.per_cpu is not None
    assert set(cpu.per_cpu) == {0, 1}
    assert cpu.per_cpu[0].total_ns > 0
    assert cpu.usage == CpuTimes(
        sum(t.user_ns for t in cpu.per_cpu.values()),
        sum(t.system_ns for t in cpu.per_cpu.values()),
    )


def test_v1_per_cpu_before_usage_all(tmp_path: Path) -> None:
    # Linux < 4.7: only usage_percpu, split by cpuacct.stat's user/system ratio.
    root = tree("v1-hybrid", tmp_path)
    inner = root / V1_INNER.format("cpuacct")
    for name in ("cpuacct.usage_all", "cpuacct.usage_percpu_user", "cpuacct.usage_percpu_sys"):
        (inner / name).unlink()
    (inner / "cpuacct.usage_percpu").write_text("1000 3000 \n")
    (inner / "cpuacct.stat").write_text("user 75\nsystem 25\n")
    cpu = detect(root).cpu()
    assert cpu.per_cpu == {0: CpuTimes(750, 250), 1: CpuTimes(2250, 750)}


def test_v1_empty_cpuset_inherits_from_the_parent(tmp_path: Path) -> None:
    root = tree("v1-hybrid", tmp_path)
    inner = root / V1_INNER.format("cpuset")
    (inner / "cpuset.effective_cpus").write_text("\n")
    (inner / "cpuset.cpus").write_text("\n")
    (inner.parent / "cpuset.effective_cpus").write_text("1\n")
    assert detect(root).cpu().cpuset == (1,)


def test_v1_io_tasks_and_pids() -> None:
    readings = read_all(detect(CGROUP / "v1-hybrid"))
    assert readings.io.devices is not None
    assert readings.io.devices[(254, 0)].rbytes >= 16 * MiB
    # The workload: its main thread sleeps, one thread spins.
    assert readings.tasks.total == 2
    assert readings.tasks.running == 1
    assert readings.tasks.blocked == 0
    assert readings.tasks.pids_current == 2
    assert readings.tasks.pids_max == 100
    # Hybrid: PSI from the cgroup2 side.
    assert readings.pressure.cpu is not None
    assert readings.pressure.cpu.startswith("some ")


def test_v1_blkio_total_zero_is_unknown(tmp_path: Path) -> None:
    # Without a throttle rule blk-throttle does not count: "Total 0" proves nothing.
    root = tree("v1-hybrid", tmp_path)
    inner = root / V1_INNER.format("blkio")
    for path in inner.glob("blkio.*"):
        path.write_text("Total 0\n")
    assert detect(root).io().devices is None


def test_v2_nested_limits() -> None:
    readings = read_all(detect(CGROUP / "v2"))
    memory = readings.memory
    assert memory.limit == 1 << 30  # the pod's 1G, not the container's 2G
    assert memory.usage == 314572800
    assert memory.swap_limit == 256 * MiB  # the container's, under the pod's 512M
    assert memory.swap_usage == 16 * MiB
    cpu = readings.cpu
    assert cpu.quota == CpuQuota(150000, 100000)  # from the pod
    assert cpu.cpuset == (2, 3, 4, 5)
    assert cpu.per_cpu is None
    assert cpu.usage is not None
    assert cpu.usage.total_ns == 7200 * 10**9
    assert cpu.usage.user_ns == 5400 * 10**9
    assert readings.tasks.pids_max == 1000
    assert readings.tasks.pids_current == 5


def test_v2_memory_stat_by_exact_key() -> None:
    stat = detect(CGROUP / "v2").memory().stat
    assert stat.file == 94371840
    assert stat.file_mapped == 20971520
    assert stat.anon == 209715200
    assert stat.anon_thp == 4194304
    assert stat.slab_reclaimable == 4194304
    assert stat.slab_unreclaimable == 2097152
    assert stat.kernel_stack == 1048576


def test_v2_tasks_include_child_cgroups() -> None:
    tasks = detect(CGROUP / "v2").tasks()
    # ctr: threads 101 (S), 102 (R), 103 (R); ctr/sub: 104 (D), 105 (S).
    assert tasks.total == 5
    assert tasks.running == 2
    assert tasks.blocked == 1


def test_v2_io_and_pressure() -> None:
    readings = read_all(detect(CGROUP / "v2"))
    assert readings.io.devices is not None
    assert readings.io.devices[(254, 0)] == DeviceIo(104857600, 52428800, 2560, 1280, 0, 0)
    assert readings.pressure.cpu is not None
    assert "total=123456" in readings.pressure.cpu


def test_v2_cgroupns() -> None:
    readings = read_all(detect(CGROUP / "v2-cgroupns"))
    assert readings.memory.limit == 512 * MiB
    assert readings.memory.swap_limit == 0
    assert readings.cpu.quota == CpuQuota(50000, 100000)
    assert readings.cpu.cpuset == (0, 1)
    assert readings.io.devices == {}  # accounted, and no I/O yet
    assert readings.tasks.total == 4  # 1, 7, 8 and sshd's 20 in a unit cgroup
    assert readings.tasks.running == 1


def test_v2_empty_effective_cpuset_inherits(tmp_path: Path) -> None:
    root = tree("v2", tmp_path)
    ctr = root / "sys/fs/cgroup/kubepods/pod1/ctr"
    (ctr / "cpuset.cpus.effective").write_text("\n")
    (ctr.parent / "cpuset.cpus.effective").write_text("3-4\n")
    assert detect(root).cpu().cpuset == (3, 4)
    # Nowhere on the way up: unknown, and renderers use the host's CPUs.
    for path in (root / "sys/fs/cgroup").rglob("cpuset.cpus.effective"):
        path.unlink()
    assert detect(root).cpu().cpuset is None


def test_v2_root_cgroup_has_no_limits(tmp_path: Path) -> None:
    root = tree("v2", tmp_path, cgroup="0::/\n")
    memory = detect(root).memory()
    assert memory.limit is None
    assert memory.usage is None
    cpu = detect(root).cpu()
    assert cpu.quota is None
    assert cpu.cpuset == tuple(range(8))


def test_missing_files_read_as_none(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "/proc/self/cgroup": "0::/c\n",
            "/proc/self/mountinfo": "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            "/sys/fs/cgroup/c/memory.max": "garbage\n",
        },
    )
    readings = read_all(detect(root))
    assert readings.memory.limit is None
    assert readings.memory.usage is None
    assert readings.cpu.usage is None
    assert readings.io.devices is None
    assert readings.tasks.total is None
    assert readings.pressure.cpu is None


def test_tasks_without_proc_entries(tmp_path: Path) -> None:
    root = tree("v2", tmp_path)
    for stat in (root / "proc").glob("1*/stat"):
        stat.unlink()
    tasks = detect(root).tasks()
    assert tasks.total == 5
    assert tasks.running is None


def test_process_start_ticks() -> None:
    files = Files(CGROUP / "v2-cgroupns")
    assert process_start_ticks(files, 1) == 4200000
    assert process_start_ticks(files, 999) is None
