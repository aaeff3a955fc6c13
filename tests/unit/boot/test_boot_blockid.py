"""UUID and label from real superblocks: images made by mkfs.ext4 (and mkfs.xfs
where it is installed), read back without udev."""

import shutil
import subprocess
from pathlib import Path

import pytest

from guestinit.boot import blockid
from guestinit.boot.mounts import resolve_source

UUID = "0b7a2f52-9b0e-4d38-a6a4-8d7d0c3b9f11"


# Sparse, so the size costs nothing; xfsprogs 5.19 and later refuse file
# systems under 300 MiB.
IMAGE_BYTES = 320 * 1024 * 1024


def make(tmp_path: Path, tool: str, *args: str) -> Path:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    image = tmp_path / "fs.img"
    with open(image, "wb") as file:
        file.truncate(IMAGE_BYTES)
    command = [tool, *args, str(image)]
    made = subprocess.run(command, check=False, capture_output=True, text=True)
    assert made.returncode == 0, f"{tool} failed: {made.stderr}"
    return image


def head(image: Path) -> bytes:
    with open(image, "rb") as file:
        return file.read(blockid.NEEDED)


def test_ext4(tmp_path: Path) -> None:
    image = make(tmp_path, "mkfs.ext4", "-q", "-F", "-U", UUID, "-L", "guestdata")
    assert blockid.identify(head(image)) == (UUID, "guestdata")


def test_xfs(tmp_path: Path) -> None:
    image = make(tmp_path, "mkfs.xfs", "-q", "-f", "-m", f"uuid={UUID}", "-L", "xlabel")
    assert blockid.identify(head(image)) == (UUID, "xlabel")


def test_neither() -> None:
    assert blockid.identify(b"\0" * blockid.NEEDED) is None
    assert blockid.identify(b"") is None


def test_find_through_a_fake_sys_and_dev(tmp_path: Path) -> None:
    image = make(tmp_path, "mkfs.ext4", "-q", "-F", "-U", UUID, "-L", "guestdata")
    (tmp_path / "sys/class/block/vdb").mkdir(parents=True)
    (tmp_path / "sys/class/block/vda").mkdir(parents=True)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/vda").write_bytes(b"\0" * 4096)  # another file system
    image.rename(tmp_path / "dev/vdb")
    root = str(tmp_path)
    assert resolve_source(f"UUID={UUID.upper()}", root) == f"{root}/dev/vdb"
    assert resolve_source("LABEL=guestdata", root) == f"{root}/dev/vdb"
    assert resolve_source("LABEL=other", root) is None
    assert resolve_source("PARTUUID=1234", root) is None
