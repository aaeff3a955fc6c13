"""cgroup v2 with real controllers, which only the guest has here: guestinit's
unit cgroups on the unified hierarchy, and procshim's view of a unit limited to
256 MiB and half a CPU, through its reader (`procshim check`) and through FUSE
(`procshim serve`). The guest has 1024 MiB and 2 CPUs, so both limits show."""

import re
import shlex

import pytest

from tests.system.vm.conftest import BootVm
from tests.system.vm.harness import Vm
from tests.system.vm.images import REPO
from tests.system.vm.test_vm_boot import SHUTDOWN_TIMEOUT, assert_clean, ssh_ok

PROBE_UNIT = """\
[Unit]
Description=A unit whose cgroup the test limits

[Service]
ExecStart=/bin/sleep infinity
"""
LIMITED_KB = 256 * 1024
PROCSHIM_CLI = REPO / "fuse/procshim/cli.py"
pytestmark = pytest.mark.skipif(
    not PROCSHIM_CLI.exists(), reason="procshim has no command line (check, serve) yet"
)


def unit_cgroup(pid_cgroup: str) -> str:
    """The unified hierarchy's path from /proc/PID/cgroup ("0::/path")."""
    (line,) = [line for line in pid_cgroup.splitlines() if line.startswith("0::")]
    return "/sys/fs/cgroup" + line[len("0::") :]


def main_pid(vm: Vm, unit: str) -> int:
    shown = ssh_ok(vm, f"guestinit ctl show -p MainPID {unit}").strip()
    assert shown.startswith("MainPID="), shown
    return int(shown.removeprefix("MainPID="))


def test_unit_cgroup_limits_seen_by_procshim(boot_vm: BootVm) -> None:
    vm = boot_vm(cpus=2)  # so that half a CPU shows as fewer CPUs than the guest has
    assert "memory" in ssh_ok(vm, "cat /sys/fs/cgroup/cgroup.controllers").split()

    # guestinit puts each unit into a cgroup of its own: sshd is in ssh.service's.
    sshd_cgroup = ssh_ok(vm, f"cat /proc/{main_pid(vm, 'ssh.service')}/cgroup")
    assert unit_cgroup(sshd_cgroup).endswith("/ssh.service"), sshd_cgroup

    unit = shlex.quote(PROBE_UNIT)
    ssh_ok(vm, f"printf %s {unit} > /etc/guestinit/units/probe.service")
    ssh_ok(vm, "guestinit ctl start probe.service")
    pid = main_pid(vm, "probe.service")
    cgroup = unit_cgroup(ssh_ok(vm, f"cat /proc/{pid}/cgroup"))
    assert cgroup.endswith("/probe.service"), cgroup
    parent = cgroup.rsplit("/", 1)[0]
    # Controllers reach the unit's cgroup only when every ancestor passes them on.
    assert {"memory", "cpu"} <= set(ssh_ok(vm, f"cat {parent}/cgroup.subtree_control").split())
    ssh_ok(vm, f"echo 256M > {cgroup}/memory.max && echo '50000 100000' > {cgroup}/cpu.max")

    check = ssh_ok(vm, f"procshim check --pid {pid}")
    assert re.search(r"\bv2\b|version\W+2", check), check
    assert re.search(rf"MemTotal:\s+{LIMITED_KB} kB", check), check
    assert re.search(r"50000\D+100000|0\.5\b", check), check

    # Through FUSE: a reader inside the cgroup gets the cgroup's numbers.
    ssh_ok(vm, "mkdir -p /run/procshim-test && procshim serve /run/procshim-test")
    try:
        inside = f"echo $$ > {cgroup}/cgroup.procs && exec cat /run/procshim-test/proc/"
        meminfo = ssh_ok(vm, f"sh -c {shlex.quote(inside + 'meminfo')}")
        assert re.search(rf"^MemTotal:\s+{LIMITED_KB} kB$", meminfo, re.M), meminfo
        cpuinfo = ssh_ok(vm, f"sh -c {shlex.quote(inside + 'cpuinfo')}")
        assert len(re.findall(r"^processor\s*:", cpuinfo, re.M)) == 1, cpuinfo
        # A reader outside keeps the whole guest.
        host = ssh_ok(vm, "cat /run/procshim-test/proc/meminfo")
        assert not re.search(rf"^MemTotal:\s+{LIMITED_KB} kB$", host, re.M), host
    finally:
        vm.ssh("umount -l /run/procshim-test")

    # SIGPWR (a UPS daemon's signal) powers off too (`guestinit ctl poweroff` is
    # how the Packer build ends: test_packer).
    vm.ssh("kill -s PWR 1", timeout=30)
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0
    assert vm.shutdown_reason() == "guest-shutdown"
    assert_clean(vm.disk)
