"""The cached artefacts a test VM boots from, built by images/vm/ on first use.

Kernel, initramfs and disk are cached under /var/cache/guestinit-test/ keyed by
their inputs (see images/vm/build-kernel.py and build-disk.sh), so only the
first run on a machine pays for debootstrap (~45 s) and the kernel download.
"""

import os
import shutil
import subprocess
from pathlib import Path

from tests.system.vm.harness import QEMU, BootFiles

REPO = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("GUESTINIT_TEST_CACHE", "/var/cache/guestinit-test"))
BUILD_KERNEL = REPO / "images/vm/build-kernel.py"
BUILD_DISK = REPO / "images/vm/build-disk.sh"


class Unavailable(Exception):
    """This machine cannot run the guest (no qemu, no kernel package): a reason to skip."""


# What the guest needs from other parts of the project, which land separately.
PREREQUISITES = {
    REPO / "images/install.sh": "the installer (images/install.sh)",
    REPO / "images/build-rootfs.sh": "the Debian rootfs builder (images/build-rootfs.sh)",
    REPO / "guestinit/boot": "guestinit's VM guest mode (guestinit/boot/)",
}


def unavailable_reason() -> str | None:
    """Why VMs cannot run here, or None when they can."""
    for path, what in PREREQUISITES.items():
        if not path.exists():
            return f"{what} is not in this checkout"
    if shutil.which(QEMU) is None:
        return f"{QEMU} is not installed (Debian package qemu-system-x86)"
    if shutil.which("ssh") is None:
        return "ssh (openssh-client) is not installed"
    if os.geteuid() != 0:
        return "building the guest's disk needs root (debootstrap, owners kept by mkfs.ext4 -d)"
    return None


def ssh_key() -> Path:
    """root's key for every test guest: made once, kept in the cache (the
    guests listen on 127.0.0.1 only and live for one test)."""
    key = CACHE / "vm-ssh-key" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        scratch = key.with_name(f"new-{os.getpid()}")
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "guestinit-vm-test"]
        subprocess.run([*keygen, "-f", str(scratch)], check=True)
        os.replace(f"{scratch}.pub", f"{key}.pub")
        os.replace(scratch, key)
    return key


def kernel_dir() -> Path:
    """vmlinux, initramfs, modules/ and version of Debian's current kernel."""
    done = subprocess.run(
        ["/usr/bin/python3", str(BUILD_KERNEL), "--cache", str(CACHE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise Unavailable(f"Debian's kernel could not be had: {done.stderr.strip()[-500:]}")
    return Path(done.stdout.strip())


def build_disk(kernel: Path, key: Path) -> Path:
    """The base root disk (raw ext4) with guestinit installed as /sbin/init."""
    done = subprocess.run(
        ["bash", str(BUILD_DISK), "--kernel", str(kernel), "--key", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GUESTINIT_TEST_CACHE": str(CACHE)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"build-disk.sh failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def boot_files() -> BootFiles:
    reason = unavailable_reason()
    if reason is not None:
        raise Unavailable(reason)
    key = ssh_key()
    kernel = kernel_dir()
    return BootFiles(
        vmlinux=kernel / "vmlinux",
        initramfs=kernel / "initramfs",
        disk=build_disk(kernel, key),
        ssh_key=key,
    )
