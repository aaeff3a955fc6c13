import os
from pathlib import Path, PurePosixPath

import pytest
from procshim.cgroup import CgroupVersion
from procshim.files import Files
from procshim.targets import CALLER, INIT, Bounded, Targets

from tests.unit.procshim.procshim_trees import CGROUP, write

GiB = 1 << 30
OWN_NS = "pid:[4026531836]"
CTR_NS = "pid:[4026532100]"
OTHER_NS = "pid:[4026532200]"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingFiles(Files):
    """Files below a temp root that count what was read, to see caching work."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []
        self.scans = 0

    def read(self, path: PurePosixPath | str) -> str | None:
        self.reads.append(str(path))
        return super().read(path)

    def subdirs(self, path: PurePosixPath | str) -> list[str]:
        if str(path) == "/proc":
            self.scans += 1
        return super().subdirs(path)


def host_tree(root: Path) -> Path:
    """A cgroup2 host: cgroups a (1G) and b (2G), our own process in the root cgroup."""
    write(
        root,
        {
            "/proc/self/mountinfo": (CGROUP / "v2/proc/self/mountinfo").read_text(),
            "/sys/fs/cgroup/a/memory.max": f"{GiB}\n",
            "/sys/fs/cgroup/b/memory.max": f"{2 * GiB}\n",
            "/sys/fs/cgroup/c/memory.max": f"{3 * GiB}\n",
        },
    )
    (root / "proc/self/ns").mkdir()
    os.symlink(OWN_NS, root / "proc/self/ns/pid")
    return root


def process(
    root: Path,
    pid: int,
    cgroup: str,
    namespace: str = OWN_NS,
    ppid: int = 0,
    nspid: tuple[int, ...] | None = None,
    start_ticks: int = 5000,
) -> None:
    """/proc/PID/{cgroup,status,stat,ns/pid} of one process."""
    ids = "\t".join(map(str, nspid or (pid,)))
    write(
        root,
        {
            f"/proc/{pid}/cgroup": f"0::{cgroup}\n",
            f"/proc/{pid}/status": f"Name:\tsh\nPPid:\t{ppid}\nNSpid:\t{ids}\n",
            f"/proc/{pid}/stat": f"{pid} (sh) S {ppid} {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 "
            f"20 0 1 0 {start_ticks} 10485760 512 18446744073709551615\n",
        },
    )
    (root / f"proc/{pid}/ns").mkdir()
    os.symlink(namespace, root / f"proc/{pid}/ns/pid")


def limit_of(targets: Targets, pid: int) -> int | None:
    return targets.for_caller(pid).reader.memory().limit


# -- Bounded ---------------------------------------------------------------------


def test_bounded_drops_the_least_recently_used() -> None:
    cache: Bounded[str, int] = Bounded(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    cache.put("a", 10)  # replacing refreshes too
    cache.put("d", 4)
    assert cache.get("c") is None
    assert cache.get("a") == 10
    cache.drop("a")
    cache.drop("never there")
    assert cache.get("a") is None
    assert len(cache) == 1


# -- the caller's own cgroup ---------------------------------------------------


def test_unknown_view_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="caller, init"):
        Targets(Files(tmp_path), view="host")


def test_caller_view_reads_the_callers_cgroup(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 1, "/")
    process(root, 200, "/a")
    process(root, 300, "/b")
    targets = Targets(Files(root), view=CALLER)
    target = targets.for_caller(200)
    assert target.key == "0::/a\n"
    assert target.caller == 200
    assert target.reader.version == CgroupVersion.V2
    assert target.reader.memory().limit == GiB
    assert limit_of(targets, 300) == 2 * GiB


def test_invisible_or_gone_callers_get_the_default_pids_cgroup(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 7, "/b")
    targets = Targets(Files(root), default_pid=7)
    invisible = targets.for_caller(0)  # FUSE says 0 for a pid outside our namespace
    assert (invisible.key, invisible.caller) == ("0::/b\n", 7)
    gone = targets.for_caller(4242)  # exited between its open and our lookup
    assert (gone.key, gone.caller) == ("0::/b\n", 7)
    assert gone.reader.memory().limit == 2 * GiB


def test_no_cgroup_at_all_reads_as_unknown(tmp_path: Path) -> None:
    targets = Targets(Files(host_tree(tmp_path)))
    target = targets.for_caller(4242)
    assert target.key == ""
    assert target.reader.version == CgroupVersion.NONE
    assert target.reader.memory().limit is None


def test_one_reader_per_cgroup_text_bounded(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    for pid, cgroup in ((200, "/a"), (201, "/a"), (300, "/b"), (400, "/c")):
        process(root, pid, cgroup)
    targets = Targets(Files(root), capacity=2)
    first = targets.for_caller(200).reader
    assert targets.for_caller(201).reader is first  # same cgroup, same reader
    old_b = targets.for_caller(300).reader
    assert targets.for_caller(200).reader is first  # a used again: b is the oldest
    targets.for_caller(400)  # evicts b
    b = targets.for_caller(300).reader  # made anew; evicts a
    assert b is not old_b
    assert b.memory().limit == 2 * GiB
    assert targets.for_caller(200).reader is not first


def test_a_process_that_moved_gets_its_new_cgroup(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 200, "/a")
    targets = Targets(Files(root))
    assert limit_of(targets, 200) == GiB
    (root / "proc/200/cgroup").write_text("0::/b\n")
    assert limit_of(targets, 200) == 2 * GiB


def test_the_mount_table_is_reread_for_new_cgroups_at_most_every_5_s(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 200, "/a")
    process(root, 300, "/b")
    files = CountingFiles(root)
    clock = FakeClock()
    targets = Targets(files, clock=clock)
    targets.for_caller(200)
    clock.now += 4.0
    targets.for_caller(300)
    assert files.reads.count("/proc/self/mountinfo") == 1
    clock.now += 1.0
    process(root, 401, "/c")
    targets.for_caller(401)
    assert files.reads.count("/proc/self/mountinfo") == 2


# -- the init of the caller's PID namespace ------------------------------------


def container(root: Path) -> None:
    """A container: init 500 (pid 1 inside) in /a, a shell 510 below it in /a/sh."""
    process(root, 1, "/")
    process(root, 500, "/a", CTR_NS, ppid=1, nspid=(500, 1), start_ticks=7700)
    process(root, 505, "/a", CTR_NS, ppid=500, nspid=(505, 6))
    process(root, 510, "/b", CTR_NS, ppid=505, nspid=(510, 7))


def test_init_view_reads_the_namespace_inits_cgroup(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    container(root)
    targets = Targets(Files(root), view=INIT)
    target = targets.for_caller(510)
    assert target.key == "0::/a\n"  # the container's, not the shell's /b
    assert target.caller == 510
    assert targets.init_of(510) == 500
    assert targets.started_ticks(target) == 7700
    # The caller view of the same process is its own cgroup.
    assert limit_of(Targets(Files(root), view=CALLER), 510) == 2 * GiB


def test_init_view_in_our_own_namespace_is_the_default_pid(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 1, "/c")
    process(root, 200, "/a", OWN_NS, ppid=1)
    targets = Targets(Files(root), view=INIT)
    assert targets.init_of(200) == 1
    assert limit_of(targets, 200) == 3 * GiB
    assert targets.init_of(4242) == 1  # gone: no namespace to look at


def test_a_process_that_entered_with_setns_is_found_by_the_scan(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    container(root)
    # podman exec: its parent (the runtime, 90) is in our namespace, not the container's.
    process(root, 90, "/", OWN_NS, ppid=1)
    process(root, 520, "/b", CTR_NS, ppid=90, nspid=(520, 9))
    files = CountingFiles(root)
    targets = Targets(files, view=INIT)
    assert targets.init_of(520) == 500
    assert files.scans == 1


def test_the_init_is_cached_per_namespace(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    container(root)
    files = CountingFiles(root)
    targets = Targets(files, view=INIT)
    assert targets.init_of(510) == 500
    walked = [p for p in files.reads if p.endswith("/status")]
    assert walked == ["/proc/510/status", "/proc/505/status", "/proc/500/status"]
    files.reads.clear()
    assert targets.init_of(505) == 500
    assert targets.init_of(510) == 500
    assert [p for p in files.reads if p.endswith("/status")] == []


def test_a_cached_init_whose_pid_was_reused_is_looked_up_again(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    container(root)
    targets = Targets(Files(root), view=INIT)
    assert targets.init_of(510) == 500
    # The container's init exits; the pid is reused in another namespace, and
    # the container has a new init (600).
    (root / "proc/500/ns/pid").unlink()
    os.symlink(OTHER_NS, root / "proc/500/ns/pid")
    process(root, 600, "/c", CTR_NS, ppid=1, nspid=(600, 1))
    (root / "proc/510/status").write_text("PPid:\t600\nNSpid:\t510\t7\n")
    assert targets.init_of(510) == 600
    assert limit_of(targets, 510) == 3 * GiB


def test_no_visible_init_is_remembered_with_the_caller_standing_in(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 1, "/")
    # The init is outside our /proc: the walk ends at a parent we cannot see.
    process(root, 700, "/b", OTHER_NS, ppid=650, nspid=(700, 12))
    process(root, 701, "/b", OTHER_NS, ppid=650, nspid=(701, 13))
    files = CountingFiles(root)
    targets = Targets(files, view=INIT)
    assert targets.init_of(700) == 700
    assert files.scans == 1
    # Negative result cached: other callers of that namespace scan no more.
    assert targets.init_of(701) == 700
    assert targets.init_of(700) == 700
    assert files.scans == 1
    assert limit_of(targets, 701) == 2 * GiB
    # The stand-in exits: the next caller looks again.
    (root / "proc/700/ns/pid").unlink()
    assert targets.init_of(701) == 701
    assert files.scans == 2


def test_the_walk_up_is_bounded(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    process(root, 1, "/")
    # A parent loop (a pid reused while we walk): the walk gives up, the scan
    # finds nothing, and the caller stands in.
    process(root, 800, "/a", OTHER_NS, ppid=801, nspid=(800, 3))
    process(root, 801, "/a", OTHER_NS, ppid=800, nspid=(801, 4))
    targets = Targets(Files(root), view=INIT)
    assert targets.init_of(800) == 800
