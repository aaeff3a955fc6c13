import errno
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from procshim.files import Files
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.ops import FuseError, ShimOperations, tree_of
from procshim.snapshot import Snapshots
from procshim.targets import Targets

from tests.unit.procshim.procshim_trees import tree, write

MEMINFO = "/proc/meminfo"
ONLINE = "/sys/devices/system/cpu/online"
HOST = {
    MEMINFO: "MemTotal:        8000000 kB\nMemFree:         4000000 kB\n",
    "/proc/uptime": "100.00 150.00\n",
    "/proc/pressure/cpu": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    ONLINE: "0-7\n",
}


class CountingSnapshots(Snapshots):
    """Real snapshots that remember each build and can be made to fail."""

    def __init__(self, host: HostFiles, targets: Targets) -> None:
        super().__init__(host, targets, LoadTracker())
        self.builds: list[tuple[str, int]] = []
        self.failure: Exception | None = None

    def bytes_for(self, path: str, caller_pid: int) -> bytes | None:
        self.builds.append((path, caller_pid))
        if self.failure is not None:
            raise self.failure
        return super().bytes_for(path, caller_pid)


class Shim:
    """Operations over host files in a temp tree, called like the binding does."""

    def __init__(self, root: Path, cgroups: Path) -> None:
        self.root = root
        self.host = HostFiles(list(HOST), root=root)
        self.snapshots = CountingSnapshots(self.host, Targets(Files(cgroups)))
        self.caller = 4242
        self.initialized = 0
        self.ops = ShimOperations(self.snapshots, lambda: self.caller, self._on_init)

    def _on_init(self) -> None:
        self.initialized += 1

    def rewrite(self, path: str, text: str) -> None:
        (self.root / path.lstrip("/")).write_text(text)

    def open(self, path: str, flags: int = os.O_RDONLY) -> SimpleNamespace:
        fi = SimpleNamespace(flags=flags, fh=0, direct_io=0)
        assert self.ops.open(path, fi) == 0
        return fi

    def read(self, fi: SimpleNamespace, size: int = 4096, offset: int = 0) -> bytes:
        return self.ops.read(None, size, offset, fi)


@pytest.fixture
def shim(tmp_path: Path) -> Iterator[Shim]:
    write(tmp_path / "host", HOST)
    made = Shim(tmp_path / "host", tmp_path / "no-cgroups")  # every caller sees the host
    yield made
    made.host.close()


def errno_of(error: pytest.ExceptionInfo[FuseError]) -> int | None:
    return error.value.errno


# -- the tree --------------------------------------------------------------------


def test_tree_of_lists_every_directory_above_the_files() -> None:
    assert tree_of(["/proc/meminfo", "/proc/pressure/cpu", "/sys/devices/system/cpu/online"]) == {
        "/": ["proc", "sys"],
        "/proc": ["meminfo", "pressure"],
        "/proc/pressure": ["cpu"],
        "/sys": ["devices"],
        "/sys/devices": ["system"],
        "/sys/devices/system": ["cpu"],
        "/sys/devices/system/cpu": ["online"],
    }
    assert tree_of([]) == {"/": []}


def test_getattr_of_files_and_directories(shim: Shim) -> None:
    proc_file = shim.ops.getattr(MEMINFO)
    assert stat.S_ISREG(proc_file["st_mode"])
    assert stat.S_IMODE(proc_file["st_mode"]) == 0o444
    # Not procfs's 0: sendfile (busybox cat) reads up to st_size, so a bound.
    assert proc_file["st_size"] >= len(shim.read(shim.open(MEMINFO), 1 << 20)) + 256
    assert shim.ops.getattr(ONLINE)["st_size"] == 4096  # like sysfs
    for directory in ("/", "/proc", "/proc/pressure", "/sys/devices/system/cpu"):
        attrs = shim.ops.getattr(directory)
        assert stat.S_ISDIR(attrs["st_mode"]), directory
        assert stat.S_IMODE(attrs["st_mode"]) == 0o555
    times = {proc_file["st_atime"], proc_file["st_mtime"], proc_file["st_ctime"]}
    assert len(times) == 1
    assert abs(times.pop() / 1e9 - time.time()) < 600  # nanoseconds


def test_unknown_paths_are_enoent(shim: Shim) -> None:
    # /proc/stat is a view, but this host has no such file: not served.
    for path in ("/proc/stat", "/proc/version", "/nope", "/proc/meminfo/x"):
        with pytest.raises(FuseError) as error:
            shim.ops.getattr(path)
        assert errno_of(error) == errno.ENOENT, path
        with pytest.raises(FuseError) as error:
            shim.ops.open(path, SimpleNamespace(flags=os.O_RDONLY, fh=0, direct_io=0))
        assert errno_of(error) == errno.ENOENT, path
    assert shim.snapshots.builds == []


def test_readdir(shim: Shim) -> None:
    assert shim.ops.readdir("/", None) == [".", "..", "proc", "sys"]
    assert shim.ops.readdir("/proc", None) == [".", "..", "meminfo", "pressure", "uptime"]
    assert shim.ops.readdir("/sys/devices/system/cpu", None) == [".", "..", "online"]
    with pytest.raises(FuseError) as error:
        shim.ops.readdir(MEMINFO, None)
    assert errno_of(error) == errno.ENOTDIR
    with pytest.raises(FuseError) as error:
        shim.ops.readdir("/dev", None)
    assert errno_of(error) == errno.ENOENT


def test_fuse_errors_carry_errno_and_message() -> None:
    error = FuseError(errno.EACCES)
    assert isinstance(error, OSError)
    assert error.errno == errno.EACCES
    assert error.strerror == os.strerror(errno.EACCES)


# -- open, read, release ---------------------------------------------------------


def test_open_builds_for_the_caller_with_direct_io(shim: Shim) -> None:
    shim.caller = 77
    first, second = shim.open(MEMINFO), shim.open(ONLINE)
    assert first.direct_io == 1 and second.direct_io == 1  # the kernel caches nothing
    assert first.fh != second.fh
    assert shim.snapshots.builds == [(MEMINFO, 77), (ONLINE, 77)]
    assert shim.ops.open_handles() == 2


def test_only_read_only_opens(shim: Shim) -> None:
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(FuseError) as error:
            shim.ops.open(MEMINFO, SimpleNamespace(flags=flags, fh=0, direct_io=0))
        assert errno_of(error) == errno.EACCES
    with pytest.raises(FuseError) as error:
        shim.ops.open("/proc", SimpleNamespace(flags=os.O_RDONLY, fh=0, direct_io=0))
    assert errno_of(error) == errno.EISDIR
    assert shim.ops.open_handles() == 0
    fi = shim.open(MEMINFO, os.O_RDONLY | os.O_NONBLOCK)
    with pytest.raises(FuseError) as error:
        shim.ops.write(MEMINFO, b"x", 0, fi)
    assert errno_of(error) == errno.EACCES
    with pytest.raises(FuseError) as error:
        shim.ops.truncate(MEMINFO, 0)
    assert errno_of(error) == errno.EACCES


def test_reads_in_chunks_see_one_text(shim: Shim) -> None:
    text = HOST[MEMINFO].encode()
    fi = shim.open(MEMINFO)
    first = shim.read(fi, size=10, offset=0)
    # The host file changes between two reads of one handle.
    shim.rewrite(MEMINFO, "MemTotal:        1 kB\n" * 4)
    rest = shim.read(fi, size=4096, offset=10)
    assert first + rest == text
    assert shim.read(fi, size=5, offset=len(text) - 3) == text[-3:]
    assert shim.read(fi, size=100, offset=len(text)) == b""  # end of file
    assert shim.read(fi, size=100, offset=len(text) + 50) == b""
    assert len(shim.snapshots.builds) == 1


def test_the_first_read_uses_the_snapshot_of_open(shim: Shim) -> None:
    fi = shim.open(MEMINFO)
    shim.rewrite(MEMINFO, "changed after open\n")
    assert shim.read(fi) == HOST[MEMINFO].encode()
    assert len(shim.snapshots.builds) == 1


def test_reading_from_the_start_again_rebuilds(shim: Shim) -> None:
    # free -s and top keep the descriptor, lseek to 0 and read again.
    fi = shim.open(MEMINFO)
    assert shim.read(fi) == HOST[MEMINFO].encode()
    shim.rewrite(MEMINFO, "MemTotal:        9 kB\n")
    assert shim.read(fi) == b"MemTotal:        9 kB\n"
    assert len(shim.snapshots.builds) == 2
    # ... and the rebuilt text is the one later chunks come from.
    shim.rewrite(MEMINFO, "something else entirely\n")
    assert shim.read(fi, size=100, offset=10) == b"       9 kB\n"
    assert len(shim.snapshots.builds) == 2


def test_each_handle_has_its_own_snapshot(shim: Shim) -> None:
    old = shim.open(MEMINFO)
    shim.rewrite(MEMINFO, "new\n")
    new = shim.open(MEMINFO)
    assert shim.read(new) == b"new\n"
    assert shim.read(old) == HOST[MEMINFO].encode()
    shim.ops.release(None, new)
    assert shim.read(old, size=3, offset=0) == b"new"  # rebuilt: a second read at 0


def test_release_frees_the_handle(shim: Shim) -> None:
    fi = shim.open(MEMINFO)
    kept = shim.open(ONLINE)
    assert shim.ops.release(MEMINFO, fi) == 0
    assert shim.ops.open_handles() == 1
    with pytest.raises(FuseError) as error:
        shim.read(fi)
    assert errno_of(error) == errno.EBADF
    assert shim.ops.release(MEMINFO, fi) == 0  # twice: harmless
    assert shim.read(kept) == b"0-7\n"


# -- failures --------------------------------------------------------------------


def test_a_failing_view_gives_the_host_file(shim: Shim) -> None:
    shim.snapshots.failure = RuntimeError("a renderer or reader bug")
    assert shim.read(shim.open(MEMINFO)) == HOST[MEMINFO].encode()


def test_a_failing_view_without_a_host_file_is_eio(shim: Shim) -> None:
    shim.snapshots.failure = FileNotFoundError("cgroup gone")
    shim.host.close()  # every host read now answers None
    with pytest.raises(FuseError) as error:
        shim.ops.open("/proc/uptime", SimpleNamespace(flags=os.O_RDONLY, fh=0, direct_io=0))
    assert errno_of(error) == errno.EIO
    assert shim.ops.open_handles() == 0


def test_a_host_file_gone_unreadable_is_eio_on_the_next_read(shim: Shim) -> None:
    fi = shim.open(MEMINFO)
    assert shim.read(fi)
    shim.host.close()  # every host read now answers None
    with pytest.raises(FuseError) as error:
        shim.read(fi)  # from offset 0 again: rebuilt, and nothing to build from
    assert errno_of(error) == errno.EIO


def test_views_apply_to_a_caller_with_a_cgroup(tmp_path: Path) -> None:
    write(tmp_path / "host", HOST)
    cgroups = tree("v2", tmp_path)
    write(cgroups, {"/proc/4242/cgroup": "0::/kubepods/pod1/ctr\n"})
    shim = Shim(tmp_path / "host", cgroups)
    try:
        assert shim.read(shim.open(ONLINE)) == b"0-1\n"  # the container's cpuset
        assert shim.read(shim.open(MEMINFO)).startswith(b"MemTotal:        1048576 kB\n")
        shim.caller = 0  # a caller we cannot see: the default pid, here no cgroup
        assert shim.read(shim.open(ONLINE)) == b"0-7\n"
    finally:
        shim.host.close()


# -- lifecycle -------------------------------------------------------------------


def test_init_reports_that_requests_are_served(shim: Shim) -> None:
    assert shim.initialized == 0
    shim.ops.init("/")
    assert shim.initialized == 1
    shim.ops.destroy("/")
    quiet = ShimOperations(shim.snapshots, lambda: 1)
    quiet.init("/")  # no callback: nothing to do
    assert quiet.statfs("/")["f_bsize"] == 4096
    assert ShimOperations.use_ns
