"""Runtime hints for real: guestinit reads a real v1 cgroup's limits (512M,
0.5 CPU quota) and hands them to runtimes that cannot see them.

The JVM runs with -XX:-UseContainerSupport, so it sizes itself from sysinfo()
and the affinity mask like any cgroup-blind runtime: without hints it sees the
machine, with them the cgroup.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cgroups import V1Group, v1_available, v1_group
from tests.integration.conftest import InitFactory
from tests.sandbox import Sandbox

MiB = 1 << 20
LIMIT = 512 * MiB
HOST_CPUS = len(os.sched_getaffinity(0))

pytestmark = pytest.mark.skipif(not v1_available(), reason="needs cgroup v1 controllers")

CHECK_JAVA = """\
public class Check {
    public static void main(String[] args) {
        Runtime runtime = Runtime.getRuntime();
        System.out.println(runtime.availableProcessors() + " " + runtime.maxMemory());
    }
}
"""


@pytest.fixture
def group() -> Iterator[V1Group]:
    """512M, 0.5 CPU, cpuset 0."""
    with v1_group() as made:
        yield made


@pytest.fixture
def wide_group() -> Iterator[V1Group]:
    """512M and 0.5 CPU on every CPU of the machine: only the quota, which no
    affinity mask shows, keeps the JVM from seeing them all."""
    with v1_group(cpus=None) as made:
        yield made


@pytest.fixture(scope="module")
def check_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("java") is None or shutil.which("javac") is None:
        pytest.skip("needs java and javac")
    folder = tmp_path_factory.mktemp("java")
    (folder / "Check.java").write_text(CHECK_JAVA)
    subprocess.run(["javac", "-d", str(folder), str(folder / "Check.java")], check=True)
    return folder


def run_java(init: InitFactory, group: V1Group, folder: Path, *options: str) -> tuple[int, int]:
    """(availableProcessors, maxMemory) of a cgroup-blind JVM under guestinit as PID 1."""
    # -XX:-UsePerfData: every JVM here is pid 2 of its namespace, and they would
    # share (and warn about) /tmp/hsperfdata_root/2.
    java = ["java", "-XX:-UseContainerSupport", "-XX:-UsePerfData", "-cp", str(folder), "Check"]
    run = init(*options, "--", *java, setup=group.enter_script(), env={"JAVA_TOOL_OPTIONS": ""})
    run.start()
    assert run.wait(timeout=120) == 0, run.stderr.decode()
    # HotSpot prints its own warnings on stdout: the program's line is the last.
    cpus, heap = run.stdout.decode().splitlines()[-1].split()
    return int(cpus), int(heap)


def test_java_without_container_support_sees_the_cgroup_with_hints(
    init: InitFactory, wide_group: V1Group, check_class: Path
) -> None:
    blind_cpus, blind_heap = run_java(init, wide_group, check_class)
    cpus, heap = run_java(init, wide_group, check_class, "--hints")
    # Without hints: the machine (all CPUs, a heap from the host's RAM).
    assert blind_cpus == HOST_CPUS
    assert blind_heap > LIMIT
    # With hints: 1 CPU, and the default MaxRAMPercentage (25) of 512M.
    assert cpus == 1
    assert LIMIT // 4 // 2 < heap <= LIMIT // 4 * 1.1


def sh_in_group(group: V1Group, script: str, env: dict[str, str]) -> str:
    hints = f"{sys.executable} -m guestinit hints"
    full = f'{group.enter_script()}\neval "$({hints})"\n{script}'
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        ["sh", "-ec", full],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hints_command_output_evals_in_sh(group: V1Group) -> None:
    out = sh_in_group(
        group,
        'echo "$GOMAXPROCS $OMP_NUM_THREADS $PYTHON_CPU_COUNT $GOMEMLIMIT $NODE_OPTIONS"\n'
        'echo "$JAVA_TOOL_OPTIONS"',
        {"JAVA_TOOL_OPTIONS": "-Dgreeting='hello world'"},
    )
    first, java = out.splitlines()
    # cpuset 0: Go's minimum of 2 Ps is capped by the one CPU there is.
    assert first == "1 1 1 460MiB --max-old-space-size=384"
    assert java == f"-Dgreeting='hello world' -XX:ActiveProcessorCount=1 -XX:MaxRAM={LIMIT}"


def test_hints_command_keeps_user_values(group: V1Group) -> None:
    out = sh_in_group(group, 'echo "$GOMAXPROCS $OMP_NUM_THREADS"', {"GOMAXPROCS": "6"})
    assert out.split() == ["6", "1"]


def test_hints_command_reads_another_pid(group: V1Group) -> None:
    sleeper = subprocess.Popen(["sh", "-c", f"{group.enter_script()}\nexec sleep 30"])
    try:
        for _ in range(100):  # until the shell has moved itself in
            if str(sleeper.pid) in (group.dirs["memory"] / "cgroup.procs").read_text().split():
                break
            time.sleep(0.05)
        done = subprocess.run(
            [sys.executable, "-m", "guestinit", "hints", "--pid", str(sleeper.pid), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "GOMAXPROCS": ""},
            check=False,
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["limits"]["memory"] == LIMIT
    assert report["limits"]["cpu_quota"] == 0.5
    assert report["limits"]["affinity"] == report["limits"]["cpuset"] == 1
    assert report["environment"]["GOMAXPROCS"] == "1"


def test_services_and_main_process_get_hints_unit_environment_wins(
    group: V1Group, sandbox: Sandbox
) -> None:
    sandbox.commands.append(group.enter_script())
    sandbox.unit(
        "env.service",
        """
[Service]
Type=oneshot
Environment=GOMAXPROCS=9
ExecStart=/bin/sh -c 'echo "svc $GOMAXPROCS $OMP_NUM_THREADS $GOMEMLIMIT"'
""",
    )
    main = ["sh", "-c", 'echo "main $GOMAXPROCS $OMP_NUM_THREADS $DOTNET_PROCESSOR_COUNT"']
    run = sandbox.start("--hints", "--start", "env.service", "--", *main)
    assert run.wait(timeout=60) == 0, run.stderr.decode()
    lines = run.stdout.decode().splitlines()
    assert "main 1 1 1" in lines
    assert any(line.endswith(": svc 9 1 460MiB") for line in lines), lines


def test_hints_from_the_environment_variable_and_a_user_value(
    group: V1Group, init: InitFactory
) -> None:
    main = ["sh", "-c", 'echo "$GOMAXPROCS $MALLOC_ARENA_MAX"']
    env = {"GUESTINIT_HINTS": "1", "GOMAXPROCS": "3"}
    run = init("--", *main, setup=group.enter_script(), env=env)
    run.start()
    assert run.wait(timeout=60) == 0, run.stderr.decode()
    assert run.stdout.decode().split() == ["3", "8"]


def test_no_hints_without_the_option(group: V1Group, init: InitFactory) -> None:
    run = init("--", "sh", "-c", 'echo "[${GOMAXPROCS-unset}]"', setup=group.enter_script())
    run.start()
    assert run.wait(timeout=60) == 0
    assert run.stdout.decode().strip() == "[unset]"
