"""The self-contained bundle (images/bundle) as the ENTRYPOINT of images with no
Python and no C library: podman with runc runs a scratch image holding only the
bundle and a static test program, and a busybox-only image with a unit file."""

import json
import re
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.system.container import bundle
from tests.system.container.podman import Podman

GUESTINIT = f"{bundle.PREFIX}/bin/guestinit"
START_TIMEOUT = 60
STOP_TIMEOUT = 10  # podman stop's (and docker stop's) default before SIGKILL
LIMITS = ("--memory", "512m", "--device", "/dev/fuse", "--cap-add", "SYS_ADMIN")


@pytest.fixture(scope="module")
def stage(runtime: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    why = bundle.unavailable_reason()
    if why is not None:
        pytest.skip(why)
    built = bundle.build_bundle(tmp_path_factory.mktemp("bundle") / "guestinit")
    return bundle.stage_image(runtime, built)


@pytest.fixture(scope="module")
def scratch(runtime: Podman, stage: str) -> str:
    return bundle.scratch_image(runtime, stage)


@pytest.fixture(scope="module")
def busybox(runtime: Podman, stage: str) -> str:
    return bundle.busybox_image(runtime, stage)


def run(runtime: Podman, name: str, *args: str) -> None:
    runtime.run("run", "--detach", "--name", name, "--network", "none", *args)


def host_children(runtime: Podman, name: str) -> dict[int, str]:
    """The container's PID 1's children, as the host sees them: pid -> state."""
    init = int(runtime.run("inspect", "--format", "{{.State.Pid}}", name).stdout)
    children: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == init:
            children[int(entry.name)] = state
    return children


def test_the_stage_image_holds_only_the_bundle(runtime: Podman, stage: str, tmp_path: Path) -> None:
    entrypoint = runtime.run("image", "inspect", "--format", "{{json .Config.Entrypoint}}", stage)
    assert entrypoint.stdout.strip() == bundle.ENTRYPOINT.replace(" ", "")
    # Every file of every layer is under /opt/guestinit: no Python, no libc
    # anywhere else for the bundle to lean on.
    archive = tmp_path / "stage.tar"
    runtime.run("save", "--format", "docker-archive", "--output", str(archive), stage)
    with tarfile.open(archive) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        names: list[str] = []
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=saved.extractfile(layer)) as files:
                names += [member.name.removeprefix("./") for member in files]
    outside = [n for n in names if n not in ("opt", "opt/") and not n.startswith("opt/guestinit")]
    assert names and not outside, outside[:20]
    assert "opt/guestinit/lib/libc.so.6" in names
    assert "opt/guestinit/lib/ld-linux-x86-64.so.2" in names


def test_scratch_exit_codes(
    runtime: Podman, scratch: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    run(runtime, name, scratch, "/testprog", "exit", "3")
    assert runtime.run("wait", name, timeout=START_TIMEOUT).stdout.strip() == "3"
    assert "testprog: exiting 3" in runtime.logs(name)
    missing = container_name()
    run(runtime, missing, scratch, "/no/such/program")
    assert runtime.run("wait", missing, timeout=START_TIMEOUT).stdout.strip() == "127"
    assert "/no/such/program" in runtime.logs(missing)


def test_scratch_reaps_the_orphan_and_stops_on_sigterm_within_grace(
    runtime: Podman, scratch: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    run(runtime, name, scratch, "/testprog", "serve")
    logs = runtime.wait_for_log(name, "testprog: ready", START_TIMEOUT)
    logs = runtime.wait_for_log(name, "reparented to", START_TIMEOUT)
    # The grandchild exited once adopted by PID 1 (guestinit): its zombie is
    # guestinit's to reap, so in the end PID 1 has one child, the main process.
    assert re.search(r"testprog: orphan \d+ reparented to 1$", logs, re.MULTILINE), logs
    deadline = time.monotonic() + 30
    while True:
        children = host_children(runtime, name)
        if len(children) == 1 and "Z" not in children.values():
            break
        assert time.monotonic() < deadline, f"PID 1's children stay {children}"
        time.sleep(0.05)

    started = time.monotonic()
    runtime.run("stop", "--time", str(STOP_TIMEOUT), name)
    took = time.monotonic() - started
    assert took < STOP_TIMEOUT, "podman had to SIGKILL guestinit"
    assert runtime.exit_code(name) == 0
    assert "testprog: got SIGTERM" in runtime.logs(name)


def test_tini_and_dumb_init_links_keep_the_name_as_typed(
    runtime: Podman, scratch: str, busybox: str
) -> None:
    def run_as(image: str, entrypoint: str, *args: str) -> tuple[int, str]:
        done = runtime.run(
            "run", "--rm", "--network", "none", "--entrypoint", entrypoint, image, *args,
            timeout=START_TIMEOUT, check=False,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    code, out = run_as(scratch, f"{bundle.PREFIX}/bin/dumb-init", "--yolo")
    assert code == 1, out
    assert out.startswith(f"{bundle.PREFIX}/bin/dumb-init: unrecognized option '--yolo'"), out
    # Typed as a bare name, found on PATH: the name stays bare (as dumb-init's does).
    code, out = run_as(busybox, "dumb-init", "--yolo")
    assert code == 1 and out.startswith("dumb-init: unrecognized option '--yolo'"), out
    code, out = run_as(scratch, f"{bundle.PREFIX}/bin/tini", "-h")
    assert re.search(r"^Usage: tini \[OPTIONS\] PROGRAM -- \[ARGS\]", out, re.MULTILINE), out
    # Both work as the init they stand in for.
    assert run_as(scratch, f"{bundle.PREFIX}/bin/dumb-init", "/testprog", "exit", "4")[0] == 4
    assert run_as(scratch, f"{bundle.PREFIX}/bin/tini", "--", "/testprog", "exit", "5")[0] == 5


def test_busybox_unit_status_procshim_and_clean_stop(
    runtime: Podman, busybox: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    run(runtime, name, *LIMITS, "--env", "GUESTINIT_LOG_LEVEL=info", busybox)
    logs = runtime.wait_for_log(name, "hello from a unit", START_TIMEOUT)
    assert re.search(r"^hello\[\d+\]: hello from a unit$", logs, re.MULTILINE), logs
    status = runtime.exec(name, GUESTINIT, "ctl", "status")
    assert status.returncode == 0, status.stderr
    assert "hello.service - A unit of the busybox image" in status.stdout, status.stdout
    assert re.search(r"^\s+Active: active \(running\)", status.stdout, re.MULTILINE), status.stdout
    # procshim (its libfuse from the bundle) serves /proc/meminfo with the
    # container's --memory. busybox's free takes total/used/free from
    # sysinfo(2), which no file can change (the host's 24 GB stay there), and
    # buff/cache and available from /proc/meminfo: those are the cgroup's.
    runtime.wait_for_log(name, "serving cgroup views", START_TIMEOUT)
    # (Read by the shell: busybox cat's sendfile gets nothing from procshim's
    # direct-I/O files; see the README's limits.)
    shell_cat = 'while read -r l; do echo "$l"; done </proc/meminfo'
    meminfo = runtime.exec(name, "sh", "-c", shell_cat).stdout
    assert re.search(r"^MemTotal: +524288 kB$", meminfo, re.MULTILINE), meminfo
    free = runtime.exec(name, "free", "-m")
    assert free.returncode == 0, free.stderr
    row = re.search(r"^Mem:((?:\s+\d+){6})$", free.stdout, re.MULTILINE)
    assert row is not None, free.stdout
    available = int(row.group(1).split()[5])
    assert 0 < available <= 512, free.stdout

    started = time.monotonic()
    runtime.run("stop", "--time", str(STOP_TIMEOUT), name)
    assert time.monotonic() - started < STOP_TIMEOUT, "podman had to SIGKILL guestinit"
    assert runtime.exit_code(name) == 0
    assert re.search(r"hello\.service: main process \d+ ", runtime.logs(name))
