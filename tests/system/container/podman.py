"""Real podman (with runc) for the container tests: its configuration, a
private store, and the commands the tests use.

podman 4.3 on this kind of machine needs a containers.conf (cgroupfs, runc,
file events: crun fails on the hybrid cgroup hierarchy, and there is no
systemd to talk to); see MACHINE-NOTES "Containers". The store lives under
the test cache so images survive between runs; its run root is fixed too,
because podman refuses a store reopened with other paths.
"""

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("GUESTINIT_TEST_CACHE", "/var/cache/guestinit-test"))
STORE = CACHE / "podman"
# One run root per store (podman refuses a store reopened with another).
RUN_ROOT = Path("/run/guestinit-test") / f"podman-{hashlib.sha256(bytes(STORE)).hexdigest()[:8]}"
# podman's `--init` runs this as PID 1 (Debian ships tini-static, no catatonit).
INIT_PATH = "/usr/bin/tini-static"

CONTAINERS_CONF = f"""\
# Written by tests/system/container/podman.py.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
init_path = "{INIT_PATH}"
"""


def unavailable_reason() -> str | None:
    """Why podman cannot run containers here, or None."""
    if os.geteuid() != 0:
        return "the container tests run rootful podman (needs root)"
    for program, package in (("podman", "podman"), ("runc", "runc")):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install {package})"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse: procshim cannot be shown working in the container"
    return None


@dataclass(frozen=True)
class Podman:
    """One podman configuration: every call goes through run()."""

    conf: Path

    @classmethod
    def create(cls) -> "Podman":
        STORE.mkdir(parents=True, exist_ok=True)
        conf = STORE / "containers.conf"
        if not conf.exists() or conf.read_text() != CONTAINERS_CONF:
            scratch = conf.with_name(f"containers.conf.{os.getpid()}")
            scratch.write_text(CONTAINERS_CONF)
            os.replace(scratch, conf)
        return cls(conf)

    def argv(self, *args: str) -> list[str]:
        store = ["--root", str(STORE / "storage"), "--runroot", str(RUN_ROOT)]
        return ["podman", *store, *args]

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def run(
        self, *args: str, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
            )
        return done

    def popen_import(self, rootfs: Path, name: str) -> None:
        """`tar -C ROOTFS -c . | podman import - NAME`."""
        with subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
        ) as tar:
            done = subprocess.run(
                self.argv("import", "-", name),
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                timeout=300,
                env=self.env(),
                check=False,
            )
        if tar.returncode != 0 or done.returncode != 0:
            raise AssertionError(f"podman import of {rootfs} failed:\n{done.stderr}")

    def image_exists(self, name: str) -> bool:
        return self.run("image", "exists", name, check=False).returncode == 0

    def images_named(self, repository: str) -> list[str]:
        """Every tag of REPOSITORY in our store ("repo:tag")."""
        listed = self.run("images", "--format", "{{.Repository}}:{{.Tag}}", repository)
        return [line for line in listed.stdout.split() if line.startswith(f"{repository}:")]

    def logs(self, container: str) -> str:
        """stdout and stderr in one stream (in conmon's order of the two)."""
        done = subprocess.run(
            self.argv("logs", container),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            env=self.env(),
            check=True,
        )
        return done.stdout

    def exec(
        self, container: str, *argv: str, timeout: float = 60
    ) -> "subprocess.CompletedProcess[str]":
        return self.run("exec", container, *argv, timeout=timeout, check=False)

    def wait_for_log(self, container: str, text: str, timeout: float) -> str:
        """The container's logs once TEXT is in them (AssertionError after TIMEOUT)."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs(container)
            if text in logs:
                return logs
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{text!r} not in {container}'s logs after {timeout}s:\n{logs}"
                )
            time.sleep(0.1)

    def containers_named(self, prefix: str) -> list[str]:
        listed = self.run("ps", "--all", "--format", "{{.Names}}")
        return [name for name in listed.stdout.split() if name.startswith(prefix)]

    def exit_code(self, container: str) -> int:
        return int(self.run("inspect", "--format", "{{.State.ExitCode}}", container).stdout)

    def running(self, container: str) -> bool:
        state = self.run("inspect", "--format", "{{.State.Running}}", container, check=False)
        return state.stdout.strip() == "true"
