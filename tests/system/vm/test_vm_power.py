"""More of VM guest mode under a real kernel: a static network from the kernel's
``ip=`` argument with ``hostname=`` (and words for init that are none of our
options), systemd's reboot signal (SIGRTMIN+5 to PID
1), ``guestinit ctl halt``, and a broken /etc/fstab ending in the emergency
path instead of a kernel panic."""

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sandbox import free_port
from tests.system.vm.conftest import BootVm
from tests.system.vm.harness import BootFiles, Vm
from tests.system.vm.test_vm_boot import (
    SHUTDOWN_TIMEOUT,
    SSHD_STOPPED,
    assert_clean,
    ssh_ok,
    wait_network,
)

STATIC = "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3 hostname=from-cmdline"
# Words after "--" go to init's argv: an option we do not have (a usage error,
# which must not end the machine's init) and a word that is no command.
KERNEL_WORDS_FOR_INIT = "-- -z splash"


def test_static_ip_argument_and_reboot_by_signal(boot_vm: BootVm) -> None:
    vm = boot_vm(append=f"{STATIC} {KERNEL_WORDS_FOR_INIT}")
    wait_network(vm)
    # guestinit took them, said why it cannot use them, and booted anyway.
    assert ssh_ok(vm, "tr '\\0' ' ' < /proc/1/cmdline").split()[-2:] == ["-z", "splash"]
    assert re.search(r"^guestinit: invalid option .*z", vm.serial_text(), re.M), vm.tail()
    assert "inet 10.0.2.15/24" in ssh_ok(vm, "ip -4 addr show eth0")
    assert "default via 10.0.2.2" in ssh_ok(vm, "ip -4 route show")
    assert "nameserver 10.0.2.3" in ssh_ok(vm, "cat /etc/resolv.conf")
    assert ssh_ok(vm, "hostname").strip() == "from-cmdline"
    # No DHCP client runs: ip= was static (the image's file asks for DHCP).
    assert "guestinit.boot.network" not in ssh_ok(vm, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    machine_id = ssh_ok(vm, "cat /etc/machine-id").strip()
    assert len(machine_id) == 32 and set(machine_id) <= set("0123456789abcdef")

    vm.mark()
    vm.ssh("kill -s RTMIN+5 1")
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0
    assert vm.shutdown_reason() == "guest-reset"
    console = vm.serial_text()
    assert "reboot: Restarting system" in console and SSHD_STOPPED in console
    assert_clean(vm.disk)


def test_ctl_halt_leaves_clean_file_systems(boot_vm: BootVm) -> None:
    vm = boot_vm()
    vm.mark()
    vm.ssh("guestinit ctl halt", timeout=30)
    # A halted guest stays on (qemu keeps running) with its disks read-only.
    vm.wait_serial(r"reboot: System halted", SHUTDOWN_TIMEOUT)
    assert vm.qmp is not None
    vm.qmp.execute("quit")
    vm.wait_exit(30)
    assert_clean(vm.disk)


def write_into_image(disk: Path, path: str, content: str, scratch: Path) -> None:
    """Replace one file of the ext4 image without mounting it (debugfs)."""
    local = scratch / "file"
    local.write_text(content)
    for request in (f"rm {path}", f"write {local} {path}"):
        subprocess.run(["debugfs", "-w", "-R", request, str(disk)], capture_output=True, check=True)


@pytest.mark.skipif(shutil.which("debugfs") is None, reason="debugfs (e2fsprogs) is missing")
def test_a_failed_fstab_mount_ends_in_the_emergency_path(
    vm_files: BootFiles, tmp_path: Path
) -> None:
    base = tmp_path / "base.raw"
    subprocess.run(["cp", "--sparse=always", str(vm_files.disk), str(base)], check=True)
    fstab = "/dev/vda / ext4 rw 0 1\n/dev/vdx /srv/data ext4 defaults 0 2\n"
    write_into_image(base, "/etc/fstab", fstab, tmp_path)
    vm = Vm(dataclasses.replace(vm_files, disk=base), tmp_path, free_port())
    try:
        vm.boot()
        vm.wait_serial(r"emergency: /etc/fstab:2: /dev/vdx on /srv/data", 120)
        # PID 1 is still there (no "Kernel panic"), saying what it does next.
        vm.wait_serial(r"emergency shell|waiting forever", 30)
        assert "Kernel panic" not in vm.serial_text()
    finally:
        vm.close()
