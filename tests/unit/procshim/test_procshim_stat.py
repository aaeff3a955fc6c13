from procshim.cgroup import CpuQuota, CpuReadings, CpuTimes, TaskReadings, detect
from procshim.render.stat import render_stat

from tests.unit.procshim.procshim_trees import CGROUP, host, stat_with

TICK = 10_000_000


def cpu_rows(text: bytes) -> dict[str, list[int]]:
    rows = {}
    for line in text.decode().splitlines():
        words = line.split()
        if words and words[0].startswith("cpu"):
            rows[words[0]] = [int(w) for w in words[1:]]
    return rows


def assert_consistent(text: bytes) -> dict[str, list[int]]:
    rows = cpu_rows(text)
    per_cpu = [row for name, row in rows.items() if name != "cpu"]
    assert rows["cpu"] == [sum(column) for column in zip(*per_cpu, strict=True)]
    assert list(rows)[1:] == [f"cpu{n}" for n in range(len(per_cpu))]
    return rows


def test_v2_fixture() -> None:
    readings = detect(CGROUP / "v2")
    out = render_stat(stat_with(8), readings.cpu(), readings.tasks(), uptime=10000.0)
    rows = assert_consistent(out)
    assert list(rows) == ["cpu", "cpu0", "cpu1"]
    # 5400 s user + 1800 s system, half on each CPU; idle = 10000 s - busy.
    assert rows["cpu0"][:4] == [270000, 0, 90000, 1000000 - 360000]
    assert rows["cpu"][0] + rows["cpu"][2] == 720000
    text = out.decode()
    assert "procs_running 2\n" in text
    assert "procs_blocked 1\n" in text


def test_v1_fixture_keeps_other_lines() -> None:
    readings = detect(CGROUP / "v1-hybrid")
    host_text = host("stat")
    out = render_stat(host_text, readings.cpu(), readings.tasks(), uptime=60.0)
    rows = assert_consistent(out)
    assert list(rows) == ["cpu", "cpu0"]
    assert rows["cpu0"][3] == 6000 - rows["cpu0"][0] - rows["cpu0"][2]
    kept = [line for line in host_text.splitlines() if not line.startswith(("cpu", "procs_"))]
    assert [
        line for line in out.decode().splitlines() if not line.startswith(("cpu", "procs_"))
    ] == kept


def test_idle_never_negative_and_host_idle_without_uptime() -> None:
    cpu = CpuReadings(cpuset=(1,), usage=CpuTimes(500 * TICK, 0))
    rows = cpu_rows(render_stat(stat_with(2), cpu, TaskReadings(), uptime=1.0))
    assert rows["cpu0"][3] == 0
    host_idle = cpu_rows(host("stat").encode())["cpu0"][3]
    rows = cpu_rows(
        render_stat(
            host("stat"), CpuReadings(cpuset=(0,), usage=CpuTimes()), TaskReadings(), uptime=None
        )
    )
    assert rows["cpu0"][3] == host_idle


def test_quota_below_one_cpu_and_above_the_cpuset() -> None:
    usage = CpuTimes(100 * TICK, 0)
    low = cpu_rows(
        render_stat(
            stat_with(8),
            CpuReadings(quota=CpuQuota(20000, 100000), usage=usage),
            TaskReadings(),
            5.0,
        )
    )
    assert list(low) == ["cpu", "cpu0"]
    high = cpu_rows(
        render_stat(
            stat_with(8),
            CpuReadings(quota=CpuQuota(900000, 100000), cpuset=(0, 1, 2), usage=usage),
            TaskReadings(),
            5.0,
        )
    )
    assert list(high) == ["cpu", "cpu0", "cpu1", "cpu2"]


def test_falls_back_without_usage() -> None:
    text = host("stat")
    assert (
        render_stat(text, CpuReadings(cpuset=(0,)), TaskReadings(running=3), 9.0) == text.encode()
    )
    assert (
        render_stat("intr 0\n", CpuReadings(usage=CpuTimes()), TaskReadings(), 1.0) == b"intr 0\n"
    )
