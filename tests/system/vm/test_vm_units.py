"""Shipped units in a real guest: a unit ordered after network-online.target
starts only once the network helper has configured the network, and an
enabled serial-getty@ttyS0 shows a login prompt on the serial console.

Each test boots its own copy of the base disk with a few files added by
debugfs (the base disk stays as build-disk.sh made it)."""

import dataclasses
import subprocess
from pathlib import Path

from tests.system.vm.conftest import BootVm
from tests.system.vm.harness import BootFiles
from tests.system.vm.test_vm_boot import SHUTDOWN_TIMEOUT, assert_clean, ssh_ok, wait_network

ENABLED = "/etc/guestinit/units"
PROBE = "/run/net-probe"
# Written the Debian way; it fails (and writes nothing) when it starts early.
PROBE_UNIT = f"""[Unit]
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'test -e /run/guestinit/network-online && ip -4 addr show > {PROBE}'
"""


def disk_with(files: BootFiles, workdir: Path, requests: list[str]) -> BootFiles:
    """A copy of the base disk changed by debugfs ``requests`` (-w -f)."""
    disk = workdir / "base.raw"
    copy = ["cp", "--reflink=auto", "--sparse=always", str(files.disk), str(disk)]
    subprocess.run(copy, check=True)
    script = workdir / "debugfs.txt"
    script.write_text("\n".join(requests) + "\n")
    done = subprocess.run(
        ["debugfs", "-w", "-f", str(script), str(disk)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "rror" not in done.stderr.replace("debugfs", ""), done.stderr
    return dataclasses.replace(files, disk=disk)


def test_a_unit_after_network_online_starts_once_the_network_is_configured(
    boot_vm: BootVm, vm_files: BootFiles, tmp_path: Path
) -> None:
    unit = tmp_path / "net-probe.service"
    unit.write_text(PROBE_UNIT)
    files = disk_with(vm_files, tmp_path, [f"write {unit} {ENABLED}/net-probe.service"])
    vm = boot_vm(files=files)
    wait_network(vm)
    status = ssh_ok(vm, "guestinit ctl status net-probe.service")
    assert "active (exited)" in status, status
    assert "inet 10.0.2.15/24" in ssh_ok(vm, f"cat {PROBE}")
    # The waiter held network-online.target until the helper's mark existed.
    online, probe = map(
        float, ssh_ok(vm, f"stat -c %.9Y /run/guestinit/network-online {PROBE}").split()
    )
    assert probe >= online
    waiter = ssh_ok(vm, "guestinit ctl status guestinit-wait-online.service")
    assert "active (exited)" in waiter, waiter
    vm.mark()
    assert vm.qmp is not None
    vm.qmp.execute("system_powerdown")
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0


def test_serial_getty_shows_a_login_prompt_on_the_console(
    boot_vm: BootVm, vm_files: BootFiles, tmp_path: Path
) -> None:
    template = "/usr/lib/guestinit/units/serial-getty@.service"
    link = f"symlink {ENABLED}/serial-getty@ttyS0.service {template}"
    vm = boot_vm(files=disk_with(vm_files, tmp_path, [link]))
    vm.wait_serial("guestinit-vm login: ", timeout=60, since_mark=False)
    status = ssh_ok(vm, "guestinit ctl status serial-getty@ttyS0.service")
    assert "active (running)" in status and "agetty" in status, status
    vm.mark()
    assert vm.qmp is not None
    vm.qmp.execute("system_powerdown")
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0
    assert "reboot: Power down" in vm.serial_text()
    assert_clean(vm.disk)
