"""Kernel-module dependencies and a newc cpio writer, without kmod or cpio on the host.

A module's dependencies are in its ELF section ``.modinfo`` (``depends=a,b``), so
no modules.dep (depmod) is needed to find what to load first. The cpio writer
lets an unprivileged build put a ``/dev/console`` node into the initramfs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from pathlib import Path


def modinfo(module: bytes) -> dict[str, list[str]]:
    """The key=value strings of a 64-bit little-endian ELF module's .modinfo."""
    if module[:4] != b"\x7fELF" or module[4] != 2 or module[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", module, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", module, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", module, shoff + index * shentsize
        )
        return name, offset, size

    _, names_offset, _ = section(shstrndx)
    for index in range(shnum):
        name, offset, size = section(index)
        end = module.index(b"\0", names_offset + name)
        if module[names_offset + name : end] == b".modinfo":
            info: dict[str, list[str]] = {}
            for entry in module[offset : offset + size].split(b"\0"):
                key, sep, value = entry.decode(errors="replace").partition("=")
                if sep:
                    info.setdefault(key, []).append(value)
            return info
    return {}


def module_index(tree: Path) -> dict[str, Path]:
    """Module name (dashes as underscores, as the kernel names them) -> file."""
    return {p.name[: -len(".ko")].replace("-", "_"): p for p in tree.rglob("*.ko")}


def dependencies(path: Path) -> list[str]:
    depends = modinfo(path.read_bytes()).get("depends", [""])[0]
    return [name.replace("-", "_") for name in depends.split(",") if name]


def load_order(tree: Path, wanted: Iterable[str]) -> list[Path]:
    """The files to load for WANTED, every dependency before its users."""
    return resolve(module_index(tree), wanted)


def resolve(index: Mapping[str, Path], wanted: Iterable[str]) -> list[Path]:
    order: list[Path] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        path = index.get(name)
        if path is None:
            raise KeyError(f"module {name} is not in the kernel package")
        if path in order or name in visiting:
            return
        visiting.add(name)
        for dependency in dependencies(path):
            visit(dependency)
        order.append(path)

    for name in wanted:
        visit(name.replace("-", "_"))
    return order


def cpio_newc(files: Mapping[str, tuple[bytes, int]], dirs: Iterable[str] = ()) -> bytes:
    """An uncompressed "newc" archive (the kernel's initramfs format) holding
    DIRS, a /dev/console character device (5:1) and FILES {path: (data, mode)}."""
    out = bytearray()
    inode = 1

    def entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        nonlocal inode
        encoded = name.encode() + b"\0"
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        out.extend(b"070701" + b"".join(b"%08X" % field for field in fields))
        out.extend(encoded)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))
        inode += 1

    parents = {str(Path(p).parent) for p in files} - {"."}
    for directory in sorted(
        {*dirs, "dev", *parents, *(str(p) for d in parents for p in Path(d).parents)} - {"."}
    ):
        entry(directory, 0o040755)
    entry("dev/console", 0o020600, rdev=(5, 1))
    for name, (data, mode) in sorted(files.items()):
        entry(name, 0o100000 | mode, data)
    entry("TRAILER!!!", 0)
    return bytes(out)
