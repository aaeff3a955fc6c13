"""The unmount plan: newest mount first, / never (it is remounted read-only)."""

from guestinit.boot.shutdown import Unmount, unmount_plan

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec 0 0
sysfs /sys sysfs rw,nosuid,nodev,noexec 0 0
devtmpfs /dev devtmpfs rw,nosuid,mode=755 0 0
devpts /dev/pts devpts rw 0 0
tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0
/dev/vdb /srv ext4 rw 0 0
/dev/vdc /srv/data\\040x xfs rw 0 0
procshim /proc/meminfo fuse.procshim rw 0 0
"""


def test_innermost_first_and_root_left_alone() -> None:
    plan = unmount_plan(MOUNTS)
    assert [u.target for u in plan] == [
        "/proc/meminfo", "/srv/data x", "/srv", "/sys/fs/cgroup", "/run", "/dev/pts", "/dev",
        "/sys", "/proc",
    ]  # fmt: skip
    # Each mount point comes before every mount it sits inside.
    for index, inner in enumerate(plan):
        for outer in plan[index + 1 :]:
            assert not outer.target.startswith(inner.target + "/"), (inner, outer)


def test_virtual_file_systems_need_no_read_only_fallback() -> None:
    assert Unmount("/proc", "proc").virtual
    assert Unmount("/proc/meminfo", "fuse.procshim").virtual
    assert Unmount("/sys/fs/cgroup", "cgroup2").virtual
    assert not Unmount("/srv", "ext4").virtual


def test_a_point_mounted_twice_is_unmounted_top_first() -> None:
    plan = unmount_plan("/dev/vda / ext4 rw 0 0\nA /mnt ext4 rw 0 0\nB /mnt xfs rw 0 0\n")
    assert plan == [Unmount("/mnt", "xfs"), Unmount("/mnt", "ext4")]
