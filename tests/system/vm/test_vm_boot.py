"""guestinit as /sbin/init of a real kernel under qemu: it boots the guest (API
mounts, modules, DHCP on qemu's user network), runs sshd, and powers off or
reboots cleanly when the hypervisor asks (ACPI power button, ctrl-alt-del)."""

import subprocess
import time
from pathlib import Path

from tests.system.vm.conftest import BootVm
from tests.system.vm.harness import Vm, patience

# sshd's own line when it gets SIGTERM: the units were stopped in order, by
# guestinit, not cut off by the kernel.
SSHD_STOPPED = "Received signal 15; terminating."
# From the request to qemu's exit: units stop, processes drain, file systems
# are unmounted; the default grace is 5 s, TCG is slow.
SHUTDOWN_TIMEOUT = 90.0


def ssh_ok(vm: Vm, command: str) -> str:
    done = vm.ssh(command)
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def wait_network(vm: Vm, timeout: float = 90.0) -> None:
    """Until guestinit's network helper has configured every interface (ssh works
    as soon as the address exists, before the route and resolv.conf)."""
    timeout *= patience()
    deadline = time.monotonic() + timeout
    while vm.ssh("test -e /run/guestinit/network-online").returncode != 0:
        assert time.monotonic() < deadline, f"network not configured in {timeout}s:\n{vm.tail()}"
        time.sleep(0.5)


def assert_clean(disk: Path) -> None:
    """A forced read-only check: an unclean unmount leaves the journal to
    replay or the superblock marked dirty, which -n -f reports as non-zero."""
    done = subprocess.run(
        ["e2fsck", "-n", "-f", str(disk)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"e2fsck {done.returncode}:\n{done.stdout}{done.stderr}"


def test_boots_to_ssh_and_powers_off_on_the_acpi_button(boot_vm: BootVm) -> None:
    vm = boot_vm()

    # guestinit itself is PID 1, exec'd by the kernel as /sbin/init (through its
    # #! line), with no wrapper in between that would have exec'd it by another path.
    argv = ssh_ok(vm, "tr '\\0' '\\n' < /proc/1/cmdline").split()
    assert argv[0].startswith("/usr/bin/python3") and argv[-1] == "/sbin/init", argv
    assert ssh_ok(vm, "readlink -f /sbin/init").strip().endswith("/guestinit")
    # API file systems guestinit mounted, the unified cgroup hierarchy among them.
    mounts = ssh_ok(vm, "cat /proc/self/mounts")
    for target, fstype in (("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs"),
                           ("/run", "tmpfs"), ("/sys/fs/cgroup", "cgroup2")):  # fmt: skip
        assert f" {target} {fstype} " in mounts, mounts
    assert " / ext4 rw," in mounts
    # DHCP from qemu's user network: the guest is 10.0.2.15. With restrict=on qemu
    # offers no router (nothing is reachable through it), so no default route; the
    # static test (test_vm_power) checks gateway and name servers.
    wait_network(vm)
    assert "inet 10.0.2.15/24" in ssh_ok(vm, "ip -4 addr show")
    assert "10.0.2.0/24 dev eth0" in ssh_ok(vm, "ip -4 route show")
    assert "failed" not in "".join(
        line
        for line in vm.serial_text().splitlines()
        if "guestinit-network" in line or "Hook" in line
    )
    assert ssh_ok(vm, "hostname").strip() == "guestinit-vm"
    # The modules listed in /etc/modules-load.d were loaded.
    modules = ssh_ok(vm, "cat /proc/modules")
    for module in ("virtio_net", "fuse", "button", "evdev"):
        assert f"{module} " in modules, module
    # The service manager answers over its control socket.
    status = ssh_ok(vm, "guestinit ctl status ssh.service")
    assert "active (running)" in status, status

    vm.mark()
    assert vm.qmp is not None
    vm.qmp.execute("system_powerdown")
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0
    assert vm.shutdown_reason() == "guest-shutdown"
    console = vm.serial_text()
    assert "reboot: Power down" in console
    assert SSHD_STOPPED in console
    assert_clean(vm.disk)


def test_ctrl_alt_del_reboots(boot_vm: BootVm) -> None:
    vm = boot_vm()
    vm.mark()
    assert vm.qmp is not None
    vm.qmp.execute(
        "send-key",
        keys=[{"type": "qcode", "data": key} for key in ("ctrl", "alt", "delete")],
    )
    # With -no-reboot, qemu exits when the guest restarts.
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0
    assert vm.shutdown_reason() == "guest-reset"
    console = vm.serial_text()
    assert "reboot: Restarting system" in console
    assert SSHD_STOPPED in console
    assert "reboot: Power down" not in console
    assert_clean(vm.disk)
