#!/bin/bash
# Builds a bootable root disk with guestinit as /sbin/init and prints its path.
#
#   images/vm/build-disk.sh --key PUBKEY [--kernel DIR] [--rootfs DIR] [--size SIZE]
#
# The disk is a raw ext4 image of the whole root file system (no partition
# table: the kernel mounts root=/dev/vda directly), cached as
# /var/cache/guestinit-test/vm-disk-<hash>/disk.raw and reused while its inputs
# are unchanged: the kernel folder, the Debian rootfs, guestinit's sources and
# installer, these scripts and the key. Boot it with the kernel folder's vmlinux
# and initramfs (images/vm/build-kernel.py), as tests/system/vm does.
#
#   --key PUBKEY   an ssh public key for root's authorized_keys (required)
#   --kernel DIR   from images/vm/build-kernel.py (default: run it)
#   --rootfs DIR   a Debian root file system (default: images/build-rootfs.sh vm ...)
#   --size SIZE    the image's size, sparse (default 1G)
#
# Root is needed: the rootfs keeps its owners, and depmod runs in a chroot.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${GUESTINIT_TEST_CACHE:-/var/cache/guestinit-test}"

# What the guest needs: Python for guestinit, sshd to log in, kmod for
# modules-load.d, libfuse2 for procshim, iproute2 and procps to look around.
ROOTFS_PACKAGES=(python3 openssh-server kmod libfuse2 iproute2 procps)

key="" kernel="" rootfs="" size="1G"
while [ $# -gt 0 ]; do
    case "$1" in
        --key) key="$2"; shift 2 ;;
        --kernel) kernel="$2"; shift 2 ;;
        --rootfs) rootfs="$2"; shift 2 ;;
        --size) size="$2"; shift 2 ;;
        *) echo "build-disk: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$key" ] && [ -f "$key" ] || { echo "build-disk: --key PUBKEY is required" >&2; exit 2; }
[ -n "$kernel" ] || kernel="$(/usr/bin/python3 "$here/build-kernel.py")"
[ -n "$rootfs" ] || rootfs="$("$repo/images/build-rootfs.sh" vm "${ROOTFS_PACKAGES[@]}")"
release="$(cat "$kernel/version")"

# The cache key: every input's content (sources by file hash, the rootfs and
# kernel by their own content-keyed folder names).
digest="$(
    {
        echo "$kernel" "$rootfs" "$size"
        cat "$key"
        cd "$repo"
        find guestinit fuse units pyproject.toml images/install.sh images/vm \
            -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z |
            xargs -0 sha256sum
    } | sha256sum | cut -c1-16
)"
target="$cache/vm-disk-$digest"
if [ -f "$target/disk.raw" ]; then
    echo "$target/disk.raw"
    exit 0
fi

mkdir -p "$cache"
scratch="$(mktemp -d "$cache/vm-disk-build.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
root="$scratch/root"
cp -a "$rootfs" "$root"

"$repo/images/install.sh" --root "$root" --sbin-init --units ssh >&2

# Kernel modules the guest loads itself (guestinit reads modules-load.d).
mkdir -p "$root/lib/modules"
cp -a "$kernel/modules/$release" "$root/lib/modules/"
chroot "$root" /sbin/depmod "$release"
mkdir -p "$root/etc/modules-load.d"
{
    echo "# Loaded by guestinit at boot (images/vm/build-disk.sh)."
    cat "$kernel/guest-modules"
} > "$root/etc/modules-load.d/guestinit.conf"

echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$root/etc/fstab"
# DHCP on the first NIC (qemu's user network answers); a test may boot with
# ip=... on the kernel command line instead, which wins.
mkdir -p "$root/etc/guestinit"
printf '%s\n' "# guestinit's network configuration (images/vm/build-disk.sh)" "[*]" "dhcp = yes" \
    > "$root/etc/guestinit/network"
echo "guestinit-vm" > "$root/etc/hostname"
install -d -m 700 "$root/root/.ssh"
install -m 600 "$key" "$root/root/.ssh/authorized_keys"
# An empty machine-id: the init makes one at first boot.
: > "$root/etc/machine-id"

mkdir "$scratch/out"
mkfs.ext4 -q -L guestroot -d "$root" -F "$scratch/out/disk.raw" "$size"
mv -T "$scratch/out" "$target" 2>/dev/null || [ -f "$target/disk.raw" ]
echo "$target/disk.raw"
