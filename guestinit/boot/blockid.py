"""UUID= and LABEL= of fstab without udev: read the file system's own superblock.

A guest booted by guestinit has no udev, so no /dev/disk/by-uuid links. ext2/3/4
and XFS carry their UUID and label at fixed offsets; ``identify`` reads them
from the first bytes of a device (pure), ``find`` tries every block device
the kernel lists in /sys/class/block.
"""

import os
import uuid

EXT_SUPERBLOCK = 1024
EXT_MAGIC = b"\x53\xef"  # 0xEF53 little-endian, at superblock + 56
XFS_MAGIC = b"XFSB"
NEEDED = EXT_SUPERBLOCK + 136  # enough for both layouts


def identify(head: bytes) -> tuple[str, str] | None:
    """(uuid, label) of an ext2/3/4 or XFS file system from its first bytes."""
    if head[:4] == XFS_MAGIC and len(head) >= 120:
        return str(uuid.UUID(bytes=head[32:48])), _text(head[108:120])
    block = head[EXT_SUPERBLOCK:]
    if len(block) >= 136 and block[56:58] == EXT_MAGIC:
        return str(uuid.UUID(bytes=block[104:120])), _text(block[120:136])
    return None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode(errors="replace")


def find(spec: str, sys_block: str = "/sys/class/block", dev: str = "/dev") -> str | None:
    """The /dev node whose file system has UUID= or LABEL= ``spec``; None if none."""
    key, _, wanted = spec.partition("=")
    if key not in ("UUID", "LABEL"):
        return None
    try:
        names = sorted(os.listdir(sys_block))
    except OSError:
        return None
    for name in names:
        path = f"{dev}/{name}"
        try:
            with open(path, "rb") as device:
                found = identify(device.read(NEEDED))
        except OSError:
            continue
        if found is not None and found[0 if key == "UUID" else 1] == (
            wanted.lower() if key == "UUID" else wanted
        ):
            return path
    return None
