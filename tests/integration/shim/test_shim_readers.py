"""Real readers under ``procshim mount`` see the cgroup's limits (issue #5).

One run, shared by every test here: a v1 cgroup with 512M / 0.5 CPU /
cpuset 0, a fresh PID and mount namespace entered into it, the procshim
server bound over /proc and /sys there, and ``readers_inside.py`` asking
free, psutil, node, getconf and Python, reading the files with several
buffer sizes and seeks, killing the server with SIGKILL and starting it
again, then stopping it with SIGTERM while a reader keeps reading. The tests
assert on its JSON.
"""

import itertools
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cgroups import v1_group
from tests.integration.initrun import InitRun
from tests.integration.shim.needs import SHIM_NEEDS

INSIDE = Path(__file__).with_name("readers_inside.py")
LIMIT = 512 * 2**20
HOST_KB = int(Path("/proc/meminfo").read_text().split()[1])
MEMINFO_LINE = re.compile(r"[A-Za-z0-9_()]+:\s+\d+( kB)?")

pytestmark = SHIM_NEEDS


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mountpoint = tmp_path_factory.mktemp("readers") / "procshim"
    with v1_group(memory=LIMIT, quota_us=50_000, cpus="0") as group:
        hidden = group.dirs["memory"] / "hidden"
        hidden.mkdir()
        run = InitRun(
            [str(INSIDE), str(mountpoint), str(hidden)],
            executable=sys.executable,
            setup=group.enter_script(),
        )
        run.start()
        try:
            code = run.wait(timeout=90)
        finally:
            run.cleanup()
        assert code == 0, run.stderr.decode(errors="replace")
        yield json.loads(run.stdout)


def meminfo(text: str) -> dict[str, int]:
    return {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in text.splitlines())}


def mem_total_mb(free_output: str) -> int:
    row = next(line for line in free_output.splitlines() if line.startswith("Mem:"))
    return int(row.split()[1])


def test_free_reports_the_limit(seen: dict[str, Any]) -> None:
    assert mem_total_mb(seen["free_m"]) == 512


def test_psutil_reports_the_limit(seen: dict[str, Any]) -> None:
    assert seen["psutil_total"] == LIMIT


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_reports_the_limit_and_one_cpu(seen: dict[str, Any]) -> None:
    total, cpus = seen["node"]
    assert total == LIMIT  # os.totalmem(): /proc/meminfo
    assert cpus == 1  # os.cpus(): /proc/stat's cpuN lines


def test_getconf_and_python_count_one_online_cpu(seen: dict[str, Any]) -> None:
    assert seen["getconf"] == 1
    assert seen["cpu_count"] == 1


def test_cpuinfo_has_exactly_processor_0(seen: dict[str, Any]) -> None:
    processors = re.findall(r"^processor\s*: (\d+)$", seen["cpuinfo"], re.MULTILINE)
    assert processors == ["0"]


def test_sys_cpu_lists_say_cpu_0(seen: dict[str, Any]) -> None:
    assert seen["cpu_files"] == {"online": "0\n", "possible": "0\n", "present": "0\n"}


def test_uptime_counts_from_the_namespace_init(seen: dict[str, Any]) -> None:
    uptime, idle = map(float, seen["uptime"].split())
    before, after = seen["uptime_read_between"]
    # The namespace's init (the shell that became the gatherer) started just
    # before the gatherer's first clock reading; the host booted long before.
    assert before - seen["started"] - 0.05 <= uptime <= after - seen["started"] + 5.0
    assert float(seen["host"]["/proc/uptime"].split()[0]) > uptime
    assert 0 <= idle <= uptime  # one visible CPU: idle cannot exceed wall time


def test_the_server_bound_its_files_over_proc_and_sys(seen: dict[str, Any]) -> None:
    targets = {line.split()[4] for line in seen["mounts_serving"]}
    expected = {"/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/proc/uptime"}
    assert expected | {"/sys/devices/system/cpu/online"} <= targets


def _stable(path: str, text: str) -> Any:
    """What must not differ between two opens a moment apart."""
    assert text.endswith("\n")
    lines = text.splitlines()
    if path == "/proc/meminfo":
        assert all(MEMINFO_LINE.fullmatch(line) for line in lines), text
        values = meminfo(text)
        return list(values), values["MemTotal"], values["SwapTotal"]
    if path == "/proc/cpuinfo":
        return [line for line in lines if not line.startswith("cpu MHz")]
    if path == "/proc/stat":
        cpu_lines = [line.split() for line in lines if line.startswith("cpu")]
        assert all(len(f) == 11 and all(n.isdigit() for n in f[1:]) for f in cpu_lines), text
        btime = next(line for line in lines if line.startswith("btime"))
        return [line.split()[0] for line in lines], btime
    assert len(lines) == 1 and len([float(n) for n in text.split()]) == 2  # /proc/uptime
    return len(lines)


@pytest.mark.parametrize("path", ["/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/proc/uptime"])
def test_every_buffer_size_reads_the_same_file(seen: dict[str, Any], path: str) -> None:
    texts = {**seen["chunked"][path], "mixed": seen["mixed"][path]}
    stable = {size: _stable(path, text) for size, text in texts.items()}
    assert len({json.dumps(s) for s in stable.values()}) == 1, stable
    if path == "/proc/meminfo":
        assert stable["1"][1] == LIMIT // 1024
    if path == "/proc/stat":
        assert [k for k in stable["1"][0] if k.startswith("cpu")] == ["cpu", "cpu0"]


def test_one_open_is_one_snapshot_however_slowly_it_is_read(seen: dict[str, Any]) -> None:
    before, slow, after_open = (float(text.split()[0]) for text in seen["slow_uptime"])
    # Its bytes, read one by one over half a second, are the text made at
    # open(): no later than a second open right after it. A text made anew
    # for each read would carry digits from later.
    assert before <= slow <= after_open
    assert len(seen["slow_uptime"][1].split()) == 2


def test_lseek_to_0_rereads_a_fresh_consistent_file(seen: dict[str, Any]) -> None:
    first, second = seen["seek_uptime"]
    assert float(second.split()[0]) - float(first.split()[0]) >= 0.2  # 0.3 s apart
    meminfo_first, meminfo_second = seen["seek_meminfo"]
    assert _stable("/proc/meminfo", meminfo_first) == _stable("/proc/meminfo", meminfo_second)
    assert meminfo(meminfo_second)["MemTotal"] == LIMIT // 1024


def test_a_reader_without_memory_cgroup_data_gets_the_host_file(seen: dict[str, Any]) -> None:
    assert seen["hidden_cgroup"].rstrip().endswith("/hidden")
    host = meminfo(seen["host"]["/proc/meminfo"])
    hidden = meminfo(seen["hidden_meminfo"])
    assert list(hidden) == list(host)
    assert hidden["MemTotal"] == host["MemTotal"] == HOST_KB
    assert hidden["SwapTotal"] == host["SwapTotal"]


def test_after_kill_9_the_guard_detaches_and_a_new_server_binds(seen: dict[str, Any]) -> None:
    # No guestinit here, so no static layer: the host's file once the guard ran.
    assert seen["mounts_after_kill_9"] == []
    assert meminfo(seen["after_kill_9"])["MemTotal"] == HOST_KB
    assert "restart_failed" not in seen, seen["restart_failed"]
    assert meminfo(seen["restarted_meminfo"])["MemTotal"] == LIMIT // 1024
    targets = [line.split()[4] for line in seen["mounts_restarted"]]
    assert len(targets) == len(set(targets))  # one mount per path: none stacked
    assert sorted(targets) == sorted(line.split()[4] for line in seen["mounts_serving"])


def test_sigterm_exits_0_and_removes_every_mount(seen: dict[str, Any]) -> None:
    assert seen["server_rc"] == 0
    assert seen["mounts_after"] == []
    assert meminfo(seen["meminfo_after"])["MemTotal"] == HOST_KB
    assert mem_total_mb(seen["free_m_after"]) == HOST_KB // 1024


def test_readers_during_the_stop_see_the_limit_then_the_host_never_an_error(
    seen: dict[str, Any],
) -> None:
    samples = seen["stop_samples"]
    values = [value for _, value in samples]
    assert all(isinstance(v, int) for v in values), sorted(set(map(str, values)))
    # The binds go first: readers switch from the limit to the real file once.
    switches = sum(1 for a, b in itertools.pairwise(values) if a != b)
    assert switches == 1, values
    assert values[0] == LIMIT // 1024 and values[-1] == HOST_KB
    before = [v for t, v in samples if t < seen["stop_sent"]]
    after = [v for t, v in samples if t > seen["server_gone"]]
    assert before and set(before) == {LIMIT // 1024}
    assert after and set(after) == {HOST_KB}
