"""Runtime hints: limits + environment -> the variables to add (pure)."""

import pytest

from guestinit.hints import Limits, MiB, ceil_cpus, export_lines, floor_cpus, go_procs, hints

GiB = 1024 * MiB
HOST = Limits(affinity=8, cpuset=8, host_memory=64 * GiB)  # an 8-CPU, 64 GiB machine


def limited(
    quota: float | None = None, memory: int | None = None, cpuset: int = 8, affinity: int = 8
) -> Limits:
    """Limits on the HOST machine."""
    return Limits(memory, quota, cpuset, affinity, HOST.host_memory)


def java_flags(value: str) -> dict[str, str]:
    return dict(word.partition("=")[::2] for word in value.split())


# ---- no limit, no hint ---------------------------------------------------------------
def test_no_limits_no_hints() -> None:
    assert hints(HOST, {}) == {}
    assert hints(Limits(), {}) == {}


def test_a_cpuset_alone_needs_no_hint() -> None:
    # The kernel applies a cpuset to the affinity mask every runtime reads.
    assert hints(limited(cpuset=2, affinity=2), {}) == {}


def test_a_quota_at_or_above_the_runnable_cpus_is_no_limit() -> None:
    assert hints(limited(quota=8.0), {}) == {}
    assert hints(limited(quota=4.0, cpuset=2), {}) == {}  # cpuset smaller than quota
    assert hints(limited(quota=2.5, cpuset=2), {}) == {}


def test_a_memory_limit_above_the_host_is_no_limit() -> None:
    assert hints(limited(memory=64 * GiB), {}) == {}
    assert hints(limited(memory=1 << 62), {}) == {}


def test_cpu_only_or_memory_only() -> None:
    cpu = hints(limited(quota=2.0), {})
    assert "GOMAXPROCS" in cpu and "GOMEMLIMIT" not in cpu and "NODE_OPTIONS" not in cpu
    assert java_flags(cpu["JAVA_TOOL_OPTIONS"]) == {"-XX:ActiveProcessorCount": "2"}
    memory = hints(limited(memory=GiB), {})
    assert "GOMEMLIMIT" in memory and "GOMAXPROCS" not in memory
    assert java_flags(memory["JAVA_TOOL_OPTIONS"]) == {"-XX:MaxRAM": str(GiB)}


def test_unknown_host_still_hints() -> None:
    # Without affinity or host RAM, any quota or limit is taken as binding.
    added = hints(Limits(memory=512 * MiB, cpu_quota=3.0), {})
    assert added["GOMAXPROCS"] == "3"
    assert added["GOMEMLIMIT"] == "460MiB"


# ---- rounding per runtime ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quota", "runnable", "ceil", "floor", "go"),
    [
        (0.5, 8, 1, 1, 2),  # quota < 1 CPU
        (0.5, 1, 1, 1, 1),  # Go's minimum of 2 never exceeds the CPUs
        (1.0, 8, 1, 1, 2),
        (1.5, 8, 2, 1, 2),
        (2.0, 8, 2, 2, 2),
        (2.2, 8, 3, 2, 3),
        (3.9, 8, 4, 3, 4),
        (3.5, 3, 3, 3, 3),  # the cpuset caps every count
        (7.0, None, 7, 7, 7),
    ],
)
def test_rounding(quota: float, runnable: int | None, ceil: int, floor: int, go: int) -> None:
    assert ceil_cpus(quota, runnable) == ceil
    assert floor_cpus(quota, runnable) == floor
    assert go_procs(quota, runnable) == go


def test_whole_quota_is_not_rounded_up_by_float_error() -> None:
    # Quotas are whole microseconds: one more or less than whole CPUs still counts.
    assert ceil_cpus(300_000 / 100_000, None) == 3
    assert ceil_cpus(300_001 / 100_000, None) == 4
    assert floor_cpus(299_999 / 100_000, None) == 2
    assert floor_cpus(70_000 / 10_000, None) == 7


def test_each_runtime_for_half_a_cpu_of_eight() -> None:
    added = hints(limited(quota=0.5), {})
    assert java_flags(added["JAVA_TOOL_OPTIONS"]) == {"-XX:ActiveProcessorCount": "1"}
    assert added["GOMAXPROCS"] == "2"
    assert added["OMP_NUM_THREADS"] == added["OPENBLAS_NUM_THREADS"] == "1"
    assert added["DOTNET_PROCESSOR_COUNT"] == "1"
    assert added["PYTHON_CPU_COUNT"] == "1"
    assert added["MALLOC_ARENA_MAX"] == "8"  # glibc's 8 per core, for one core


def test_each_runtime_for_two_and_a_half_cpus() -> None:
    added = hints(limited(quota=2.5), {})
    assert java_flags(added["JAVA_TOOL_OPTIONS"]) == {"-XX:ActiveProcessorCount": "3"}
    assert added["GOMAXPROCS"] == "3"
    assert added["OMP_NUM_THREADS"] == "2"  # floor: the team fits inside the quota
    assert added["DOTNET_PROCESSOR_COUNT"] == added["PYTHON_CPU_COUNT"] == "3"
    assert added["MALLOC_ARENA_MAX"] == "24"


def test_the_affinity_mask_caps_like_the_cpuset() -> None:
    added = hints(limited(quota=0.5, cpuset=8, affinity=1), {})
    assert added["GOMAXPROCS"] == "1"


def test_memory_values_for_512m() -> None:
    added = hints(limited(memory=512 * MiB), {})
    assert java_flags(added["JAVA_TOOL_OPTIONS"]) == {"-XX:MaxRAM": str(512 * MiB)}
    assert added["GOMEMLIMIT"] == "460MiB"  # 90 %, whole MiB
    assert added["NODE_OPTIONS"] == "--max-old-space-size=384"  # 75 %
    assert added["DOTNET_GCHeapHardLimit"] == "0x18000000"  # 384 MiB, hex
    assert int(added["DOTNET_GCHeapHardLimit"], 16) == 384 * MiB


def test_dotnet_heap_limit_keeps_its_20_mib_floor() -> None:
    added = hints(limited(memory=16 * MiB), {})
    assert int(added["DOTNET_GCHeapHardLimit"], 16) == 20 * MiB
    assert added["GOMEMLIMIT"] == "14MiB"


def test_a_tiny_limit_still_gives_one_mib() -> None:
    added = hints(limited(memory=MiB // 2), {})
    assert added["GOMEMLIMIT"] == "1MiB"
    assert added["NODE_OPTIONS"] == "--max-old-space-size=1"


def test_uv_threadpool_size_is_never_set() -> None:
    # libuv's pool is a fixed 4 threads, not derived from CPUs: nothing to correct.
    assert "UV_THREADPOOL_SIZE" not in hints(limited(quota=0.5, memory=GiB), {})


# ---- the user's values win -------------------------------------------------------------------
def test_user_values_are_kept() -> None:
    environ = {"GOMAXPROCS": "16", "GOMEMLIMIT": "1GiB", "OMP_NUM_THREADS": "4"}
    added = hints(limited(quota=0.5, memory=GiB), environ)
    assert not added.keys() & environ.keys()
    assert added["DOTNET_PROCESSOR_COUNT"] == "1"


def test_an_empty_value_counts_as_unset() -> None:
    assert hints(limited(quota=0.5), {"GOMAXPROCS": ""})["GOMAXPROCS"] == "2"


def test_java_tool_options_gains_only_missing_flags() -> None:
    limits = limited(quota=0.5, memory=GiB)
    added = hints(limits, {"JAVA_TOOL_OPTIONS": "-Xss1m -XX:ActiveProcessorCount=4"})
    assert added["JAVA_TOOL_OPTIONS"] == f"-Xss1m -XX:ActiveProcessorCount=4 -XX:MaxRAM={GiB}"
    both = {"JAVA_TOOL_OPTIONS": "-XX:MaxRAM=2g -XX:ActiveProcessorCount=4"}
    assert "JAVA_TOOL_OPTIONS" not in hints(limits, both)


def test_max_ram_percentage_is_not_max_ram() -> None:
    added = hints(limited(memory=GiB), {"JAVA_TOOL_OPTIONS": "-XX:MaxRAMPercentage=50"})
    assert added["JAVA_TOOL_OPTIONS"] == f"-XX:MaxRAMPercentage=50 -XX:MaxRAM={GiB}"


def test_node_options_gains_the_heap_size_unless_given() -> None:
    limits = limited(memory=GiB)
    added = hints(limits, {"NODE_OPTIONS": "--enable-source-maps"})
    assert added["NODE_OPTIONS"] == "--enable-source-maps --max-old-space-size=768"
    for given in ("--max-old-space-size=100", "--max_old_space_size=100"):
        assert "NODE_OPTIONS" not in hints(limits, {"NODE_OPTIONS": f"--trace-warnings {given}"})


def test_blank_option_lists_get_the_flags_alone() -> None:
    added = hints(limited(memory=GiB), {"NODE_OPTIONS": "  "})
    assert added["NODE_OPTIONS"] == "--max-old-space-size=768"


def test_the_environment_is_not_changed() -> None:
    environ = {"JAVA_TOOL_OPTIONS": "-Xss1m"}
    hints(limited(quota=0.5, memory=GiB), environ)
    assert environ == {"JAVA_TOOL_OPTIONS": "-Xss1m"}


# ---- output ----------------------------------------------------------------------------
def test_export_lines_are_single_quoted() -> None:
    text = export_lines({"GOMAXPROCS": "2", "JAVA_TOOL_OPTIONS": "-Dname='a b' -Xss1m"})
    assert text == (
        "export GOMAXPROCS='2'\nexport JAVA_TOOL_OPTIONS='-Dname='\\''a b'\\'' -Xss1m'\n"
    )
    assert export_lines({}) == ""
