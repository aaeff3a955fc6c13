from procshim.cgroup import CpuQuota, CpuReadings, CpuTimes, detect
from procshim.render.cpu_online import render_cpu_online
from procshim.render.cpuinfo import render_cpuinfo
from procshim.render.cpus import busy_ticks, visible_cpus

from tests.unit.procshim.procshim_trees import CGROUP, cpuinfo_with, host

EIGHT = tuple(range(8))
TICK = 10_000_000  # ns in one USER_HZ tick


def processors(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if line.startswith("processor")]


def apicids(text: bytes) -> list[str]:
    return [
        line.split(":")[1].strip()
        for line in text.decode().splitlines()
        if line.startswith("apicid")
    ]


def test_visible_cpus() -> None:
    assert visible_cpus(CpuReadings(), EIGHT) == EIGHT
    assert visible_cpus(CpuReadings(cpuset=(2, 3, 4, 5)), EIGHT) == (2, 3, 4, 5)
    # quota < 1 CPU still needs one CPU; 1.5 CPU -> 2; quota > cpuset: the cpuset.
    assert visible_cpus(CpuReadings(quota=CpuQuota(50000, 100000), cpuset=(3, 5)), EIGHT) == (3,)
    assert visible_cpus(CpuReadings(quota=CpuQuota(150000, 100000)), EIGHT) == (0, 1)
    assert visible_cpus(CpuReadings(quota=CpuQuota(800000, 100000), cpuset=(6, 7)), EIGHT) == (6, 7)
    # A cpuset naming CPUs the host text lacks: the host's.
    assert visible_cpus(CpuReadings(cpuset=(9,)), (0, 1)) == (0, 1)


def test_v2_usage_spreads_evenly_and_sums_exactly() -> None:
    cpu = CpuReadings(usage=CpuTimes(user_ns=1001 * TICK, system_ns=10 * TICK))
    busy = busy_ticks(cpu, (4, 5, 6))
    assert busy == [(334, 4), (334, 3), (333, 3)]
    assert busy_ticks(CpuReadings(), (0,)) is None


def test_v1_per_cpu_usage_keeps_each_cpu_and_spreads_hidden_ones() -> None:
    per_cpu = {
        0: CpuTimes(100 * TICK, 10 * TICK),
        1: CpuTimes(7 * TICK, 0),
        2: CpuTimes(40 * TICK, 4 * TICK),
    }
    cpu = CpuReadings(cpuset=(0, 1, 2), quota=CpuQuota(200000, 100000), per_cpu=per_cpu)
    visible = visible_cpus(cpu, (0, 1, 2))
    assert visible == (0, 1)
    # CPU 2's time is not lost: half on each visible CPU.
    assert busy_ticks(cpu, visible) == [(120, 12), (27, 2)]


def test_cpuinfo_renumbers_the_allowed_cpus() -> None:
    host_text = cpuinfo_with(8)
    out = render_cpuinfo(host_text, CpuReadings(cpuset=(2, 3, 4, 5)))
    assert processors(out) == [f"processor\t: {n}" for n in range(4)]
    # Each block's other fields are the host CPU's own.
    assert apicids(out) == ["2", "3", "4", "5"]
    assert out.decode().endswith("\n\n")


def test_cpuinfo_quota_cuts_the_count() -> None:
    out = render_cpuinfo(
        cpuinfo_with(8), CpuReadings(quota=CpuQuota(150000, 100000), cpuset=(2, 3, 4, 5))
    )
    assert processors(out) == ["processor\t: 0", "processor\t: 1"]
    assert apicids(out) == ["2", "3"]
    low = render_cpuinfo(host("cpuinfo"), CpuReadings(quota=CpuQuota(10000, 100000)))
    assert processors(low) == ["processor\t: 0"]


def test_cpuinfo_from_the_v1_and_v2_fixtures() -> None:
    v1 = render_cpuinfo(host("cpuinfo"), detect(CGROUP / "v1-hybrid").cpu())
    assert processors(v1) == ["processor\t: 0"]
    v2 = render_cpuinfo(cpuinfo_with(8), detect(CGROUP / "v2").cpu())
    assert apicids(v2) == ["2", "3"]


def test_cpuinfo_keeps_trailing_non_cpu_blocks() -> None:
    arm = (
        "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n\n"
        "Hardware\t: BCM2835\nRevision\t: a02082\n"
    )
    out = render_cpuinfo(arm, CpuReadings(cpuset=(1,))).decode()
    assert out == "processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\nRevision\t: a02082\n"


def test_cpuinfo_falls_back() -> None:
    text = host("cpuinfo")
    assert render_cpuinfo(text, CpuReadings()) == text.encode()
    s390 = "vendor_id       : IBM/S390\nprocessor 0: version = FF\n"
    assert render_cpuinfo(s390, CpuReadings(cpuset=(0,))) == s390.encode()
    assert render_cpuinfo("", CpuReadings(cpuset=(0,))) == b""


def test_cpu_online_matches_cpuinfo() -> None:
    for cpu in (
        CpuReadings(cpuset=(2, 3, 4, 5)),
        CpuReadings(quota=CpuQuota(50000, 100000)),
        CpuReadings(quota=CpuQuota(150000, 100000), cpuset=(1, 3, 5)),
    ):
        count = len(processors(render_cpuinfo(cpuinfo_with(8), cpu)))
        online = render_cpu_online("0-7\n", cpu).decode()
        assert online == ("0\n" if count == 1 else f"0-{count - 1}\n")
    assert render_cpu_online(host("cpu-online"), detect(CGROUP / "v1-hybrid").cpu()) == b"0\n"


def test_cpu_online_falls_back() -> None:
    assert render_cpu_online("0-7\n", CpuReadings()) == b"0-7\n"
    assert render_cpu_online("", CpuReadings(cpuset=(0,))) == b""
