from procshim.cgroup import DeviceIo, IoReadings, MemoryReadings, detect
from procshim.render.diskstats import render_diskstats
from procshim.render.pressure import render_pressure
from procshim.render.swaps import render_swaps

from tests.unit.procshim.procshim_trees import CGROUP, host

MiB = 1 << 20
HOST_SWAPS = (
    host("swaps") + "/dev/zram0                              partition\t4194300\t\t1024\t\t100\n"
)


def test_swaps_with_a_limit() -> None:
    out = render_swaps(HOST_SWAPS, MemoryReadings(swap_limit=256 * MiB, swap_usage=16 * MiB))
    header, line = out.decode().splitlines()
    assert header == host("swaps").rstrip("\n")
    fields = line.split()
    assert fields[:4] == ["none", "partition", str(256 * 1024), str(16 * 1024)]


def test_swaps_zero_limit_or_no_host_swap_is_the_header() -> None:
    assert render_swaps(HOST_SWAPS, MemoryReadings(swap_limit=0)) == host("swaps").encode()
    v1 = detect(CGROUP / "v1-hybrid").memory()
    assert v1.swap_limit
    assert render_swaps(host("swaps"), v1) == host("swaps").encode()


def test_swaps_limit_capped_by_the_host() -> None:
    out = render_swaps(HOST_SWAPS, MemoryReadings(swap_limit=1 << 40))
    assert out.decode().splitlines()[1].split()[2] == "4194300"


def test_swaps_without_limit_pass_through() -> None:
    assert render_swaps(HOST_SWAPS, MemoryReadings()) == HOST_SWAPS.encode()
    assert render_swaps("", MemoryReadings(swap_limit=1)) == b""


def diskstat_rows(text: bytes) -> dict[str, list[int]]:
    return {
        line.split()[2]: [int(v) for v in line.split()[3:]] for line in text.decode().splitlines()
    }


def test_diskstats_from_the_v2_fixture() -> None:
    out = render_diskstats(host("diskstats"), detect(CGROUP / "v2").io())
    rows = diskstat_rows(out)
    assert rows["vda"][:11] == [2560, 0, 204800, 0, 1280, 0, 102400, 0, 0, 0, 0]
    assert rows["zram0"][0] == 1
    # No I/O on the loop devices; 8:0 is in io.stat but not on the host: not invented.
    assert all(v == 0 for v in rows["loop0"])
    assert "sda" not in rows
    assert len(rows) == len(host("diskstats").splitlines())
    # Same widths as the host's lines, same layout.
    first = out.decode().splitlines()[0]
    assert first.startswith("   7       0 loop0 ")
    assert all(len(r) == 17 for r in rows.values())


def test_diskstats_from_the_v1_fixture() -> None:
    rows = diskstat_rows(render_diskstats(host("diskstats"), detect(CGROUP / "v1-hybrid").io()))
    assert rows["vda"][2] >= 16 * MiB // 512


def test_diskstats_old_kernel_widths() -> None:
    line = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n"
    out = render_diskstats(line, IoReadings({(8, 0): DeviceIo(rbytes=1024, rios=2)}))
    assert out == b"   8       0 sda 2 0 2 0 0 0 0 0 0 0 0\n"


def test_diskstats_falls_back() -> None:
    text = host("diskstats")
    assert render_diskstats(text, IoReadings()) == text.encode()
    assert render_diskstats("junk\n", IoReadings({})) == b"junk\n"


def test_pressure_prefers_the_cgroup_file() -> None:
    host_text = host("pressure/cpu")
    readings = detect(CGROUP / "v2").pressure()
    assert readings.cpu is not None
    assert render_pressure(host_text, readings.cpu) == readings.cpu.encode()
    assert render_pressure(host_text, None) == host_text.encode()
    assert render_pressure(host_text, "") == host_text.encode()
