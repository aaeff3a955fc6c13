from procshim.mounttable import stale_mounts

MOUNTINFO = """\
22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
30 22 0:25 / /proc rw - proc proc rw
40 22 0:30 / /run rw - tmpfs tmpfs rw
51 40 0:52 / /run/guestinit/procshim rw,nosuid - fuse.procshim procshim rw
52 30 0:52 /proc/meminfo /proc/meminfo rw,nosuid - fuse.procshim procshim rw
53 30 0:52 /proc/cpuinfo /proc/cpuinfo rw,nosuid - fuse.procshim procshim rw
54 22 0:52 /sys/devices/system/cpu/online /sys/devices/system/cpu/online rw - fuse.x x rw
60 22 0:53 / /mnt/other\\040fuse rw - fuse.other other rw
"""


def test_binds_found_by_the_device_of_the_mount_newest_first_mount_last() -> None:
    points, device = stale_mounts(MOUNTINFO, "/run/guestinit/procshim")
    assert device == "0:52"
    assert points == [
        "/sys/devices/system/cpu/online",
        "/proc/cpuinfo",
        "/proc/meminfo",
        "/run/guestinit/procshim",
    ]


def test_nothing_when_the_shim_is_not_mounted() -> None:
    assert stale_mounts(MOUNTINFO, "/run/elsewhere") == ([], None)
    assert stale_mounts("", "/run/guestinit/procshim") == ([], None)


def test_escaped_mount_points_are_unescaped() -> None:
    points, device = stale_mounts(MOUNTINFO, "/mnt/other fuse")
    assert (points, device) == (["/mnt/other fuse"], "0:53")


def test_a_remount_on_the_same_point_uses_the_newest_device() -> None:
    text = MOUNTINFO + "70 40 0:60 / /run/guestinit/procshim rw - fuse.procshim procshim rw\n"
    text += "71 30 0:60 /proc/meminfo /proc/meminfo rw - fuse.procshim procshim rw\n"
    points, device = stale_mounts(text, "/run/guestinit/procshim")
    assert device == "0:60"
    assert points == ["/proc/meminfo", "/run/guestinit/procshim"]
