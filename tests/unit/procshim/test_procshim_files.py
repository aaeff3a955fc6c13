"""Files and KeptFiles on a temp tree: absence is None, kept descriptors read fresh."""

import os
from pathlib import Path

from procshim.files import Files, KeptFiles


def tree(tmp_path: Path) -> Path:
    group = tmp_path / "sys/fs/cgroup/memory/box"
    group.mkdir(parents=True)
    (group / "memory.usage_in_bytes").write_text("100\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemTotal: 1 kB\n")
    return tmp_path


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_files_reads_below_root_and_missing_is_none(tmp_path: Path) -> None:
    files = Files(tree(tmp_path))
    assert files.read("/proc/meminfo") == "MemTotal: 1 kB\n"
    assert files.read("/proc/nothing") is None
    assert files.subdirs("/sys/fs/cgroup/memory") == ["box"]
    assert files.subdirs("/nowhere") == []


def test_kept_file_rereads_fresh_text_through_one_descriptor(tmp_path: Path) -> None:
    files = KeptFiles(tree(tmp_path))
    usage = tmp_path / "sys/fs/cgroup/memory/box/memory.usage_in_bytes"
    assert files.read("/sys/fs/cgroup/memory/box/memory.usage_in_bytes") == "100\n"
    before = open_fds()
    with usage.open("r+") as file:  # the same inode, as cgroupfs rewrites its text
        file.write("2048\n")
    assert files.read("/sys/fs/cgroup/memory/box/memory.usage_in_bytes") == "2048\n"
    assert open_fds() == before  # reread, not reopened
    files.close()


def test_kept_files_outside_the_cgroup_tree_are_not_kept(tmp_path: Path) -> None:
    files = KeptFiles(tree(tmp_path))
    before = open_fds()
    assert files.read("/proc/meminfo") == "MemTotal: 1 kB\n"
    assert open_fds() == before


def test_kept_files_are_bounded_least_recent_first(tmp_path: Path) -> None:
    root = tree(tmp_path)
    group = root / "sys/fs/cgroup/memory/box"
    names = [f"file{i}" for i in range(5)]
    for name in names:
        (group / name).write_text(name)
    files = KeptFiles(root, limit=2)
    before = open_fds()
    for name in names:
        assert files.read(f"/sys/fs/cgroup/memory/box/{name}") == name
    assert open_fds() == before + 2
    files.close()
    assert open_fds() == before


def test_a_missing_cgroup_file_is_none_and_not_kept(tmp_path: Path) -> None:
    files = KeptFiles(tree(tmp_path))
    before = open_fds()
    assert files.read("/sys/fs/cgroup/memory/gone/memory.stat") is None
    assert open_fds() == before


def test_long_files_come_back_whole(tmp_path: Path) -> None:
    root = tree(tmp_path)
    text = "x" * (3 * 65536 + 17)
    (root / "sys/fs/cgroup/memory/box/memory.stat").write_text(text)
    assert KeptFiles(root).read("/sys/fs/cgroup/memory/box/memory.stat") == text
