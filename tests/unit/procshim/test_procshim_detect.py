from pathlib import Path, PurePosixPath

from procshim.cgroup import CgroupVersion, NoCgroup, detect
from procshim.cgroup.hybrid import HybridReader
from procshim.cgroup.v1 import V1Reader
from procshim.cgroup.v2 import V2Reader

from tests.unit.procshim.procshim_trees import CGROUP, tree, write

CG2_MOUNT = "30 25 0:26 {root} /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"


def test_hybrid_host_as_captured() -> None:
    reader = detect(CGROUP / "v1-hybrid")
    assert reader.version is CgroupVersion.HYBRID
    assert isinstance(reader, HybridReader)
    assert reader.v1.locations["memory"].directory == PurePosixPath(
        "/sys/fs/cgroup/memory/procshim-fixture/inner"
    )
    assert set(reader.v1.locations) == {"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"}
    assert reader.v2.where.directory == PurePosixPath("/sys/fs/cgroup/unified")


def test_v1_without_a_unified_mount(tmp_path: Path) -> None:
    source = CGROUP / "v1-hybrid/proc/self"
    cgroup = "".join(
        line + "\n" for line in (source / "cgroup").read_text().splitlines() if line[:2] != "0:"
    )
    mountinfo = "".join(
        line + "\n"
        for line in (source / "mountinfo").read_text().splitlines()
        if "cgroup2" not in line
    )
    reader = detect(tree("v1-hybrid", tmp_path, cgroup=cgroup, mountinfo=mountinfo))
    assert reader.version is CgroupVersion.V1
    assert isinstance(reader, V1Reader)


def test_v1_co_mounted_cpu_and_cpuacct(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "/proc/self/cgroup": "3:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc\n",
            "/proc/self/mountinfo": (
                "40 31 0:37 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro"
                " - cgroup cgroup rw,cpu,cpuacct\n"
                "41 31 0:38 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
            ),
        },
    )
    reader = detect(root)
    assert isinstance(reader, V1Reader)
    assert reader.locations["cpu"] == reader.locations["cpuacct"]
    # The runtime bind-mounted the container's own cgroup: its directory is the mount point.
    assert reader.locations["memory"].directory == PurePosixPath("/sys/fs/cgroup/memory")


def test_v2_nested_without_namespace() -> None:
    reader = detect(CGROUP / "v2")
    assert reader.version is CgroupVersion.V2
    assert isinstance(reader, V2Reader)
    assert [str(d) for d in reader.where.lineage()] == [
        "/sys/fs/cgroup/kubepods/pod1/ctr",
        "/sys/fs/cgroup/kubepods/pod1",
        "/sys/fs/cgroup/kubepods",
        "/sys/fs/cgroup",
    ]


def test_v2_inside_a_cgroup_namespace() -> None:
    reader = detect(CGROUP / "v2-cgroupns")
    assert isinstance(reader, V2Reader)
    assert reader.where.directory == PurePosixPath("/sys/fs/cgroup")
    assert reader.where.lineage() == [PurePosixPath("/sys/fs/cgroup")]


def test_v2_bind_mount_whose_root_is_our_cgroup(tmp_path: Path) -> None:
    # No cgroup namespace: /proc/self/cgroup shows the host path, and so does
    # mountinfo's root for the runtime's bind mount of that very cgroup.
    path = "/system.slice/docker-abc.scope"
    root = tree(
        "v2-cgroupns",
        tmp_path,
        cgroup=f"0::{path}\n",
        mountinfo=CG2_MOUNT.format(root=path),
    )
    reader = detect(root)
    assert isinstance(reader, V2Reader)
    assert reader.where.directory == PurePosixPath("/sys/fs/cgroup")
    assert reader.memory().limit == 512 << 20


def test_v2_cgroup_below_the_namespace_mount(tmp_path: Path) -> None:
    # Moved into a child after the namespace was made: "0::/unit" under a "/" mount.
    root = tree("v2-cgroupns", tmp_path, cgroup="0::/guestinit-1-abc/sshd.service\n")
    reader = detect(root)
    assert isinstance(reader, V2Reader)
    assert reader.where.directory == PurePosixPath("/sys/fs/cgroup/guestinit-1-abc/sshd.service")
    # Limits come from the ancestors visible through the mount.
    assert reader.memory().limit == 512 << 20


def test_unreachable_cgroups_read_as_nothing(tmp_path: Path) -> None:
    # "/.." is a mount of a cgroup above our namespace; "/ctr" one below our cgroup.
    for mount_root in ("/..", "/ctr"):
        root = tree(
            "v2-cgroupns",
            tmp_path / mount_root.strip("/."),
            cgroup="0::/\n",
            mountinfo=CG2_MOUNT.format(root=mount_root),
        )
        reader = detect(root)
        assert isinstance(reader, NoCgroup)
        assert reader.memory().limit is None


def test_no_proc_at_all(tmp_path: Path) -> None:
    reader = detect(tmp_path)
    assert reader.version is CgroupVersion.NONE
    assert reader.cpu().cpuset is None


def test_pid_argument_reads_that_process(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "/proc/1/cgroup": "0::/\n",
            "/proc/1/mountinfo": CG2_MOUNT.format(root="/"),
            "/sys/fs/cgroup/memory.max": "1048576\n",
        },
    )
    assert detect(root, pid=1).memory().limit == 1048576
    assert detect(root).version is CgroupVersion.NONE
