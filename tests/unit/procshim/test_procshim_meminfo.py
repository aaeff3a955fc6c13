from procshim.cgroup import MemoryReadings, MemoryStat, detect
from procshim.render.meminfo import format_line, render_meminfo

from tests.unit.procshim.procshim_trees import CGROUP, host

MiB = 1 << 20
HOST = host("meminfo")


def values(text: bytes) -> dict[str, int]:
    out = {}
    for line in text.decode().splitlines():
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0])
    return out


def host_values() -> dict[str, int]:
    return values(HOST.encode())


def test_kernel_layout_round_trips_the_host_file() -> None:
    for line in HOST.splitlines():
        if line.endswith(" kB"):
            key, _, rest = line.partition(":")
            assert format_line(key, int(rest.split()[0])) == line


def test_v1_hybrid_fixture() -> None:
    memory = detect(CGROUP / "v1-hybrid").memory()
    assert memory.usage is not None
    out = values(render_meminfo(HOST, memory))
    assert out["MemTotal"] == 512 * 1024
    assert out["MemFree"] == (512 * MiB - memory.usage) // 1024
    assert out["MemFree"] <= out["MemAvailable"] <= out["MemTotal"]
    assert out["AnonPages"] >= 64 * 1024
    assert out["Cached"] >= 16 * 1024
    assert out["Buffers"] == 0
    assert out["Active"] == out["Active(anon)"] + out["Active(file)"]
    # Host has no swap: a 128M swap limit shows as none.
    assert out["SwapTotal"] == 0
    assert out["SwapFree"] == 0


def test_v2_fixture_exact_values() -> None:
    memory = detect(CGROUP / "v2").memory()
    out = values(render_meminfo(HOST, memory))
    assert out["MemTotal"] == 1024 * 1024
    assert out["MemFree"] == 1024 * 1024 - 300 * 1024
    # free + file LRUs (50M active + 32M inactive) + reclaimable slab (4M).
    assert out["MemAvailable"] == 1024 * 1024 - 300 * 1024 + (50 + 32 + 4) * 1024
    assert out["Cached"] == 94371840 // 1024
    assert out["Mapped"] == 20971520 // 1024  # file_mapped, not file
    assert out["AnonPages"] == 209715200 // 1024  # anon, not anon_thp
    assert out["AnonHugePages"] == 4 * 1024
    assert out["Shmem"] == 8 * 1024
    assert out["Slab"] == 6 * 1024
    assert out["SReclaimable"] == 4 * 1024
    assert out["SUnreclaim"] == 2 * 1024
    assert out["KernelStack"] == 1024


def test_other_lines_pass_through_unchanged() -> None:
    memory = detect(CGROUP / "v2").memory()
    rendered = render_meminfo(HOST, memory).decode().splitlines()
    original = HOST.splitlines()
    assert len(rendered) == len(original)
    assert [line.partition(":")[0] for line in rendered] == [
        line.partition(":")[0] for line in original
    ]
    for key in ("VmallocTotal", "HugePages_Total", "Hugepagesize", "DirectMap1G", "CommitLimit"):
        assert next(r for r in rendered if r.startswith(key + ":")) == next(
            o for o in original if o.startswith(key + ":")
        )


def test_swap_lines_follow_the_swap_limit() -> None:
    with_swap = HOST.replace("SwapTotal:             0 kB", "SwapTotal:       2097152 kB")
    with_swap = with_swap.replace("SwapFree:              0 kB", "SwapFree:        2000000 kB")
    memory = MemoryReadings(
        limit=1 << 30, usage=100 * MiB, swap_limit=256 * MiB, swap_usage=16 * MiB
    )
    out = values(render_meminfo(with_swap, memory))
    assert out["SwapTotal"] == 256 * 1024
    assert out["SwapFree"] == 240 * 1024
    # No swap limit: the host's swap is the container's.
    unlimited = values(render_meminfo(with_swap, MemoryReadings(limit=1 << 30, usage=0)))
    assert unlimited["SwapTotal"] == 2097152
    assert unlimited["SwapFree"] == 2000000


def test_usage_over_the_limit_never_goes_negative() -> None:
    memory = MemoryReadings(
        limit=256 * MiB,
        usage=300 * MiB,
        stat=MemoryStat(active_file=10 * MiB, inactive_file=10 * MiB),
    )
    out = values(render_meminfo(HOST, memory))
    assert out["MemTotal"] == 256 * 1024
    assert out["MemFree"] == 0
    assert out["MemAvailable"] == 20 * 1024
    heavy = MemoryReadings(limit=256 * MiB, usage=300 * MiB)
    out = values(render_meminfo(HOST, heavy))
    assert out["MemFree"] == out["MemAvailable"] == 0


def test_no_limit_shows_the_host_total_and_never_more_free_than_the_host() -> None:
    out = values(render_meminfo(HOST, MemoryReadings(limit=None, usage=100 * MiB)))
    hosted = host_values()
    assert out["MemTotal"] == hosted["MemTotal"]
    assert out["MemFree"] <= hosted["MemFree"]
    assert out["MemAvailable"] <= hosted["MemAvailable"]


def test_limit_above_the_host_is_capped() -> None:
    out = values(render_meminfo(HOST, MemoryReadings(limit=1 << 50, usage=MiB)))
    assert out["MemTotal"] == host_values()["MemTotal"]


def test_missing_usage_or_odd_host_text_falls_back() -> None:
    assert render_meminfo(HOST, MemoryReadings(limit=MiB)) == HOST.encode()
    assert render_meminfo("garbage\n", MemoryReadings(limit=MiB, usage=1)) == b"garbage\n"
    assert render_meminfo("", MemoryReadings(limit=MiB, usage=1)) == b""


def test_mlocked_never_exceeds_the_cgroups_unevictable_pages() -> None:
    text = HOST.replace(
        next(line for line in HOST.splitlines() if line.startswith("Mlocked:")),
        format_line("Mlocked", 900_000),
    )
    memory = MemoryReadings(limit=512 * MiB, usage=100 * MiB, stat=MemoryStat(unevictable=3 * MiB))
    assert values(render_meminfo(text, memory))["Mlocked"] == 3 * 1024
    unlocked = MemoryReadings(limit=512 * MiB, usage=100 * MiB, stat=MemoryStat(unevictable=0))
    assert values(render_meminfo(text, unlocked))["Mlocked"] == 0


def test_a_changed_layout_is_walked_again() -> None:
    memory = detect(CGROUP / "v1-hybrid").memory()
    first = values(render_meminfo(HOST, memory))
    # Another kernel's order, and a line this one does not have: the cached
    # layout of the previous text must not be reused for it.
    lines = HOST.splitlines()
    moved = "\n".join(["FutureKernelKey:       7 kB", *reversed(lines)]) + "\n"
    second = values(render_meminfo(moved, memory))
    assert second.pop("FutureKernelKey") == 7
    assert second == first
    assert values(render_meminfo(HOST, memory)) == first
