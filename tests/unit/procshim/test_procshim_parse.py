from pathlib import PurePosixPath

from procshim.cgroup import parse
from procshim.cgroup.mounts import (
    Location,
    Mount,
    locate,
    parse_mountinfo,
    parse_proc_cgroup,
)
from procshim.cgroup.readings import CpuQuota, CpuTimes, DeviceIo

from tests.unit.procshim.procshim_trees import CGROUP


def test_cpu_lists() -> None:
    assert parse.parse_cpu_list("0-3,5\n") == (0, 1, 2, 3, 5)
    assert parse.parse_cpu_list("7") == (7,)
    assert parse.parse_cpu_list("0-1,1-2") == (0, 1, 2)
    # Empty: "as my parent" in a cpuset; garbage: unknown.
    assert parse.parse_cpu_list("\n") is None
    assert parse.parse_cpu_list(None) is None
    assert parse.parse_cpu_list("3-1") is None
    assert parse.parse_cpu_list("a-b") is None
    assert parse.format_cpu_list((0, 1, 2, 5, 7, 8)) == "0-2,5,7-8"
    assert parse.format_cpu_list([4]) == "4"


def test_v1_unlimited_sentinel_is_no_limit() -> None:
    assert parse.parse_v1_limit("9223372036854771712\n") is None
    assert parse.parse_v1_limit(str(parse.V1_UNLIMITED)) is None
    # 64 KiB pages round LONG_MAX further down; still unlimited.
    assert parse.parse_v1_limit("9223372036854710272") is None
    assert parse.parse_v1_limit("-1") is None
    assert parse.parse_v1_limit("536870912\n") == 536870912
    assert parse.parse_v1_limit(None) is None


def test_v2_max_files() -> None:
    assert parse.parse_max("max\n") is None
    assert parse.parse_max("1073741824\n") == 1073741824
    assert parse.parse_max("0\n") == 0
    assert parse.parse_max("bogus") is None


def test_flat_keyed_looks_up_exact_keys() -> None:
    # Prefixes of each other, in an order that fools a startswith() parser.
    text = "file_mapped 7\nfile 5\ntotal_rss_huge 9\ntotal_rss 3\nanon_thp 2\nanon 1\nbad line x\n"
    values = parse.parse_flat_keyed(text)
    assert values["file"] == 5
    assert values["file_mapped"] == 7
    assert values["total_rss"] == 3
    assert values["total_rss_huge"] == 9
    assert values["anon"] == 1
    assert "bad" not in values


def test_cpu_quota_files() -> None:
    assert parse.parse_cpu_max("max 100000\n") is None
    assert parse.parse_cpu_max("50000 100000\n") == CpuQuota(50000, 100000)
    assert parse.parse_cpu_max("") is None
    assert parse.parse_cfs("-1\n", "100000\n") is None
    assert parse.parse_cfs("150000\n", "100000\n") == CpuQuota(150000, 100000)
    assert CpuQuota(150000, 100000).whole_cpus == 2
    assert CpuQuota(10000, 100000).whole_cpus == 1


def test_io_stat() -> None:
    text = (
        "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n254:0 rbytes=1\n"
    )
    devices = parse.parse_io_stat(text)
    assert devices == {
        (8, 16): DeviceIo(1459200, 314773504, 192, 353, 0, 0),
        (254, 0): DeviceIo(rbytes=1),
    }
    assert parse.parse_io_stat("") == {}
    assert parse.parse_io_stat(None) is None


def test_blkio_from_the_captured_v1_files() -> None:
    inner = CGROUP / "v1-hybrid/sys/fs/cgroup/blkio/procshim-fixture/inner"
    devices = parse.parse_blkio(
        (inner / "blkio.throttle.io_service_bytes").read_text(),
        (inner / "blkio.throttle.io_serviced").read_text(),
    )
    assert devices is not None
    (device,) = devices
    assert device == (254, 0)
    assert devices[device].rbytes >= 16 << 20
    assert devices[device].wbytes >= 16 << 20
    assert devices[device].rios > 0
    # "Total 0" alone: no device lines.
    assert parse.parse_blkio("Total 0\n", "Total 0\n") == {}


def test_cpuacct_usage_all() -> None:
    table = parse.parse_usage_all("cpu user system\n0 100 20\n1 5 0\n")
    assert table == {0: CpuTimes(100, 20), 1: CpuTimes(5, 0)}
    assert parse.parse_usage_all("cpu user system\n") is None


def test_task_stat_fields_survive_odd_command_names() -> None:
    text = "42 (a) b (R) S) D 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0\n"
    assert parse.parse_task_state(text) == "D"
    assert parse.parse_start_ticks(text) == 12345
    assert parse.parse_task_state("") is None
    assert parse.parse_start_ticks("1 (x) S 0") is None


def test_proc_cgroup_lines() -> None:
    members = parse_proc_cgroup(
        "12:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/a b (deleted)\ngarbage\n"
    )
    assert [(m.hierarchy, m.controllers, m.path) for m in members] == [
        (12, ("cpu", "cpuacct"), "/docker/abc"),
        (1, ("name=systemd",), "/x"),
        (0, (), "/a b"),
    ]


def test_mountinfo_cgroup_mounts_with_escapes_and_optional_fields() -> None:
    text = (
        "25 1 254:1 / / rw shared:1 - ext4 /dev/vda1 rw\n"
        "30 25 0:26 /my\\040ctr /sys/fs/cgroup rw shared:4 master:2 - cgroup2 cgroup2 rw\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    )
    mounts = parse_mountinfo(text)
    assert mounts == [
        Mount("/sys/fs/cgroup", "/my ctr", "cgroup2", ("rw",)),
        Mount("/sys/fs/cgroup/cpu,cpuacct", "/", "cgroup", ("rw", "cpu", "cpuacct")),
    ]


def test_locate_prefers_the_deepest_mount_root() -> None:
    whole = Mount("/sys/fs/cgroup", "/", "cgroup2", ())
    bind = Mount("/ctr", "/kubepods/pod1", "cgroup2", ())
    found = locate("/kubepods/pod1/ctr", [whole, bind])
    assert found == Location(PurePosixPath("/ctr"), ("ctr",))
    assert found is not None
    assert [str(d) for d in found.lineage()] == ["/ctr/ctr", "/ctr"]
    # Mounted above our namespace ("/..") or below our cgroup: not reachable.
    assert locate("/", [Mount("/m", "/..", "cgroup2", ())]) is None
    assert locate("/", [Mount("/m", "/ctr", "cgroup2", ())]) is None
    assert locate("/a/../b", [whole]) is None
