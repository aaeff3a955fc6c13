import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from procshim.files import Files
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.paths import PATHS
from procshim.snapshot import Snapshots
from procshim.static import make_tree, open_host_files, render_with, write_all
from procshim.targets import Targets
from procshim.views import VIEWS

from tests.unit.procshim.procshim_trees import tree, write
from tests.unit.procshim.test_procshim_snapshot import HOST_UPTIME, host_texts


@pytest.fixture
def snapshots(tmp_path: Path) -> Iterator[Snapshots]:
    """The v2 fixture's container (1 GiB, 1.5 CPUs of 8) over descriptors of the host's files."""
    cgroups = tree("v2", tmp_path)
    write(cgroups, {"/proc/1/cgroup": "0::/kubepods/pod1/ctr\n"})
    write(tmp_path / "host", host_texts())
    fds = {p: os.open(tmp_path / "host" / p.lstrip("/"), os.O_RDONLY) for p in host_texts()}
    host = HostFiles.from_fds(fds)
    yield Snapshots(host, Targets(Files(cgroups)), LoadTracker(), uptime_clock=lambda: HOST_UPTIME)
    host.close()
    for fd in fds.values():
        os.close(fd)  # still open: from_fds leaves them to their owner


def test_paths_are_every_view() -> None:
    assert set(PATHS) == set(VIEWS)


def test_every_file_is_rendered_the_cgroup_s_way(snapshots: Snapshots) -> None:
    rendered = render_with(snapshots, 1)
    assert set(rendered) == set(PATHS)
    first_line = rendered["/proc/meminfo"].splitlines()[0]
    assert first_line.split() == [b"MemTotal:", b"1048576", b"kB"]  # the fixture's 1 GiB limit
    assert rendered["/proc/meminfo"] == snapshots.bytes_for("/proc/meminfo", 1)
    assert rendered["/sys/devices/system/cpu/online"] != b"0-7\n"


def test_write_all_rewrites_in_place(tmp_path: Path) -> None:
    directory = str(tmp_path)
    make_tree(directory, ["/proc/meminfo", "/sys/devices/system/cpu/online"])
    write_all(directory, {"/proc/meminfo": b"MemTotal: 1024 kB\nMemFree: 512 kB\n"})
    inode = os.stat(tmp_path / "proc/meminfo").st_ino
    # A bind mount holds the inode: a shorter text goes into the same file, cut.
    write_all(directory, {"/proc/meminfo": b"MemTotal: 1024 kB\n"})
    assert os.stat(tmp_path / "proc/meminfo").st_ino == inode
    assert (tmp_path / "proc/meminfo").read_bytes() == b"MemTotal: 1024 kB\n"
    assert os.stat(tmp_path / "proc/meminfo").st_mode & 0o777 == 0o444


def test_open_host_files_leaves_out_what_is_missing() -> None:
    fds = open_host_files(("/proc/meminfo", "/proc/no-such-file"))
    try:
        assert list(fds) == ["/proc/meminfo"]
        assert os.get_inheritable(fds["/proc/meminfo"]) is False
    finally:
        for fd in fds.values():
            os.close(fd)
