"""As PID 1 of a PID namespace (a container's situation) guestinit never enters
VM guest mode, whatever it is asked: VM mode mounts, unmounts and reboots."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="PID namespaces need root")
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]


def test_pid1_of_a_namespace_runs_its_command_as_usual() -> None:
    # In VM mode, a machine's init would remount / and never exit; here the
    # command's status comes back, and nothing new is mounted in our namespace.
    with open("/proc/self/mounts") as file:
        before = file.read()
    done = subprocess.run(
        [*UNSHARE, sys.executable, "-m", "guestinit", "--", "sh", "-c", "exit 7"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 7, done.stderr
    with open("/proc/self/mounts") as file:
        assert file.read() == before


def test_forcing_vm_mode_there_is_refused() -> None:
    done = subprocess.run(
        [*UNSHARE, sys.executable, "-m", "guestinit", "--vm", "--", "true"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--vm: not the machine's init" in done.stderr


def test_forcing_vm_mode_outside_pid1_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "guestinit", "--vm", "--", "true"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--vm" in done.stderr
