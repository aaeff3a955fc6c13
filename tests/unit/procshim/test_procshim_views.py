from procshim.cgroup import Readings, detect, read_all
from procshim.render.loadavg import LoadAverage
from procshim.views import VIEWS, Context, render

from tests.unit.procshim.procshim_trees import CGROUP, cpuinfo_with, host, stat_with

HOST_FILES = {
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


def test_every_view_has_a_host_file_here() -> None:
    assert set(VIEWS) == set(HOST_FILES)


def test_empty_readings_give_every_host_file_back() -> None:
    context = Context()
    for path, text in HOST_FILES.items():
        assert render(path, text, context) == text.encode(), path


def test_v2_views_agree_on_the_cpu_count() -> None:
    context = Context(
        readings=read_all(detect(CGROUP / "v2")),
        host_cpus=tuple(range(8)),
        started=100.0,
        host_uptime=10100.0,  # as /proc/uptime said when the readings were taken
        load=LoadAverage(1.0, 0.5, 0.25, 0.0),
    )
    assert context.uptime == 10000.0
    out = {path: render(path, text, context).decode() for path, text in HOST_FILES.items()}
    assert out["/proc/cpuinfo"].count("processor\t:") == 2
    assert [line.split()[0] for line in out["/proc/stat"].splitlines()][:3] == [
        "cpu",
        "cpu0",
        "cpu1",
    ]
    assert out["/sys/devices/system/cpu/online"] == "0-1\n"
    # /proc/uptime's own text is the clock for its view.
    host_uptime = float(host("uptime").split()[0])
    assert out["/proc/uptime"].split()[0] == f"{host_uptime - 100.0:.2f}"
    assert out["/proc/loadavg"].startswith("1.00 0.50 0.25 2/5 ")
    assert "MemTotal:        1048576 kB" in out["/proc/meminfo"]


def test_unknown_paths_and_failing_renderers_give_the_host_text() -> None:
    assert render("/proc/version", "Linux\n", Context()) == b"Linux\n"
    broken = Readings(memory=None)  # type: ignore[arg-type]  # stands for a renderer bug
    assert render("/proc/meminfo", "MemTotal: 1 kB\n", Context(readings=broken)) == (
        b"MemTotal: 1 kB\n"
    )
