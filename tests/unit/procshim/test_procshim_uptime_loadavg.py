import math

import pytest
from procshim.cgroup import CpuQuota, CpuReadings, CpuTimes, TaskReadings, detect
from procshim.render.loadavg import (
    SAMPLE_INTERVAL,
    LoadAverage,
    active_tasks,
    render_loadavg,
    sample_load,
)
from procshim.render.uptime import parse_uptime, render_uptime

from tests.unit.procshim.procshim_trees import CGROUP, host


def test_uptime_since_the_container_started() -> None:
    cpu = CpuReadings(quota=CpuQuota(150000, 100000), usage=CpuTimes(30 * 10**9, 10 * 10**9))
    out = render_uptime("1000.00 1800.00\n", cpu, started=900.0, host_cpus=range(8))
    # 100 s up; 2 visible CPUs give 200 s, 40 s of them busy.
    assert out == b"100.00 160.00\n"


def test_uptime_idle_never_negative() -> None:
    cpu = CpuReadings(cpuset=(0,), usage=CpuTimes(500 * 10**9, 0))
    assert render_uptime("1000.00 5.00\n", cpu, 990.0, (0, 1)) == b"10.00 0.00\n"
    # A start after "now" (clock skew between readings): 0, not negative.
    assert render_uptime("10.00 5.00\n", cpu, 20.0, (0,)) == b"0.00 0.00\n"


def test_uptime_from_the_v2_cgroupns_fixture() -> None:
    cpu = detect(CGROUP / "v2-cgroupns").cpu()
    host_uptime = parse_uptime(host("uptime"))
    assert host_uptime is not None
    uptime, idle = map(float, render_uptime(host("uptime"), cpu, 100.0, (0, 1)).split())
    assert uptime == pytest.approx(host_uptime - 100.0, abs=0.01)
    # 0.5 CPU -> 1 visible CPU; 30 s busy.
    assert idle == pytest.approx(uptime - 30.0, abs=0.01)


def test_uptime_falls_back() -> None:
    text = host("uptime")
    assert render_uptime(text, CpuReadings(usage=CpuTimes()), None, (0,)) == text.encode()
    assert render_uptime(text, CpuReadings(), 1.0, (0,)) == text.encode()
    assert render_uptime("", CpuReadings(usage=CpuTimes()), 1.0, (0,)) == b""


def test_load_average_decays_like_the_kernel() -> None:
    state = sample_load(LoadAverage(), 0, now=100.0)
    assert state == LoadAverage(at=100.0)
    # One minute of 2 runnable tasks, sampled every 5 s.
    now = 100.0
    for _ in range(12):
        now += SAMPLE_INTERVAL
        state = sample_load(state, 2, now)
    assert state.one == pytest.approx(2 * (1 - math.exp(-1)))
    assert state.five == pytest.approx(2 * (1 - math.exp(-60 / 300)))
    assert state.fifteen == pytest.approx(2 * (1 - math.exp(-60 / 900)))
    assert state.one > state.five > state.fifteen
    # A late sampler decays for the time that really passed.
    late = sample_load(LoadAverage(2.0, 2.0, 2.0, 0.0), 0, 60.0)
    assert late.one == pytest.approx(2 * math.exp(-1))
    # Time going backwards changes nothing.
    assert sample_load(late, 5, 10.0) == late


def test_render_loadavg() -> None:
    load = LoadAverage(0.5, 0.25, 0.125, 1.0)
    out = render_loadavg("3.00 2.00 1.00 190/300 4321\n", load, TaskReadings(total=12, running=3))
    assert out == b"0.50 0.25 0.12 3/12 4321\n"
    # The reader counts as running, and the total is never below it.
    assert render_loadavg("0 0 0 1/1 9\n", load, TaskReadings(total=0, running=0)).endswith(
        b" 1/1 9\n"
    )


def test_loadavg_from_the_v1_fixture_tasks() -> None:
    tasks = detect(CGROUP / "v1-hybrid").tasks()
    assert active_tasks(tasks) == 1
    state = sample_load(sample_load(LoadAverage(), 0, 0.0), active_tasks(tasks) or 0, 5.0)
    out = render_loadavg(host("loadavg"), state, tasks).decode()
    assert out.split()[3] == "1/2"
    assert out.split()[4] == host("loadavg").split()[4]


def test_loadavg_falls_back() -> None:
    text = host("loadavg")
    assert render_loadavg(text, None, TaskReadings(total=1, running=1)) == text.encode()
    assert render_loadavg(text, LoadAverage(), TaskReadings()) == text.encode()
    assert render_loadavg("", LoadAverage(), TaskReadings(total=1, running=1)) == b""
    assert active_tasks(TaskReadings(total=3)) is None
