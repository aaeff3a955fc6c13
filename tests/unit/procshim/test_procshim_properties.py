"""Renderers never raise, and meminfo's invariants hold, for any readings and host text."""

from hypothesis import given
from hypothesis import strategies as st
from procshim.cgroup import (
    CpuQuota,
    CpuReadings,
    CpuTimes,
    DeviceIo,
    IoReadings,
    MemoryReadings,
    MemoryStat,
    TaskReadings,
)
from procshim.render.cpu_online import render_cpu_online
from procshim.render.cpuinfo import render_cpuinfo
from procshim.render.diskstats import render_diskstats
from procshim.render.loadavg import LoadAverage, render_loadavg, sample_load
from procshim.render.meminfo import render_meminfo
from procshim.render.stat import render_stat
from procshim.render.swaps import render_swaps
from procshim.render.uptime import render_uptime

from tests.unit.procshim.procshim_trees import cpuinfo_with, host, stat_with

sizes = st.none() | st.integers(min_value=0, max_value=1 << 50)
ns = st.integers(min_value=0, max_value=10**15)
cpu_ids = st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=16, unique=True)

memory_stats = st.builds(MemoryStat, **{name: sizes for name in MemoryStat.__dataclass_fields__})
memories = st.builds(
    MemoryReadings,
    limit=sizes,
    usage=sizes,
    swap_limit=sizes,
    swap_usage=sizes,
    stat=memory_stats,
)
quotas = st.none() | st.builds(
    CpuQuota, st.integers(min_value=1, max_value=10**7), st.integers(min_value=1, max_value=10**6)
)
times = st.builds(CpuTimes, ns, ns)
cpus = st.builds(
    CpuReadings,
    quota=quotas,
    cpuset=st.none() | cpu_ids.map(lambda ids: tuple(sorted(ids))),
    usage=st.none() | times,
    per_cpu=st.none() | st.dictionaries(st.integers(min_value=0, max_value=15), times),
)
counts = st.none() | st.integers(min_value=0, max_value=10**6)
tasks = st.builds(TaskReadings, counts, counts, counts, counts, counts)
host_texts = st.text(max_size=200)


def meminfo_host(total: int, free: int, available: int, swap: int) -> str:
    text = host("meminfo")
    replace = {"MemTotal": total, "MemFree": free, "MemAvailable": available, "SwapTotal": swap}
    lines = []
    for line in text.splitlines():
        key = line.partition(":")[0]
        lines.append(f"{key + ':':<16}{replace[key]:>8} kB" if key in replace else line)
    return "\n".join(lines) + "\n"


def kb_values(text: bytes) -> dict[str, int]:
    out = {}
    for line in text.decode().splitlines():
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0])
    return out


kbs = st.integers(min_value=0, max_value=1 << 40)


@given(memories, kbs, kbs, kbs, kbs)
def test_meminfo_invariants(
    memory: MemoryReadings, total: int, free: int, available: int, swap: int
) -> None:
    host_text = meminfo_host(total, free, available, swap)
    rendered = render_meminfo(host_text, memory)
    if memory.usage is None:
        assert rendered == host_text.encode()
        return
    out = kb_values(rendered)
    assert 0 <= out["MemFree"] <= out["MemAvailable"] <= out["MemTotal"] <= total
    assert 0 <= out["SwapFree"] <= out["SwapTotal"] <= swap
    assert all(value >= 0 for value in out.values())


@given(memories, host_texts)
def test_memory_renderers_never_raise(memory: MemoryReadings, text: str) -> None:
    for host_text in (text, host("meminfo"), host("swaps")):
        assert isinstance(render_meminfo(host_text, memory), bytes)
        assert isinstance(render_swaps(host_text, memory), bytes)


@given(cpus, tasks, st.none() | st.floats(min_value=0, max_value=1e9), st.integers(1, 16))
def test_cpu_renderers_never_raise_and_stay_consistent(
    cpu: CpuReadings, task: TaskReadings, uptime: float | None, host_count: int
) -> None:
    cpuinfo = render_cpuinfo(cpuinfo_with(host_count), cpu)
    host_online = "0\n" if host_count == 1 else f"0-{host_count - 1}\n"
    online = render_cpu_online(host_online, cpu).decode()
    stat = render_stat(stat_with(host_count), cpu, task, uptime).decode()
    shown = cpuinfo.decode().count("processor\t:")
    assert online == (f"0-{shown - 1}\n" if shown > 1 else "0\n")
    if cpu.usage is None and cpu.per_cpu is None:
        assert stat == stat_with(host_count)  # nothing to compute from: the host's
    else:
        rows = [line.split() for line in stat.splitlines() if line.startswith("cpu")]
        per_cpu = [[int(v) for v in row[1:]] for row in rows[1:]]
        assert [int(v) for v in rows[0][1:]] == [sum(c) for c in zip(*per_cpu, strict=True)]
        assert all(v >= 0 for row in per_cpu for v in row)
        assert len(per_cpu) == shown
    render_uptime(host("uptime"), cpu, uptime, tuple(range(host_count)))


@given(cpus, tasks, host_texts, st.none() | st.floats(allow_nan=True))
def test_renderers_never_raise_on_odd_host_text(
    cpu: CpuReadings, task: TaskReadings, text: str, number: float | None
) -> None:
    render_cpuinfo(text, cpu)
    render_cpu_online(text, cpu)
    render_stat(text, cpu, task, number)
    render_uptime(text, cpu, number, ())
    render_loadavg(text, LoadAverage(), task)


devices = st.dictionaries(
    st.tuples(st.integers(0, 300), st.integers(0, 300)),
    st.builds(DeviceIo, ns, ns, ns, ns, ns, ns),
)


@given(st.none() | devices, host_texts)
def test_diskstats_never_raises(found: dict[tuple[int, int], DeviceIo] | None, text: str) -> None:
    for host_text in (text, host("diskstats")):
        render_diskstats(host_text, IoReadings(found))


@given(st.lists(st.tuples(st.integers(0, 1000), st.floats(0, 100)), max_size=30))
def test_load_average_stays_between_zero_and_the_peak(samples: list[tuple[int, float]]) -> None:
    state = sample_load(LoadAverage(), 0, 0.0)
    now = 0.0
    for active, step in samples:
        now += step
        state = sample_load(state, active, now)
        peak = max((a for a, _ in samples), default=0)
        for value in (state.one, state.five, state.fifteen):
            assert 0.0 <= value <= peak + 1e-9
