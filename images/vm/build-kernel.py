#!/usr/bin/python3
"""Builds what a test VM boots from Debian's own kernel package and prints the folder.

    images/vm/build-kernel.py [--cache DIR]

The folder (/var/cache/guestinit-test/kernel-<version>-<hash>/, reused while the
package and these scripts are unchanged) holds:

    vmlinux       the uncompressed ELF kernel: qemu -kernel boots it through its
                  PVH entry point, which skips the real-mode setup (the fastest boot
                  under TCG)
    initramfs     a cpio with a static init of ours (initramfs-init.c) and the
                  modules the root disk needs: Debian builds virtio_blk and ext4 as
                  modules
    modules/      lib/modules/<version> with the modules the booted guest loads
                  (network, FUSE, the ACPI power button, input events), to copy into
                  a root file system and depmod there
    version       the kernel release, e.g. 6.1.0-56-amd64

Needs apt (apt-get download), dpkg-deb and gcc with a static libc (libc6-dev).
Python's standard library only, so the host's /usr/bin/python3 runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kmod import cpio_newc, load_order  # noqa: E402

# Loaded by the initramfs, in dependency order, before root is mounted.
ROOT_MODULES = ("virtio_pci", "virtio_blk", "ext4", "crc32c_generic")
# Loaded by the guest's init from /etc/modules-load.d: virtio_net for the NIC,
# fuse for procshim, button + evdev so qemu's system_powerdown arrives as a key.
GUEST_MODULES = ("virtio_net", "fuse", "button", "evdev")
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def run(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def kernel_package() -> str:
    """The versioned image package linux-image-amd64 points at today."""
    try:
        depends = run("apt-cache", "depends", "linux-image-amd64")
    except subprocess.CalledProcessError:
        run("apt-get", "update", "-qq")
        depends = run("apt-cache", "depends", "linux-image-amd64")
    found = re.search(r"Depends:\s*(linux-image-\S+)", depends)
    if found is None:
        raise SystemExit(f"build-kernel: no kernel package in: {depends!r}")
    return found.group(1)


def download(package: str, downloads: Path) -> Path:
    downloads.mkdir(parents=True, exist_ok=True)
    have = sorted(downloads.glob(f"{package}_*.deb"))
    if not have:
        run("apt-get", "download", "-q", package, cwd=downloads)
        have = sorted(downloads.glob(f"{package}_*.deb"))
    if not have:
        raise SystemExit(f"build-kernel: apt-get download {package} gave no .deb")
    return have[-1]


def extract_vmlinux(vmlinuz: bytes) -> bytes:
    """The ELF kernel inside a bzImage: the first compressed stream that
    decompresses to an ELF file (the magic bytes also occur by chance)."""
    for magic in (XZ_MAGIC, ZSTD_MAGIC):
        start = vmlinuz.find(magic)
        while start != -1:
            payload = _decompress(magic, vmlinuz[start:])
            if payload is not None and payload.startswith(b"\x7fELF"):
                return payload
            start = vmlinuz.find(magic, start + 1)
    raise SystemExit("build-kernel: no xz or zstd compressed ELF kernel found in vmlinuz")


def _decompress(magic: bytes, data: bytes) -> bytes | None:
    try:
        if magic == XZ_MAGIC:
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
        done = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=False)
        return done.stdout or None
    except lzma.LZMAError:
        return None


def inputs_digest(deb: Path) -> str:
    digest = hashlib.sha256(deb.name.encode())
    for name in ("build-kernel.py", "kmod.py", "initramfs-init.c"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:12]


def build(deb: Path, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="kernel-", dir=target.parent) as scratch_name:
        scratch = Path(scratch_name)
        unpacked = scratch / "deb"
        run("dpkg-deb", "-x", str(deb), str(unpacked))
        (release,) = [p.name for p in (unpacked / "lib/modules").iterdir()]
        tree = unpacked / "lib/modules" / release
        out = scratch / "out"
        out.mkdir()
        (vmlinuz,) = (unpacked / "boot").glob("vmlinuz-*")
        (out / "vmlinux").write_bytes(extract_vmlinux(vmlinuz.read_bytes()))
        (out / "version").write_text(release + "\n")

        init = scratch / "init"
        source = HERE / "initramfs-init.c"
        run("gcc", "-static", "-Os", "-Wall", "-Werror", "-o", str(init), str(source))
        root_modules = load_order(tree, ROOT_MODULES)
        files = {"init": (init.read_bytes(), 0o755)}
        for module in root_modules:
            files[f"lib/modules/{module.name}"] = (module.read_bytes(), 0o644)
        listing = "".join(f"/lib/modules/{m.name}\n" for m in root_modules)
        files["modules.list"] = (listing.encode(), 0o644)
        (out / "initramfs").write_bytes(cpio_newc(files, dirs=("dev", "proc", "newroot")))

        # The guest's modprobe resolves its own dependencies (depmod in the rootfs);
        # copy every module the guest list needs, keeping the kernel's layout.
        for module in load_order(tree, GUEST_MODULES + ROOT_MODULES):
            dest = out / "modules" / release / module.relative_to(tree)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(module, dest)
        for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
            shutil.copy2(tree / name, out / "modules" / release / name)
        (out / "guest-modules").write_text("".join(f"{m}\n" for m in GUEST_MODULES))
        os.rename(out, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/var/cache/guestinit-test"))
    args = parser.parse_args()
    cache: Path = args.cache
    deb = download(kernel_package(), cache / "downloads")
    version = deb.name.split("_")[1]
    target = cache / f"kernel-{version}-{inputs_digest(deb)}"
    if not target.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            build(deb, target)
        except FileExistsError:
            pass  # built meanwhile by a concurrent caller: theirs is as good
        except OSError as error:
            if not target.is_dir():
                raise SystemExit(f"build-kernel: {error}") from error
    print(target)


if __name__ == "__main__":
    main()
