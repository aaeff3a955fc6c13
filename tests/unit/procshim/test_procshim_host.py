import os
from pathlib import Path

from procshim.host import HostFiles

from tests.unit.procshim.procshim_trees import write

MEMINFO = "/proc/meminfo"
ONLINE = "/sys/devices/system/cpu/online"


def test_only_files_that_exist_are_served(tmp_path: Path) -> None:
    write(tmp_path, {MEMINFO: "MemTotal: 1 kB\n", ONLINE: "0-1\n"})
    host = HostFiles([MEMINFO, "/proc/pressure/cpu", ONLINE], root=tmp_path)
    try:
        assert host.paths() == [MEMINFO, ONLINE]
        assert host.read("/proc/pressure/cpu") is None  # no PSI on this host
        assert host.read("/proc/never-asked-for") is None
    finally:
        host.close()


def test_every_read_sees_the_file_now(tmp_path: Path) -> None:
    write(tmp_path, {MEMINFO: "MemTotal: 1 kB\nMemFree: 1 kB\n"})
    host = HostFiles([MEMINFO], root=tmp_path)
    try:
        assert host.read(MEMINFO) == "MemTotal: 1 kB\nMemFree: 1 kB\n"
        # Rewritten in place, as procfs regenerates a file: shorter, then longer.
        (tmp_path / "proc/meminfo").write_text("X\n")
        assert host.read(MEMINFO) == "X\n"
        (tmp_path / "proc/meminfo").write_text("MemTotal: 2 kB\n" * 3)
        assert host.read(MEMINFO) == "MemTotal: 2 kB\n" * 3
    finally:
        host.close()


def test_the_descriptor_is_opened_once_and_outlives_the_path(tmp_path: Path) -> None:
    # What a bind mount over the real file does to a path, removal does here:
    # the descriptor opened before still reaches the file.
    write(tmp_path, {MEMINFO: "real\n"})
    host = HostFiles([MEMINFO], root=tmp_path)
    try:
        (tmp_path / "proc/meminfo").unlink()
        (tmp_path / "proc/meminfo").write_text("a different file at the same path\n")
        assert host.read(MEMINFO) == "real\n"
    finally:
        host.close()


def test_texts_longer_than_one_read_come_whole(tmp_path: Path) -> None:
    blocks = [f"processor\t: {n}\n" + "flags\t\t: " + "x" * 4000 + "\n\n" for n in range(40)]
    text = "".join(blocks)
    assert len(text) > 2 * (1 << 16)
    write(tmp_path, {"/proc/cpuinfo": text})
    host = HostFiles(["/proc/cpuinfo"], root=tmp_path)
    try:
        assert host.read("/proc/cpuinfo") == text
    finally:
        host.close()


def test_a_text_of_exactly_one_chunk_ends(tmp_path: Path) -> None:
    text = "y" * (1 << 16)
    write(tmp_path, {"/proc/stat": text})
    host = HostFiles(["/proc/stat"], root=tmp_path)
    try:
        assert host.read("/proc/stat") == text
    finally:
        host.close()


def test_bytes_that_are_not_utf8_survive_a_round_trip(tmp_path: Path) -> None:
    raw = b"name\t: caf\xe9 \xff\n"
    path = tmp_path / "proc/cpuinfo"
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    host = HostFiles(["/proc/cpuinfo"], root=tmp_path)
    try:
        text = host.read("/proc/cpuinfo")
        assert text is not None
        assert text.encode("utf-8", errors="surrogateescape") == raw
    finally:
        host.close()


def test_an_unreadable_descriptor_reads_as_missing(tmp_path: Path) -> None:
    # A directory opens O_RDONLY but pread fails (EISDIR): None, not an exception.
    (tmp_path / "proc/pressure").mkdir(parents=True)
    host = HostFiles(["/proc/pressure"], root=tmp_path)
    try:
        assert host.paths() == ["/proc/pressure"]
        assert host.read("/proc/pressure") is None
    finally:
        host.close()


def _descriptors_into(directory: Path) -> list[int]:
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the descriptor listdir itself used
        if target.startswith(str(directory)):
            fds.append(int(name))
    return fds


def test_close_releases_every_descriptor(tmp_path: Path) -> None:
    write(tmp_path, {MEMINFO: "a\n", ONLINE: "0\n"})
    host = HostFiles([MEMINFO, ONLINE], root=tmp_path)
    opened = _descriptors_into(tmp_path)
    assert len(opened) == 2
    for fd in opened:
        assert not os.get_inheritable(fd)  # services spawned later never get them
    host.close()
    assert _descriptors_into(tmp_path) == []
    assert host.paths() == []
    assert host.read(MEMINFO) is None
